//! Categories whose servers talk to a database server: the engine a run
//! gives them (`--database`), the fresh database each server start gets on
//! the project's own PostgreSQL cluster (`scripts/setup_postgres.sh`), and
//! the cluster's process tree, sampled beside the server's so that the
//! database's work counts in the cost of a request.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// The category whose servers use `--database`.
pub const CATEGORY: &str = "database";

/// The engine the `database` category runs on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// Embedded: each server makes and seeds its own file (no database
    /// server to sample: its work is the server's).
    #[default]
    Sqlite,
    /// A server: the project's own cluster, a fresh database for every
    /// start of a framework's server, seeded by the server.
    Postgres,
}

impl Engine {
    /// The database a server labelled `label` (`axum-database`) of
    /// `category` is given, recreated before each of its starts; `None`
    /// when the category or the engine needs none.
    pub fn database_for(self, label: &str, category: &str) -> Option<String> {
        (self == Engine::Postgres && category == CATEGORY).then(|| database_name(label))
    }

    /// Whether a run over `categories` needs the cluster.
    pub fn needs_cluster<'c>(self, mut categories: impl Iterator<Item = &'c str>) -> bool {
        self == Engine::Postgres && categories.any(|c| c == CATEGORY)
    }
}

/// `bench_` and the label in lower case, other characters as `_` (a
/// PostgreSQL identifier of at most 63 bytes).
fn database_name(label: &str) -> String {
    let mut name: String = std::iter::once("bench_".to_owned())
        .chain(label.chars().map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase().to_string()
            } else {
                "_".to_owned()
            }
        }))
        .collect();
    name.truncate(63);
    name
}

/// The cluster's first process (the root of its tree), while it runs.
pub fn cluster_pid() -> Option<u32> {
    contract::postgres::cluster_pid().filter(|pid| Path::new(&format!("/proc/{pid}")).exists())
}

/// The running cluster, started when it was not: its version; when this
/// call started it, it is stopped when the [`Cluster`] is dropped.
pub fn start_cluster() -> Result<Cluster> {
    let was_running = cluster_pid().is_some();
    let url = contract::postgres::fresh_database("bench_runner")?;
    let version = contract::postgres::query(&url, "SHOW server_version")?;
    Ok(Cluster {
        version: format!("PostgreSQL {version}"),
        started_here: !was_running,
    })
}

/// The cluster a run uses; stopped when dropped if the run started it.
#[derive(Debug)]
pub struct Cluster {
    /// `PostgreSQL 15.18 (…)`.
    pub version: String,
    /// Whether the run started it.
    started_here: bool,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.started_here {
            if let Err(e) = stop_cluster() {
                eprintln!("could not stop the PostgreSQL cluster: {e:#}");
            }
        }
    }
}

/// What the run's results record of the database category's engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseParameters {
    /// The engine asked for.
    pub engine: Engine,
    /// The database server and its version (`PostgreSQL 15.18`); null for
    /// an embedded engine (each server's `/health` names its own).
    pub server: Option<String>,
}

/// What a database server's `/health` says of its database: `engine`,
/// `pool_size`, `isolation` (the contract asks every framework for them).
pub fn server_database(rt: &tokio::runtime::Runtime, url: &str, health: &str) -> Option<Value> {
    let at = format!("{}{health}", url.trim_end_matches('/'));
    let doc = crate::probe::get_json(rt, &at, std::time::Duration::from_secs(10)).ok()?;
    let picked: serde_json::Map<String, Value> = ["engine", "pool_size", "isolation"]
        .iter()
        .filter_map(|k| Some(((*k).to_owned(), doc.get(k)?.clone())))
        .collect();
    (!picked.is_empty()).then_some(Value::Object(picked))
}

/// Stops the cluster (`scripts/setup_postgres.sh --stop`).
pub fn stop_cluster() -> Result<()> {
    let status = Command::new(contract::postgres::repository().join("scripts/setup_postgres.sh"))
        .arg("--stop")
        .status()
        .context("running scripts/setup_postgres.sh --stop")?;
    anyhow::ensure!(status.success(), "scripts/setup_postgres.sh --stop failed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_database_category_on_postgres_gets_a_database() {
        assert_eq!(
            Engine::Postgres.database_for("actix-web-database", "database"),
            Some("bench_actix_web_database".to_owned())
        );
        assert_eq!(
            Engine::Sqlite.database_for("axum-database", "database"),
            None
        );
        assert_eq!(Engine::Postgres.database_for("axum-basic", "basic"), None);
        assert_eq!(database_name(&"x".repeat(100)).len(), 63);
    }
}
