//! The upstream HTTP server of the `async_operations` category: the
//! registry's ceiling server, started once on loopback for a run (or a
//! conformance matrix), named to every server of the category in
//! `BENCH_UPSTREAM_URL`, and sampled beside each while it is measured, so
//! that the upstream's work shows next to the server's.

use crate::registry::Registry;
use crate::server::{Launch, Server};
use anyhow::{Context, Result};
use std::path::Path;
use std::time::Duration;

/// The category whose servers call an upstream.
pub const CATEGORY: &str = "async_operations";

/// Threads the upstream runs: one, so that it takes little of the cores
/// the server under test and the load generator share.
const THREADS: u32 = 1;

/// Where a server's upstream is, and its process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// `http://127.0.0.1:PORT/`.
    pub url: String,
    /// Its process, sampled beside the server's (unknown for an upstream
    /// given by URL).
    pub pid: Option<u32>,
}

/// Whether any of `categories` needs the upstream.
pub fn needed<'c>(mut categories: impl Iterator<Item = &'c str>) -> bool {
    categories.any(|c| c == CATEGORY)
}

/// The upstream of a run or a matrix, when its categories need one; a
/// started one stops when this is dropped.
#[derive(Default)]
pub struct Running {
    /// Where it is.
    pub upstream: Option<Upstream>,
    /// What the results record of it: the URL given, or how it was started.
    pub description: Option<String>,
    _server: Option<Server>,
}

impl Running {
    /// The upstream at `given` (`--upstream`), else the registry's ceiling
    /// started as one (pinned to `cpus`, the load generator's, when given),
    /// when `categories` need it; nothing otherwise.
    pub fn for_run<'c>(
        given: Option<&str>,
        categories: impl Iterator<Item = &'c str>,
        registry: &Registry,
        root: &Path,
        logs: &Path,
        cpus: Option<&str>,
    ) -> Result<Self> {
        if !needed(categories) {
            return Ok(Self::default());
        }
        if let Some(url) = given {
            return Ok(Self {
                upstream: Some(Upstream {
                    url: url.to_owned(),
                    pid: None,
                }),
                description: Some(url.to_owned()),
                _server: None,
            });
        }
        std::fs::create_dir_all(logs).with_context(|| format!("creating {}", logs.display()))?;
        let (server, upstream) = start(registry, root, logs, cpus)?;
        let pinned = if cpus.is_some() {
            ", pinned with the load generator"
        } else {
            ""
        };
        Ok(Self {
            upstream: Some(upstream),
            description: Some(format!(
                "started: the registry's ceiling, {THREADS} thread, on loopback{pinned}"
            )),
            _server: Some(server),
        })
    }

    /// The upstream for a server of `category`, if it calls one.
    pub fn for_category(&self, category: &str) -> Option<Upstream> {
        for_category(self.upstream.as_ref(), category)
    }
}

/// Starts the registry's ceiling server as the upstream, its log in
/// `logs`, pinned to `cpus` when given; it stops when the returned server
/// is dropped.
pub fn start(
    registry: &Registry,
    root: &Path,
    logs: &Path,
    cpus: Option<&str>,
) -> Result<(Server, Upstream)> {
    let command = crate::registry::with_workers(&registry.ceiling.command, THREADS).0;
    let server = Server::start(&Launch {
        label: "upstream".to_owned(),
        command,
        health: registry.ceiling.path.clone(),
        root: root.to_path_buf(),
        log: logs.join("upstream.log"),
        startup_timeout: Duration::from_secs(30),
        cpus: cpus.map(str::to_owned),
        database: None,
        upstream: None,
    })
    .context("starting the upstream (the registry's ceiling command)")?;
    let upstream = Upstream {
        url: format!("{}/", server.url()),
        pid: server.pid(),
    };
    Ok((server, upstream))
}

/// The upstream for a server of `category`, if it calls one.
pub fn for_category(upstream: Option<&Upstream>, category: &str) -> Option<Upstream> {
    upstream.filter(|_| category == CATEGORY).cloned()
}
