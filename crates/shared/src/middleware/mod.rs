//! The `middleware` category: what its layers decide, without HTTP types,
//! so every Rust server (the reference over server-kit, axum over tower,
//! actix-web) runs the same rules in its own middleware:
//!
//! - [`request_id`]: keep a client's `X-Request-ID` or make a UUID v4;
//! - [`auth`]: bearer HS256 JWTs ([`jsonwebtoken`]);
//! - [`limit`]: a token bucket per subject;
//! - [`access_log`]: one JSON line per request, one write each;
//! - [`Counters`]: how often each layer acted (`/middleware-stats`);
//! - [`params`] and [`answers`]: the handlers' rules and bodies.
//!
//! `shared-endpoints/middleware.md` describes the stacks layer by layer.

pub mod access_log;
pub mod answers;
mod args;
pub mod auth;
mod counters;
pub mod limit;
pub mod params;
pub mod request_id;

pub use args::{MiddlewareArgs, Resolved};
pub use counters::{bump, Counters, Stats};

use crate::api::Error;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The category's name, as its `/health` says.
pub const CATEGORY: &str = "middleware";
/// The key tokens are signed with unless told otherwise.
pub const DEFAULT_JWT_SECRET: &str = "feature-bench-secret";
/// Requests per second per subject unless told otherwise: more than any
/// load test sends, so only a flow with a small value meets the limit.
pub const DEFAULT_RATE_LIMIT: u32 = 1_000_000;
/// The request timeout unless told otherwise, in milliseconds.
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 1000;
/// The only origin CORS allows.
pub const ALLOWED_ORIGIN: &str = "http://allowed.example";
/// Methods CORS allows.
pub const ALLOWED_METHODS: &str = "GET, POST";
/// Request headers CORS allows.
pub const ALLOWED_HEADERS: &str = "authorization, content-type, x-request-id";
/// How long a browser may keep a preflight's answer, in seconds.
pub const CORS_MAX_AGE: u32 = 600;
/// Largest accepted request body (the contract's limit); larger gets 413.
pub const MAX_BODY_BYTES: usize = 4096;
/// Bodies at least this long are compressed when the client accepts gzip.
pub const GZIP_MIN_BYTES: usize = 1024;
/// The security headers of the heavy stack.
pub const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("content-security-policy", "default-src 'none'"),
];

/// What a server's stacks are configured with.
#[derive(Debug, Clone)]
pub struct Config {
    /// The HS256 key.
    pub jwt_secret: String,
    /// Tokens per second per subject.
    pub rate_limit: u32,
    /// How long a heavy-stack handler may take.
    pub request_timeout: Duration,
    /// The access log's file.
    pub access_log: PathBuf,
}

/// What a server's layers share: the settings, the counters, the token
/// verifier, the buckets and the open access log.
#[derive(Debug)]
pub struct Stacks {
    /// When the server started.
    pub started: Instant,
    /// The settings.
    pub config: Config,
    /// What each layer did.
    pub counters: Counters,
    /// Checks bearer tokens.
    pub verifier: auth::Verifier,
    /// A token bucket per subject.
    pub buckets: limit::TokenBuckets,
    /// The access log.
    pub log: access_log::AccessLog,
}

/// Why the stacks cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The access log cannot be opened.
    #[error("cannot open the access log {0}: {1}")]
    AccessLog(PathBuf, std::io::Error),
    /// The JWT key is refused.
    #[error(transparent)]
    Key(#[from] auth::KeyError),
}

impl Stacks {
    /// The stacks' state for `config`: opens the access log.
    pub fn open(config: Config) -> Result<Self, OpenError> {
        let log = access_log::AccessLog::open(&config.access_log)
            .map_err(|e| OpenError::AccessLog(config.access_log.clone(), e))?;
        Ok(Self {
            started: Instant::now(),
            verifier: auth::Verifier::new(&config.jwt_secret)?,
            buckets: limit::TokenBuckets::new(config.rate_limit),
            counters: Counters::default(),
            log,
            config,
        })
    }

    /// The request's id from its `X-Request-ID` (kept when valid, else a
    /// new one), counted as echoed or generated.
    pub fn request_id(&self, given: Option<&str>) -> String {
        let (id, kept) = request_id::resolve(given);
        bump(if kept {
            &self.counters.ids_echoed
        } else {
            &self.counters.ids_generated
        });
        id
    }

    /// The claims of the request whose `Authorization` header is
    /// `authorization`, or the 401 with its challenge; counted either way.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<auth::Claims, Error> {
        match self.verifier.verify(authorization) {
            Ok(claims) => {
                bump(&self.counters.auth_ok);
                Ok(claims)
            }
            Err(e) => {
                bump(&self.counters.auth_rejected);
                Err(Error::unauthorized(e.code(), e.to_string())
                    .with_header("www-authenticate", e.challenge()))
            }
        }
    }

    /// A token from `subject`'s bucket, or the 429 with `Retry-After`
    /// (counted).
    pub fn take_token(&self, subject: &str) -> Result<(), Error> {
        self.buckets.take(subject).map_err(|limited| {
            bump(&self.counters.rate_limited);
            let secs = limited.retry_after_secs();
            Error::too_many_requests(
                "rate_limited",
                format!("too many requests for this token; retry in {secs} s"),
            )
            .with_header("retry-after", secs.to_string())
        })
    }

    /// The 504 of a handler cut by the request timeout (counted).
    pub fn timed_out(&self) -> Error {
        bump(&self.counters.timed_out);
        Error::new(
            504,
            "timeout",
            format!(
                "the handler took longer than the {} ms request timeout",
                self.config.request_timeout.as_millis()
            ),
        )
    }

    /// Appends `entry` to the access log, counting the line once written.
    pub fn record(&self, entry: &access_log::Entry<'_>) -> std::io::Result<()> {
        self.log.write(entry)?;
        bump(&self.counters.logged);
        Ok(())
    }

    /// `/health`'s answer now.
    pub fn health(&self) -> answers::MiddlewareHealth {
        answers::MiddlewareHealth {
            health: crate::api::Health::new(CATEGORY, self.started),
            rate_limit_per_second: self.config.rate_limit,
            request_timeout_ms: u64::try_from(self.config.request_timeout.as_millis())
                .unwrap_or(u64::MAX),
            access_log: self.config.access_log.display().to_string(),
        }
    }
}

/// `Server-Timing` of an answer that took `elapsed`.
pub fn server_timing(elapsed: Duration) -> String {
    format!("app;dur={:.3}", elapsed.as_secs_f64() * 1000.0)
}

/// Whether an `Accept-Encoding` value accepts gzip (a `gzip` coding whose
/// quality is not zero).
pub fn accepts_gzip(accept_encoding: &str) -> bool {
    accept_encoding.split(',').any(|coding| {
        let mut parts = coding.split(';');
        let name = parts.next().unwrap_or("").trim();
        let zero = parts.any(|p| {
            let (key, q) = p.split_once('=').unwrap_or((p, ""));
            key.trim().eq_ignore_ascii_case("q") && q.trim().parse::<f32>().is_ok_and(|q| q == 0.0)
        });
        name.eq_ignore_ascii_case("gzip") && !zero
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_accepted_unless_refused() {
        assert!(accepts_gzip("gzip"));
        assert!(accepts_gzip("br, GZIP;q=0.5"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("gzip; Q=0.0"));
        assert!(!accepts_gzip("deflate, br"));
        assert!(!accepts_gzip("x-gzip-not"));
    }

    #[test]
    fn timing_is_in_milliseconds() {
        assert_eq!(server_timing(Duration::from_micros(1500)), "app;dur=1.500");
    }
}
