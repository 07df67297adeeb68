//! The project's own PostgreSQL cluster (`scripts/setup_postgres.sh`), for
//! runs and tests that use the `database` category's server engine: started
//! when needed, a fresh empty database per use.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The environment variable that turns a test's skip (no PostgreSQL here)
/// into a failure; CI sets it.
pub const REQUIRE: &str = "BENCH_REQUIRE_POSTGRES";

/// The repository this crate was built from: its `scripts/` and its
/// `target/postgres/` cluster.
pub fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The cluster's first process (the root of its tree: a backend per
/// connection, and its background workers), from its pid file.
pub fn cluster_pid() -> Option<u32> {
    let pid_file = repository().join("target/postgres/data/postmaster.pid");
    let text = std::fs::read_to_string(pid_file).ok()?;
    text.lines().next()?.trim().parse().ok()
}

/// Starts the cluster when it is not running (installing PostgreSQL first
/// when run as root on Debian/Ubuntu), (re)creates an empty database
/// `name` on it and gives its URL.
pub fn fresh_database(name: &str) -> Result<String> {
    let script = repository().join("scripts/setup_postgres.sh");
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
    match fresh_database(name) {
        Ok(url) => Some(url),
        Err(e) if std::env::var_os(REQUIRE).is_none() => {
            eprintln!("skipped: PostgreSQL cannot be started here ({e:#}); set {REQUIRE}=1 to fail instead");
            None
        }
        Err(e) => panic!("PostgreSQL is required ({REQUIRE} is set): {e:#}"),
    }
}

/// Runs `sql` with psql on the database at `url`; its rows, `|`-separated
/// fields, one per line.
pub fn query(url: &str, sql: &str) -> Result<String> {
    let out = Command::new("psql")
        .args(["-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", url, "-c", sql])
        .env("PGOPTIONS", "-c client_min_messages=warning")
        .output()
        .context("running psql")?;
    if !out.status.success() {
        bail!("psql: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Statement counts of the database at `url` since its statistics were
/// last reset ([`reset_statements`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    /// `SELECT` statements run.
    pub selects: u64,
    /// Rows written by `UPDATE` statements.
    pub updated_rows: u64,
}

/// Clears `pg_stat_statements` (every database's).
pub fn reset_statements(url: &str) -> Result<()> {
    query(url, "SELECT pg_stat_statements_reset()").map(|_| ())
}

/// What ran in the database at `url` since the last reset, leaving out the
/// statistics' own queries.
pub fn counted(url: &str) -> Result<Counted> {
    let row = query(
        url,
        "SELECT coalesce(sum(calls) FILTER (WHERE query ILIKE 'select%'), 0), \
                coalesce(sum(rows) FILTER (WHERE query ILIKE 'update%'), 0) \
         FROM pg_stat_statements \
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
           AND query NOT ILIKE '%pg_stat_statements%'",
    )?;
    let (selects, rows) = row
        .split_once('|')
        .with_context(|| format!("unexpected answer {row:?}"))?;
    Ok(Counted {
        selects: selects.trim().parse().context("select count")?,
        updated_rows: rows.trim().parse().context("updated rows")?,
    })
}
