//! What a run is asked to do: the options of `runner run`, the external
//! server of `--url`, the open-model settings, and the check that an
//! external URL answers before anything is measured.

use crate::results::CpuPinning;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::time::Duration;

/// Everything `run` needs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Directory the registry's commands run in (the repository root).
    pub root: PathBuf,
    /// The registry file.
    pub registry: PathBuf,
    /// The contract directory.
    pub contracts: PathBuf,
    /// `all` or comma-separated category names.
    pub categories: String,
    /// `all` or comma-separated framework names.
    pub frameworks: String,
    /// Measured time per wrk run.
    pub duration: Duration,
    /// Warm-up time per server.
    pub warmup: Duration,
    /// Connection counts (one, or a sweep).
    pub connections: Vec<u32>,
    /// wrk threads.
    pub threads: u32,
    /// wrk runs per measurement.
    pub repeat: u32,
    /// Only these endpoints, if given.
    pub endpoints: Option<Vec<String>>,
    /// Also run the contract's scenarios.
    pub scenarios: bool,
    /// Directory for the results file and logs.
    pub output: PathBuf,
    /// How long a server may take to become healthy.
    pub startup_timeout: Duration,
    /// A server whose process tree grows past this many resident bytes
    /// during a load is killed (and restarted for the next target).
    pub max_server_rss: Option<u64>,
    /// Workers for every framework (`{workers}`); default: the cores the
    /// server may use.
    pub workers: Option<u32>,
    /// CPUs for the server and for the load generators.
    pub cpus: Option<CpuPinning>,
    /// The open-model phase.
    pub open: OpenSettings,
    /// Measure this running server instead of starting the registry's.
    pub external: Option<ExternalTarget>,
    /// A scaling run: store sizes in records, ascending; each stateful
    /// category's store is filled to each in turn (its contract's
    /// `preload`) and its read-only endpoints measured there. Empty for an
    /// ordinary run.
    pub state: Vec<u64>,
    /// Adaptive sampling: each measurement sampled in runs of `duration`
    /// until its figures are known within the precision (`repeat` is then
    /// not used).
    pub adaptive: Option<crate::precision::Adaptive>,
    /// One framework after another, even when several are measured
    /// (`--sequential`); by default their servers run side by side.
    pub sequential: bool,
    /// The engine of the `database` category.
    pub database: crate::database::Engine,
    /// The `async_operations` category's upstream, when one already runs
    /// (`--upstream`); else the registry's ceiling is started as one.
    pub upstream: Option<String>,
}

/// A server someone else started (`runner run --url`).
#[derive(Debug, Clone)]
pub struct ExternalTarget {
    /// Its base URL.
    pub url: String,
    /// Its process on this machine, sampled for CPU and memory.
    pub pid: Option<u32>,
    /// A ceiling server started next to it; without one, the local ceiling
    /// is measured when the target is on this machine, and none otherwise.
    pub ceiling_url: Option<String>,
}

impl ExternalTarget {
    /// Whether the target's host is this machine's loopback.
    pub fn is_local(&self) -> bool {
        use url::{Host, Url};
        Url::parse(&self.url).is_ok_and(|u| match u.host() {
            Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        })
    }
}

/// What the open-model phase runs.
#[derive(Debug, Clone)]
pub struct OpenSettings {
    /// `none`, `all` or comma-separated categories.
    pub categories: String,
    /// Time per offered rate.
    pub duration: Duration,
    /// Fractions of each framework's closed-loop maximum per endpoint.
    pub fractions: Vec<f64>,
    /// One rate offered to every framework, req/s.
    pub common_rate: f64,
}

impl OpenSettings {
    /// Whether `category` has an open-model phase.
    pub(super) fn covers(&self, category: &str) -> bool {
        match self.categories.as_str() {
            "none" => false,
            "all" => true,
            list => list.split(',').any(|c| c.trim() == category),
        }
    }
}

impl RunOptions {
    /// Whether a category's `frameworks` run side by side, each target's
    /// runs alternating between them: several frameworks started from the
    /// registry, an ordinary run (a scaling run fills each store in turn),
    /// and not `--sequential`.
    pub fn side_by_side(&self, frameworks: usize) -> bool {
        !self.sequential && frameworks > 1 && self.external.is_none() && self.state.is_empty()
    }

    /// Whether endpoint `name` is measured (`--endpoints`, or every one).
    pub fn selects(&self, name: &str) -> bool {
        self.endpoints
            .as_ref()
            .is_none_or(|list| list.iter().any(|e| e == name))
    }

    /// Workers given to every framework.
    pub fn workers(&self) -> u32 {
        self.workers.unwrap_or_else(|| {
            self.cpus
                .as_ref()
                .and_then(|c| crate::machine::cpu_list(&c.server).ok())
                .map_or_else(crate::machine::cores, |l| l.len() as u32)
                .max(1)
        })
    }
}

/// Whether `url` is a server's base URL (http, no path, query or
/// fragment: wrk and the verifier would not put them in the same place) at
/// whose host and port something accepts TCP connections.
pub(super) fn reachable(url: &str) -> Result<()> {
    let parsed = url::Url::parse(url).with_context(|| format!("`{url}` is not a URL"))?;
    if parsed.scheme() != "http" {
        bail!("`{url}`: only http:// URLs can be measured");
    }
    if parsed.path() != "/" || parsed.query().is_some() || parsed.fragment().is_some() {
        bail!("`{url}`: give the server's base URL, without a path or query");
    }
    let authority = parsed.authority().to_owned();
    let addrs = parsed
        .socket_addrs(|| Some(80))
        .with_context(|| format!("resolving {authority}"))?;
    let mut last = None;
    for addr in addrs {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
            Ok(_) => return Ok(()),
            Err(e) => last = Some(e),
        }
    }
    Err(last.map_or_else(
        || anyhow::anyhow!("{authority} has no address"),
        |e| anyhow::anyhow!("nothing answers at {url}: {e}"),
    ))
}

#[cfg(test)]
mod external_tests {
    use super::*;

    fn target(url: &str) -> ExternalTarget {
        ExternalTarget {
            url: url.to_owned(),
            pid: None,
            ceiling_url: None,
        }
    }

    #[test]
    fn loopback_targets_are_local_and_others_are_not() {
        for url in [
            "http://127.0.0.1:8000",
            "http://127.8.9.10/",
            "http://localhost:1",
            "http://LOCALHOST",
            "http://[::1]:8000/x",
            "http://user@127.0.0.1:80",
        ] {
            assert!(target(url).is_local(), "{url}");
        }
        for url in [
            "http://10.0.0.5:8000",
            "http://example.com",
            "http://[2001:db8::1]:80",
            "http://127.0.0.1.example.com",
            "not a url",
        ] {
            assert!(!target(url).is_local(), "{url}");
        }
    }

    #[test]
    fn unreachable_and_unsupported_urls_are_refused_clearly() {
        // A port just freed can be taken again, or connected to itself (a
        // closed port in the ephemeral range): one of a few fresh ones is
        // refused.
        let e = (0..3)
            .find_map(|_| {
                let closed = {
                    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                    l.local_addr().unwrap().port()
                };
                reachable(&format!("http://127.0.0.1:{closed}")).err()
            })
            .expect("three closed ports in a row answered");
        assert!(format!("{e}").starts_with("nothing answers at"), "{e}");
        let e = reachable("https://127.0.0.1:1").unwrap_err();
        assert!(format!("{e}").contains("only http://"), "{e}");
        let e = reachable("127.0.0.1:80").unwrap_err();
        assert!(format!("{e:#}").contains("127.0.0.1:80"), "{e:#}");
        for with_path in ["http://127.0.0.1:1/api", "http://127.0.0.1:1/?a=1"] {
            let e = reachable(with_path).unwrap_err();
            assert!(format!("{e}").contains("without a path"), "{e}");
        }
        let open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        reachable(&format!("http://{}/", open.local_addr().unwrap())).unwrap();
    }
}
