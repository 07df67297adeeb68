//! A category on one server: started from the registry (or found at
//! `--url`), verified against its contract, then each verified endpoint
//! (and scenario) measured at every connection level, with a fresh store
//! per target in stateful categories and a restart after a crash.

use super::options::ExternalTarget;
use super::setup::contract_sha256;
use super::{Runner, IDLE_CORES};
use crate::conformance;
use crate::probe;
use crate::registry::{Framework, KnownFailure};
use crate::results::{CategoryResult, FailedTarget, ServerInfo};
use crate::sampler;
use crate::server::Server;
use crate::targets::{self, Target, TargetKind};
use anyhow::{Context, Result};
use contract::Contract;
use std::time::Duration;

/// A category's server verified and warmed up, with the targets it is
/// measured on and the result they go into.
pub(super) struct Lane {
    /// `framework-category`, naming its logs.
    pub label: String,
    pub server: Server,
    pub targets: Vec<Target>,
    pub result: CategoryResult,
}

/// A category's result that ends before its targets are measured (boxed:
/// a result is large and the path is rare).
pub(super) type NotRun = Box<CategoryResult>;

/// Longest wait for a server to settle between targets.
const IDLE_TIMEOUT: Duration = Duration::from_secs(15);

impl Runner<'_> {
    /// Targets of a category: verified, selected endpoints, then scenarios
    /// whose endpoints all verified.
    fn targets(&self, contract: &Contract, verified: &[String]) -> Result<Vec<Target>> {
        let mut out = Vec::new();
        for (i, e) in contract.endpoints.iter().enumerate() {
            if self.opts.selects(&e.name) && verified.contains(&e.name) {
                out.push(targets::endpoint(e, i as u64)?);
            }
        }
        if self.opts.scenarios {
            for (i, s) in contract.scenarios.iter().enumerate() {
                if s.mix.iter().all(|m| verified.contains(&m.endpoint)) {
                    out.push(targets::scenario(contract, s, 1000 + i as u64)?);
                } else {
                    self.progress.note(format!(
                        "  scenario {} skipped: an endpoint failed verification",
                        s.name
                    ));
                }
            }
        }
        Ok(out)
    }

    /// A framework's category: its server started from the registry, then
    /// verified and measured.
    pub(super) fn category(
        &self,
        framework: &str,
        f: &Framework,
        command: &[String],
        contract: &Contract,
        known: &[KnownFailure],
    ) -> CategoryResult {
        let label = label(framework, contract);
        let (server, result) = match self.start(framework, f, command, contract) {
            Ok(started) => started,
            Err(result) => return *result,
        };
        self.verify_and_measure(&label, server, contract, known, result)
    }

    /// A framework's category server started from the registry, verified
    /// and warmed up; or its result saying why not.
    pub(super) fn lane(
        &self,
        framework: &str,
        f: &Framework,
        command: &[String],
        contract: &Contract,
        known: &[KnownFailure],
    ) -> Result<Lane, NotRun> {
        let label = label(framework, contract);
        let (server, result) = self.start(framework, f, command, contract)?;
        self.ready(&label, server, contract, known, result)
    }

    /// A framework's category server started from the registry, with the
    /// result that records how it runs; or that result with the error.
    fn start(
        &self,
        framework: &str,
        f: &Framework,
        command: &[String],
        contract: &Contract,
    ) -> Result<(Server, CategoryResult), NotRun> {
        let label = label(framework, contract);
        let mut result = CategoryResult::new(&contract.category);
        let (filled, takes_workers) = crate::registry::with_workers(command, self.opts.workers());
        result.server = Some(ServerInfo {
            command: filled,
            workers: takes_workers.then(|| self.opts.workers()),
            single_process: f.single_process_in(&contract.category).map(str::to_owned),
            restarted_per_target: contract.load.stateful && self.opts.state.is_empty(),
            external: false,
            url: None,
            pid: None,
            database: None,
        });
        result.contract_sha256 = contract_sha256(&self.opts.contracts, &contract.category);
        self.progress.step(format!(
            "{framework}/{}: starting and verifying",
            contract.category
        ));
        match Server::start(&self.launch(&label, command, &f.health, &contract.category)) {
            Ok(server) => {
                if contract.category == crate::database::CATEGORY {
                    if let Some(info) = result.server.as_mut() {
                        info.database =
                            crate::database::server_database(&self.rt, server.url(), &f.health);
                    }
                }
                Ok((server, result))
            }
            Err(e) => {
                self.progress.note(format!("  {label}: {e:#}"));
                result.error = Some(format!("{e:#}"));
                Err(Box::new(result))
            }
        }
    }

    /// A category on a server someone else started: verified and measured
    /// where it runs, never restarted (a stateful category's targets each
    /// find the store the ones before left).
    pub(super) fn external_category(
        &self,
        framework: &str,
        target: &ExternalTarget,
        contract: &Contract,
        known: &[KnownFailure],
    ) -> CategoryResult {
        let label = label(framework, contract);
        let mut result = CategoryResult::new(&contract.category);
        result.server = Some(ServerInfo {
            command: Vec::new(),
            workers: None,
            single_process: None,
            restarted_per_target: false,
            external: true,
            url: Some(target.url.clone()),
            pid: target.pid,
            database: None,
        });
        result.contract_sha256 = contract_sha256(&self.opts.contracts, &contract.category);
        self.progress.step(format!(
            "{framework}/{}: verifying {}",
            contract.category, target.url
        ));
        if contract.load.stateful {
            self.progress.note(format!(
                "  {label}: an external server is not restarted between targets: each finds the store the ones before left"
            ));
        }
        match target.pid {
            None => self.progress.note(format!(
                "  {label}: no --pid: server CPU and memory are not measured"
            )),
            Some(pid) if !target.is_local() => self.progress.note(format!(
                "  {label}: --pid {pid} is sampled here, but {} is not a loopback address: make sure it is this machine's server",
                target.url
            )),
            Some(_) => {}
        }
        let server = Server::external(&target.url, target.pid);
        self.verify_and_measure(&label, server, contract, known, result)
    }

    /// Verifies a running server, then measures every verified endpoint
    /// (and scenario), then stops it (a started one).
    fn verify_and_measure(
        &self,
        label: &str,
        mut server: Server,
        contract: &Contract,
        known: &[KnownFailure],
        mut result: CategoryResult,
    ) -> CategoryResult {
        if !self.opts.state.is_empty() {
            let Some(verified) = self.verified(label, &mut server, contract, known, &mut result)
            else {
                return result;
            };
            return self.scale(label, server, contract, &verified, result);
        }
        match self.ready(label, server, contract, known, result) {
            Ok(lane) => self.measure_lane(lane, contract),
            Err(result) => *result,
        }
    }

    /// A running server verified, its targets chosen, warmed up (a
    /// stateless category's one warm-up); or its result saying why not.
    fn ready(
        &self,
        label: &str,
        mut server: Server,
        contract: &Contract,
        known: &[KnownFailure],
        mut result: CategoryResult,
    ) -> Result<Lane, NotRun> {
        let Some(verified) = self.verified(label, &mut server, contract, known, &mut result) else {
            return Err(Box::new(result));
        };
        let targets = match self.targets(contract, &verified) {
            Ok(t) => t,
            Err(e) => {
                result.error = Some(format!("{e:#}"));
                self.stop(server);
                return Err(Box::new(result));
            }
        };
        // Stateless categories share one warm-up; stateful ones warm up each
        // target after the restart that gives it a fresh store.
        if !contract.load.stateful
            && !self.warm_up_all(&mut server, label, contract, &targets, &mut result)
        {
            return Err(Box::new(result));
        }
        Ok(Lane {
            label: label.to_owned(),
            server,
            targets,
            result,
        })
    }

    /// Every target of a ready server measured, then its open-model phase;
    /// then the server stopped.
    fn measure_lane(&self, lane: Lane, contract: &Contract) -> CategoryResult {
        let Lane {
            label,
            mut server,
            targets,
            mut result,
        } = lane;
        let stateful = contract.load.stateful;
        if !self.measure_targets(&mut server, &label, &targets, stateful, &mut result) {
            return result;
        }
        self.open_phase(&mut server, &label, contract, &targets, &mut result);
        self.stop(server);
        result
    }

    /// The open-model phase of a category that has one (and oha to run it).
    pub(super) fn open_phase(
        &self,
        server: &mut Server,
        label: &str,
        contract: &Contract,
        targets: &[Target],
        result: &mut CategoryResult,
    ) {
        if self.opts.open.covers(&contract.category) {
            if let Some(oha) = &self.oha {
                let stateful = contract.load.stateful;
                self.open_model(oha, server, label, targets, stateful, result);
            }
        }
    }

    /// The contract's checks run on the server and recorded in `result`:
    /// the endpoints that passed, or None when the server could not be
    /// kept running.
    fn verified(
        &self,
        label: &str,
        server: &mut Server,
        contract: &Contract,
        known: &[KnownFailure],
        result: &mut CategoryResult,
    ) -> Option<Vec<String>> {
        let verified = self.verify(label, server, contract, known, result);
        if server.exited().is_some() {
            // Verification gave up restarting it.
            result.error = Some("the server could not be kept running".into());
            return None;
        }
        Some(verified)
    }

    /// Runs the contract's checks on the server, records what they found
    /// (and any crash) in `result`, and returns the endpoints that passed.
    fn verify(
        &self,
        label: &str,
        server: &mut Server,
        contract: &Contract,
        known: &[KnownFailure],
        result: &mut CategoryResult,
    ) -> Vec<String> {
        let (report, crashes) =
            conformance::verify(&self.rt, server, contract, Duration::from_secs(10));
        result.verify = conformance::summarize(&report, contract, known);
        result.conforming = conformance::conforming(&report);
        result.crashes = crashes;
        if !report.passed() {
            self.progress.note(format!(
                "  {label}: {} verification check(s) failed{}; failed endpoints are not benchmarked:\n{}",
                result.verify.failed,
                if result.conforming { "" } else { " (non-conforming: a negative case or flow failed)" },
                result.verify.failures.iter().map(|f| format!("    {f}")).collect::<Vec<_>>().join("\n")
            ));
        }
        for crash in &result.crashes {
            self.progress.note(format!(
                "  {label}: the server died during {} ({}); restarted",
                crash.during, crash.status
            ));
        }
        report
            .passed_endpoints()
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// One warm-up of a stateless category: a mix of every endpoint that
    /// takes the full load. False when the server died and could not be
    /// restarted.
    fn warm_up_all(
        &self,
        server: &mut Server,
        label: &str,
        contract: &Contract,
        targets: &[Target],
        result: &mut CategoryResult,
    ) -> bool {
        let all: Vec<(String, u32)> = targets
            .iter()
            .filter(|t| t.kind == TargetKind::Endpoint && !t.has_own_load())
            .map(|t| (t.name.clone(), 1))
            .collect();
        if all.is_empty() {
            return true;
        }
        let warm = targets::mix(contract, TargetKind::Scenario, "warmup", &all, 99)
            .and_then(|warm| self.warm_up(server, label, &warm));
        if let Err(e) = warm {
            self.progress.note(format!("  {label}: warm-up: {e:#}"));
            return self.survive(server, label, "load: warm-up", result);
        }
        true
    }

    /// Every target at every connection level, each prepared first (a fresh
    /// or settled server, its load verified). False when the server died and
    /// could not be restarted (the category ends there).
    fn measure_targets(
        &self,
        server: &mut Server,
        label: &str,
        targets: &[Target],
        stateful: bool,
        result: &mut CategoryResult,
    ) -> bool {
        for t in targets {
            for conns in t.levels(&self.opts.connections) {
                self.progress
                    .step(format!("{label}: {} with {conns} connections", t.name));
                let outcome = self
                    .prepare_target(server, label, t, stateful)
                    .and_then(|()| self.measure(server, label, t, conns));
                match outcome {
                    Ok(_) if server.exited().is_some() => {
                        let why = "the server died during the measurement".to_owned();
                        self.not_measured(label, result, &t.name, why);
                    }
                    Ok(m) => result.results.push(m),
                    Err(e) => self.not_measured(label, result, &t.name, format!("{e:#}")),
                }
                let during = format!("load: {}", t.name);
                if !self.survive(server, label, &during, result) {
                    return false;
                }
            }
        }
        true
    }

    /// A target not measured, and why: said, and kept in the result.
    pub(super) fn not_measured(
        &self,
        label: &str,
        result: &mut CategoryResult,
        name: &str,
        error: String,
    ) {
        self.progress.note(format!("  {label}: {name}: {error}"));
        result.failed_targets.push(FailedTarget {
            name: name.to_owned(),
            error,
        });
    }

    /// Before a target: a fresh server in stateful categories, settled
    /// either way (background work drained); then the exact requests of its
    /// load verified, and a fresh server warmed up.
    pub(super) fn prepare_target(
        &self,
        server: &mut Server,
        label: &str,
        target: &Target,
        stateful: bool,
    ) -> Result<()> {
        if !self.settle(
            server,
            stateful,
            &format!("a fresh store for {}", target.name),
        )? {
            self.progress.note(format!(
                "  {label}: the server was still busy after {IDLE_TIMEOUT:?} of waiting before {}",
                target.name
            ));
        }
        if let Some(pid) = server.upstream_pid() {
            anyhow::ensure!(
                std::path::Path::new(&format!("/proc/{pid}")).exists(),
                "not measured: the upstream (process {pid}) is gone; every answer would be a 502"
            );
        }
        self.verify_load(server, target)?;
        // A target with a load of its own missed the shared warm-up.
        if stateful || target.has_own_load() {
            self.warm_up(server, label, target)?;
        }
        Ok(())
    }

    /// The exact requests of a target's load verified before it runs.
    pub(super) fn verify_load(&self, server: &Server, target: &Target) -> Result<()> {
        probe::verify_requests(&self.rt, server.url(), target)
            .map_err(|e| anyhow::anyhow!("not measured: {e}"))
    }

    /// Before a load: a fresh store for a stateful category (a restart;
    /// never of an external server), then background work drained (when
    /// the process can be watched). False when it stayed busy.
    pub(super) fn settle(&self, server: &mut Server, stateful: bool, reason: &str) -> Result<bool> {
        if stateful && !server.is_external() {
            server
                .restart(reason)
                .context("restarting the server for a fresh store")?;
        }
        // Then (restarted: its seeded fixtures processed, which a target's
        // load may read; else what the last load left behind) wait until
        // the server, and the database server it uses, are idle, when the
        // processes can be watched.
        Ok(server
            .pid()
            .into_iter()
            .chain(server.database_pid())
            .chain(server.upstream_pid())
            .all(|pid| sampler::wait_idle(pid, IDLE_CORES, IDLE_TIMEOUT).is_some()))
    }

    /// After a load: if the server died, records the crash and restarts it;
    /// false when it could not be restarted (the category ends there).
    pub(super) fn survive(
        &self,
        server: &mut Server,
        label: &str,
        during: &str,
        result: &mut CategoryResult,
    ) -> bool {
        let Some(crash) = server.crash(during) else {
            return true;
        };
        self.progress.note(format!(
            "  {label}: the server died during {during} ({}); restarting",
            crash.status
        ));
        result.crashes.push(crash);
        match server.restart(during) {
            Ok(()) => true,
            Err(e) => {
                result.error = Some(format!("the server could not be restarted: {e:#}"));
                false
            }
        }
    }
}

/// A framework's category as logs and progress name it, e.g.
/// `axum-basic`.
fn label(framework: &str, contract: &Contract) -> String {
    format!("{framework}-{}", contract.category)
}
