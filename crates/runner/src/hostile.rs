//! `runner hostile`: the raw-socket hostile client of `contract::hostile`
//! against a running server or the registry's servers, one table per
//! framework and category.

use crate::conformance::{for_each_server, MatrixOptions};
use anyhow::{Context, Result};
use contract::hostile::{probe_server, HostileOptions, HostileReport, ProbeResult};
use std::time::Duration;

/// One framework and category probed.
#[derive(Debug)]
pub struct Probed {
    /// Framework name.
    pub framework: String,
    /// Category name.
    pub category: String,
    /// The probes, or why the server could not be probed.
    pub report: Result<HostileReport, String>,
}

/// Probes a running server with a category's contract.
pub fn probe_url(
    contracts: &std::path::Path,
    category: &str,
    url: &str,
    options: &HostileOptions,
) -> Result<HostileReport> {
    let contract = contract::load_in(contracts, category)?;
    Ok(runtime()?.block_on(probe_server(url, &contract, options)))
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")
}

/// Starts every selected framework's server per selected category (after
/// its setup), probes it, and stops it. A server that dies is named after
/// the probes (the one after which `/health` stopped answering killed it).
pub fn probe_frameworks(opts: &MatrixOptions, options: &HostileOptions) -> Result<Vec<Probed>> {
    let rt = runtime()?;
    let mut out = Vec::new();
    for_each_server(opts, "hostile client", |name, _, contract, server| {
        let report = server.map(|server| {
            let mut report = rt.block_on(probe_server(server.url(), contract, options));
            // A dying process may take a moment to be gone.
            let mut died = server.exited();
            for _ in 0..20 {
                if died.is_some() || report.passed() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
                died = server.exited();
            }
            if let Some(how) = died {
                report.probes.push(ProbeResult {
                    name: "(the server process)".into(),
                    seen: Vec::new(),
                    failure: Some(format!("died: {how}")),
                });
            }
            report
        });
        out.push(Probed {
            framework: name.to_owned(),
            category: contract.category.clone(),
            report,
        });
    })?;
    Ok(out)
}
