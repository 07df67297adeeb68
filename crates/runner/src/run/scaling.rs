//! A scaling run (`runner run --state 1000,10000,100000`): one server per
//! framework and category, its store filled to each size in turn with the
//! contract's preload requests, and the preload's read-only endpoints
//! measured at every size, so that a cost growing with the store shows as a
//! rising line in the report.

use super::{Runner, IDLE_CORES};
use crate::preload;
use crate::results::{CategoryResult, PreloadStep};
use crate::sampler;
use crate::server::Server;
use crate::targets::{self, Target};
use anyhow::{bail, Context, Result};
use contract::Contract;
use std::time::{Duration, Instant};

/// Longest wait for a filled server to finish its background work (tasks
/// the preload queued) before its endpoints are measured.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(600);

/// Seed of the preload's random fields: the same records for every
/// framework.
const PRELOAD_SEED: u64 = 0x5ca1e;

impl Runner<'_> {
    /// The preload's measured endpoints that were selected and verified.
    fn scaling_targets(&self, contract: &Contract, verified: &[String]) -> Result<Vec<Target>> {
        let Some(preload) = &contract.preload else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for name in &preload.measure {
            if !self.opts.selects(name) {
                continue;
            }
            if !verified.contains(name) {
                self.progress
                    .note(format!("  {name} is not measured: it failed verification"));
                continue;
            }
            if let Some((i, e)) = contract
                .endpoints
                .iter()
                .enumerate()
                .find(|(_, e)| &e.name == name)
            {
                out.push(targets::endpoint(e, i as u64)?);
            }
        }
        Ok(out)
    }

    /// Fills a verified server's store to each size of `--state` and
    /// measures the preload's endpoints there. A started server is restarted
    /// once first (a fresh store); an external one is filled from where it
    /// stands. A server that dies loses its store: the category ends there.
    pub(super) fn scale(
        &self,
        label: &str,
        mut server: Server,
        contract: &Contract,
        verified: &[String],
        mut result: CategoryResult,
    ) -> CategoryResult {
        let targets = match self.scaling_targets(contract, verified) {
            Ok(t) if t.is_empty() => {
                result.error =
                    Some("no preload endpoint to measure was selected and verified".into());
                self.stop(server);
                return result;
            }
            Ok(t) => t,
            Err(e) => {
                result.error = Some(format!("{e:#}"));
                self.stop(server);
                return result;
            }
        };
        if !server.is_external() {
            if let Err(e) = server.restart("a fresh store for the scaling run") {
                result.error = Some(format!("restarting for a fresh store: {e:#}"));
                return result;
            }
        }
        let mut filled = 0;
        for &size in &self.opts.state {
            self.progress
                .step(format!("{label}: filling the store to {size} records"));
            match self.fill(&server, contract, filled, size) {
                Ok(step) => result.preload.push(step),
                Err(e) => {
                    result.error = Some(format!("filling the store to {size} records: {e:#}"));
                    if let Some(crash) = server.crash(&format!("preload to {size} records")) {
                        result.crashes.push(crash);
                    }
                    break;
                }
            }
            filled = size;
            for t in &targets {
                for conns in t.levels(&self.opts.connections) {
                    self.progress.step(format!(
                        "{label}: {} with {conns} connections on {size} records",
                        t.name
                    ));
                    let outcome = self.measure_filled(&server, label, t, conns);
                    match outcome {
                        Ok(mut m) => {
                            m.state = Some(size);
                            result.results.push(m);
                        }
                        Err(e) => {
                            let name = format!("{} on {size} records", t.name);
                            self.not_measured(label, &mut result, &name, format!("{e:#}"));
                        }
                    }
                    if let Some(crash) =
                        server.crash(&format!("load: {} on {size} records", t.name))
                    {
                        result.crashes.push(crash);
                        result.error = Some(format!(
                            "the server died on {size} records; its store is gone, so the larger sizes were not measured"
                        ));
                        self.stop(server);
                        return result;
                    }
                }
            }
        }
        self.stop(server);
        result
    }

    /// Sends preload requests `from..to`, then waits for the server's
    /// background work to drain (when its process can be watched).
    fn fill(
        &self,
        server: &Server,
        contract: &Contract,
        from: u64,
        to: u64,
    ) -> Result<PreloadStep> {
        let filled = preload::fill(&self.rt, server.url(), contract, from, to, PRELOAD_SEED)?;
        let settling = Instant::now();
        let settled_seconds = match server.pid() {
            Some(pid) => {
                if sampler::wait_idle(pid, IDLE_CORES, SETTLE_TIMEOUT).is_none() {
                    self.progress.note(format!(
                        "  the server was still busy {SETTLE_TIMEOUT:?} after the preload"
                    ));
                }
                Some(settling.elapsed().as_secs_f64())
            }
            None => None,
        };
        // Read back: a store that evicted or dropped records would be
        // measured at a size it does not have.
        let preload = contract.preload.as_ref().context("no preload")?;
        let expected = preload.sent_to(&preload.held.of, to);
        let held = preload::held(&self.rt, server.url(), contract)?;
        if held < expected {
            bail!(
                "the store holds {held} of the {expected} records sent (`{}` of GET {}): it evicted or dropped some; give the server room (the registry's `scaling` arguments)",
                preload.held.json,
                preload.held.path
            );
        }
        let seconds = filled.elapsed.as_secs_f64();
        self.progress.note(format!(
            "  {} request(s) in {seconds:.1} s ({:.0}/s){}",
            filled.sent,
            filled.sent as f64 / seconds.max(1e-9),
            settled_seconds.map_or_else(String::new, |s| format!(", settled in {s:.1} s"))
        ));
        Ok(PreloadStep {
            records: to,
            held,
            sent: filled.sent,
            seconds,
            settled_seconds,
        })
    }

    /// The exact requests of the load verified on the filled store, a
    /// warm-up, then the measurement.
    fn measure_filled(
        &self,
        server: &Server,
        label: &str,
        target: &Target,
        connections: u32,
    ) -> Result<crate::results::Measurement> {
        self.verify_load(server, target)?;
        self.warm_up(server, label, target)?;
        self.measure(server, label, target, connections)
    }
}
