//! The project's own PostgreSQL cluster (`scripts/setup_postgres.sh`), for
//! runs and tests that use the `database` category's server engine: started
//! when needed, a fresh empty database per use.

use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

/// The environment variable that turns a test's skip (no PostgreSQL here)
/// into a failure; CI sets it.
pub const REQUIRE: &str = "BENCH_REQUIRE_POSTGRES";

/// Starts the cluster when it is not running (installing PostgreSQL first
/// when run as root on Debian/Ubuntu), (re)creates an empty database
/// `name` on it and gives its URL. `root` is the repository.
pub fn fresh_database(root: &Path, name: &str) -> Result<String> {
    let script = root.join("scripts/setup_postgres.sh");
    let out = Command::new(&script)
        .args(["--database", name])
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        bail!(
            "{} --database {name} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !url.starts_with("postgres://") {
        bail!("{} printed no URL: {url:?}", script.display());
    }
    Ok(url)
}

/// For tests: a fresh database `name`, or `None` after printing why when
/// PostgreSQL cannot be started here and [`REQUIRE`] is unset (set, the
/// test fails instead).
pub fn for_test(name: &str) -> Option<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    match fresh_database(&root, name) {
        Ok(url) => Some(url),
        Err(e) if std::env::var_os(REQUIRE).is_none() => {
            eprintln!("skipped: PostgreSQL cannot be started here ({e:#}); set {REQUIRE}=1 to fail instead");
            None
        }
        Err(e) => panic!("PostgreSQL is required ({REQUIRE} is set): {e:#}"),
    }
}
