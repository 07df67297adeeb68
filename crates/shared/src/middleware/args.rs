//! The category's flags, shared by every Rust server of it (flatten
//! [`MiddlewareArgs`] into a clap parser).

use super::{Config, DEFAULT_JWT_SECRET, DEFAULT_RATE_LIMIT, DEFAULT_REQUEST_TIMEOUT_MS};
use std::path::PathBuf;
use std::time::Duration;

/// The stacks' settings.
#[derive(Debug, Clone, clap::Args)]
pub struct MiddlewareArgs {
    /// Key of the HS256 bearer tokens.
    #[arg(long, env = "BENCH_JWT_SECRET", default_value = DEFAULT_JWT_SECRET)]
    pub jwt_secret: String,
    /// Requests per second per token subject (a token bucket holding one
    /// second's worth).
    #[arg(long, env = "BENCH_RATE_LIMIT", default_value_t = DEFAULT_RATE_LIMIT,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit: u32,
    /// How long a heavy-stack handler may take before the answer is 504.
    #[arg(long, env = "BENCH_REQUEST_TIMEOUT_MS", default_value_t = DEFAULT_REQUEST_TIMEOUT_MS,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_ms: u64,
    /// File the access log's JSON lines are appended to [default: a file in
    /// a fresh temporary directory, removed when the server stops].
    #[arg(long, env = "BENCH_ACCESS_LOG")]
    pub access_log: Option<PathBuf>,
}

/// The settings, and the temporary directory holding the access log when
/// none was given (removed when dropped).
pub struct Resolved {
    /// The settings.
    pub config: Config,
    /// Keeps a default access log's directory alive.
    pub temp_dir: Option<tempfile::TempDir>,
}

impl MiddlewareArgs {
    /// The settings, making the access log's directory when none was given.
    pub fn resolve(&self) -> std::io::Result<Resolved> {
        let (access_log, temp_dir) = match &self.access_log {
            Some(path) => (path.clone(), None),
            None => {
                let dir = tempfile::Builder::new().prefix("middleware-").tempdir()?;
                let path = dir
                    .path()
                    .join(format!("middleware-access-{}.log", std::process::id()));
                (path, Some(dir))
            }
        };
        Ok(Resolved {
            config: Config {
                jwt_secret: self.jwt_secret.clone(),
                rate_limit: self.rate_limit,
                request_timeout: Duration::from_millis(self.request_timeout_ms),
                access_log,
            },
            temp_dir,
        })
    }
}
