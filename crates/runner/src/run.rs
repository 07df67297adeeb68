//! `runner run`: for each framework and category, start the server from the
//! registry, wait until healthy, verify it, warm up, measure every verified
//! endpoint (and scenario) with wrk while sampling the server's process tree,
//! stop it, and write one results file. The ceiling is measured first, in the
//! same run, with the same load. With `--url`, the one server measured is
//! external: someone else started it, here or on another machine; it is
//! verified and loaded the same way but never restarted, and sampled only
//! when its process id here is given.

use crate::conformance;
use crate::managed::Managed;
use crate::open_model;
use crate::probe::{self, LoadChecks, Prober};
use crate::progress::Progress;
use crate::registry::{Framework, Registry};
use crate::results::{
    median, CategoryResult, Ceiling, Cpu, CpuPinning, FailedTarget, FrameworkResult, LoadUsed,
    Measurement, Memory, OpenModelParameters, Parameters, Results, Sanity, ServerInfo,
    SCHEMA_VERSION,
};
use crate::sampler::{self, Sampler, Usage};
use crate::server::{pin, Launch, Server};
use crate::targets::{self, Target, TargetKind};
use crate::wrk::{self, Errors, Load, Summary};
use anyhow::{bail, Context, Result};
use contract::Contract;
use sha2::Digest;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

mod scaling;

/// Below this many cores busy, a server's background work has drained.
const IDLE_CORES: f64 = 0.05;

/// Longest wait for a server to settle between targets.
const IDLE_TIMEOUT: Duration = Duration::from_secs(15);

/// Pause between answers sampled during a load.
const SAMPLE_EVERY: Duration = Duration::from_millis(250);

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
    fn covers(&self, category: &str) -> bool {
        match self.categories.as_str() {
            "none" => false,
            "all" => true,
            list => list.split(',').any(|c| c.trim() == category),
        }
    }
}

impl RunOptions {
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

/// One wrk run and what was seen meanwhile.
struct Run {
    summary: Summary,
    /// The server's CPU and memory, when its process could be sampled.
    usage: Option<Usage>,
    wrk_cpu: f64,
    checks: LoadChecks,
}

/// CPU seconds of reaped children (wrk, once waited for).
fn children_cpu() -> f64 {
    use nix::sys::resource::{getrusage, UsageWho};
    getrusage(UsageWho::RUSAGE_CHILDREN).map_or(0.0, |u| {
        let t = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6;
        t(u.user_time()) + t(u.system_time())
    })
}

struct Runner<'a> {
    opts: &'a RunOptions,
    rt: tokio::runtime::Runtime,
    logs: PathBuf,
    progress: Progress,
    /// oha, when the open-model phase can run.
    oha: Option<PathBuf>,
}

impl Runner<'_> {
    fn launch(&self, label: &str, command: &[String], health: &str) -> Launch {
        Launch {
            label: label.to_owned(),
            command: crate::registry::with_workers(command, self.opts.workers()).0,
            health: health.to_owned(),
            root: self.opts.root.clone(),
            log: self.logs.join(format!("{label}.log")),
            startup_timeout: self.opts.startup_timeout,
            cpus: self.opts.cpus.as_ref().map(|c| c.server.clone()),
        }
    }

    fn load_cpus(&self) -> Option<&str> {
        self.opts.cpus.as_ref().map(|c| c.load.as_str())
    }

    fn stop(&self, server: Server) {
        let log = server.log().map(Path::to_path_buf).unwrap_or_default();
        if !server.stop() {
            self.progress.note(format!(
                "warning: the server had to be killed (log: {})",
                log.display()
            ));
        }
    }

    /// One wrk run against `server`, sampling the server meanwhile (its
    /// CPU cut to wrk's measured window) and, with `sampled`, checking
    /// answers of that target against the contract.
    fn wrk_once(
        &self,
        server: &Server,
        script: &Path,
        load: Load,
        sampled: Option<&Target>,
    ) -> Result<Run> {
        let before = children_cpu();
        // Someone else's server is sampled, never killed.
        let limit = self.opts.max_server_rss.filter(|_| !server.is_external());
        let sampler = server.pid().map(|pid| Sampler::with_limit(pid, limit));
        let mut cmd = pin(&wrk::command(server.url(), script, load), self.load_cpus());
        let prober = sampled
            .map(|t| Prober::start(server.url(), t, SAMPLE_EVERY, t.max_connections.is_some()));
        let child = Managed::spawn(&mut cmd, None, true)?;
        let (status, stdout, stderr) = child.wait_output()?;
        let parsed = wrk::parse(&stdout);
        let measured = parsed
            .as_ref()
            .ok()
            .map(|s| Duration::from_micros(s.duration_us));
        let usage = sampler.map(|s| s.finish_within(measured));
        let checks = prober.map(Prober::finish).unwrap_or_default();
        let wrk_cpu = children_cpu() - before;
        if usage.as_ref().is_some_and(|u| u.over_limit) {
            bail!(
                "the server's memory grew past the limit (--max-server-rss {}): the runner killed it",
                bytesize::ByteSize::b(self.opts.max_server_rss.unwrap_or_default())
            );
        }
        if !status.success() {
            bail!("wrk failed ({status}): {}", stderr.trim());
        }
        let summary = parsed.with_context(|| format!("wrk said: {}", stderr.trim()))?;
        Ok(Run {
            summary,
            usage,
            wrk_cpu,
            checks,
        })
    }

    /// Writes the target's Lua script beside the logs (kept); large bodies
    /// go to files that live as long as the returned guard.
    fn script(&self, label: &str, target: &Target) -> Result<(PathBuf, BodyFiles)> {
        let path = self.logs.join(format!("{label}-{}.lua", target.name));
        let script = wrk::script(target, &self.logs.join(format!("{label}-{}", target.name)))?;
        let bodies = BodyFiles(script.bodies);
        std::fs::write(&path, script.lua).with_context(|| format!("writing {}", path.display()))?;
        Ok((path, bodies))
    }

    fn warm_up(&self, server: &Server, label: &str, target: &Target) -> Result<()> {
        if self.opts.warmup.is_zero() {
            return Ok(());
        }
        let (script, _bodies) = self.script(label, target)?;
        let load = Load {
            threads: self.opts.threads,
            connections: self
                .opts
                .connections
                .iter()
                .copied()
                .max()
                .unwrap_or(64)
                .min(target.max_connections.unwrap_or(u32::MAX)),
            seconds: self.opts.warmup.as_secs().max(1),
        };
        self.wrk_once(server, &script, load, None).map(|_| ())
    }

    /// `repeat` wrk runs of one target at one connection count.
    fn measure(
        &self,
        server: &Server,
        label: &str,
        target: &Target,
        connections: u32,
    ) -> Result<Measurement> {
        let (script, _bodies) = self.script(label, target)?;
        let connections = connections.min(target.max_connections.unwrap_or(u32::MAX));
        let load = Load {
            threads: self.opts.threads,
            connections,
            seconds: self.opts.duration.as_secs().max(1),
        };
        let mut runs = Vec::new();
        for _ in 0..self.opts.repeat.max(1) {
            runs.push(self.wrk_once(server, &script, load, Some(target))?);
        }
        Ok(self.measurement(target, connections, load, &runs))
    }

    /// A measurement from `repeat` runs: goodput (answers with the status
    /// their request expects), errors over all runs, CPU per good answer.
    fn measurement(
        &self,
        target: &Target,
        connections: u32,
        load: Load,
        runs: &[Run],
    ) -> Measurement {
        let rps: Vec<f64> = runs.iter().map(|r| r.summary.goodput()).collect();
        let mid = median(&rps);
        let median_run = runs
            .iter()
            .min_by(|a, b| {
                (a.summary.goodput() - mid)
                    .abs()
                    .total_cmp(&(b.summary.goodput() - mid).abs())
            })
            .map(|r| r.summary.clone())
            .unwrap_or_default();
        let requests: u64 = runs.iter().map(|r| r.summary.requests).sum();
        let mut errors = Errors::default();
        runs.iter().for_each(|r| errors.add(&r.summary.errors()));
        let good = requests.saturating_sub(errors.status);
        let attempts = requests + errors.unanswered();
        let error_rate = if attempts > 0 {
            errors.total() as f64 / attempts as f64
        } else {
            0.0
        };
        let wall: f64 = runs
            .iter()
            .map(|r| r.summary.duration_us as f64 / 1e6)
            .sum();
        let wrk_cpu: f64 = runs.iter().map(|r| r.wrk_cpu).sum();
        let mut checks = LoadChecks::default();
        runs.iter().for_each(|r| checks.add(&r.checks));
        // Every run sampled, or the figures are unavailable.
        let usages: Option<Vec<&Usage>> = runs.iter().map(|r| r.usage.as_ref()).collect();
        let cpu = usages.as_ref().map(|u| {
            let seconds: f64 = u.iter().map(|u| u.cpu_seconds).sum();
            Cpu {
                seconds,
                average_cores: if wall > 0.0 { seconds / wall } else { 0.0 },
                us_per_request: if good > 0 {
                    seconds * 1e6 / good as f64
                } else {
                    0.0
                },
            }
        });
        let memory = usages.as_ref().map(|u| Memory {
            peak_rss_bytes: u.iter().map(|u| u.peak_rss_bytes).max().unwrap_or(0),
            final_rss_bytes: u.last().map_or(0, |u| u.final_rss_bytes),
            peak_pss_bytes: u.iter().filter_map(|u| u.peak_pss_bytes).max(),
            final_pss_bytes: u.last().and_then(|u| u.final_pss_bytes),
        });
        let wrk_cores = if wall > 0.0 { wrk_cpu / wall } else { 0.0 };
        let mut sanity = Sanity::check(
            load.actual_connections(),
            median_run.rps(),
            median_run.latency_us.mean,
            wrk_cores,
            self.opts.threads,
            errors.total(),
        );
        sanity.taint(error_rate, checks.failed);
        Measurement {
            kind: target.kind,
            name: target.name.clone(),
            connections,
            runs_rps: rps,
            requests_per_second: mid,
            throughput_rps: median_run.rps(),
            error_rate,
            requests,
            expected_non_2xx: runs.iter().map(|r| r.summary.expected_rejections()).sum(),
            latency_us: median_run.latency_us,
            errors,
            cpu,
            memory,
            ceiling_share: None,
            ceiling_cpu_ratio: None,
            sanity,
            load: Some(LoadUsed {
                threads: load.threads,
                connections: load.actual_connections(),
                script: if target.is_static() {
                    "static"
                } else if target.wrk_counts_errors() {
                    "dynamic"
                } else {
                    "dynamic+statuses"
                }
                .to_owned(),
            }),
            load_checks: checks,
            state: None,
        }
    }

    /// The ceiling, started from the registry, or external (`--ceiling-url`),
    /// or none: a target on another machine is not compared with this one's.
    fn ceiling(&self, registry: &Registry) -> Result<Ceiling> {
        let c = &registry.ceiling;
        let server = match &self.opts.external {
            Some(ExternalTarget {
                ceiling_url: Some(url),
                ..
            }) => {
                self.progress.step(format!("ceiling: {url}"));
                reachable(url).context("the ceiling")?;
                Server::external(url, None)
            }
            Some(t) if !t.is_local() => {
                self.progress
                    .step("ceiling: not measured (the target is on another machine)");
                return Ok(Ceiling {
                    description: "not measured: the target runs on another machine (--ceiling-url measures a ceiling started beside it)".to_owned(),
                    version: String::new(),
                    results: Vec::new(),
                });
            }
            _ => {
                self.progress.step("ceiling: starting");
                Server::start(&self.launch("ceiling", &c.command, &c.path))?
            }
        };
        let request = contract::prepare(
            "GET",
            &c.path,
            &Default::default(),
            &Default::default(),
            &mut rand::rng(),
        )
        .map_err(anyhow::Error::msg)?;
        let target = targets::single("hello", request, 200);
        self.warm_up(&server, "ceiling-warmup", &target)?;
        let mut results = Vec::new();
        for &conns in &self.opts.connections {
            self.progress
                .step(format!("ceiling: GET {} with {conns} connections", c.path));
            results.push(self.measure(&server, "ceiling", &target, conns)?);
        }
        let external = server.is_external();
        self.stop(server);
        Ok(Ceiling {
            description: c.description.clone(),
            version: if external {
                "external (not recorded)".to_owned()
            } else {
                crate::machine::version_of(&c.version)
            },
            results,
        })
    }

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

    fn category(
        &self,
        framework: &str,
        f: &Framework,
        command: &[String],
        contract: &Contract,
        known: &[crate::registry::KnownFailure],
    ) -> CategoryResult {
        let label = format!("{framework}-{}", contract.category);
        let mut result = CategoryResult::new(&contract.category);
        let (_, takes_workers) = crate::registry::with_workers(command, self.opts.workers());
        result.server = Some(ServerInfo {
            command: crate::registry::with_workers(command, self.opts.workers()).0,
            workers: takes_workers.then(|| self.opts.workers()),
            single_process: f.single_process_in(&contract.category).map(str::to_owned),
            restarted_per_target: contract.load.stateful && self.opts.state.is_empty(),
            external: false,
            url: None,
            pid: None,
        });
        result.contract_sha256 = contract_sha256(&self.opts.contracts, &contract.category);
        self.progress.step(format!(
            "{framework}/{}: starting and verifying",
            contract.category
        ));
        match Server::start(&self.launch(&label, command, &f.health)) {
            Ok(server) => self.verify_and_measure(&label, server, contract, known, result),
            Err(e) => {
                self.progress.note(format!("  {label}: {e:#}"));
                result.error = Some(format!("{e:#}"));
                result
            }
        }
    }

    /// A category on a server someone else started: verified and measured
    /// where it runs, never restarted (a stateful category's targets each
    /// find the store the ones before left).
    fn external_category(
        &self,
        framework: &str,
        target: &ExternalTarget,
        contract: &Contract,
        known: &[crate::registry::KnownFailure],
    ) -> CategoryResult {
        let label = format!("{framework}-{}", contract.category);
        let mut result = CategoryResult::new(&contract.category);
        result.server = Some(ServerInfo {
            command: Vec::new(),
            workers: None,
            single_process: None,
            restarted_per_target: false,
            external: true,
            url: Some(target.url.clone()),
            pid: target.pid,
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
        known: &[crate::registry::KnownFailure],
        mut result: CategoryResult,
    ) -> CategoryResult {
        let label = label.to_owned();
        let stateful = contract.load.stateful;
        let (report, crashes) =
            conformance::verify(&self.rt, &mut server, contract, Duration::from_secs(10));
        result.verify = conformance::summarize(&report, contract, known);
        result.conforming = conformance::conforming(&report);
        result.crashes = crashes;
        let verified: Vec<String> = report
            .passed_endpoints()
            .into_iter()
            .map(str::to_owned)
            .collect();
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
        if server.exited().is_some() {
            // Verification gave up restarting it.
            result.error = Some("the server could not be kept running".into());
            return result;
        }
        if !self.opts.state.is_empty() {
            return self.scale(&label, server, contract, &verified, result);
        }
        let targets = match self.targets(contract, &verified) {
            Ok(t) => t,
            Err(e) => {
                result.error = Some(format!("{e:#}"));
                self.stop(server);
                return result;
            }
        };
        // Stateless categories share one warm-up; stateful ones warm up each
        // target after the restart that gives it a fresh store.
        if !stateful {
            let all: Vec<(String, u32)> = targets
                .iter()
                .filter(|t| t.kind == TargetKind::Endpoint && t.max_connections.is_none())
                .map(|t| (t.name.clone(), 1))
                .collect();
            if !all.is_empty() {
                let warm = targets::mix(contract, TargetKind::Scenario, "warmup", &all, 99)
                    .and_then(|warm| self.warm_up(&server, &label, &warm));
                if let Err(e) = warm {
                    self.progress.note(format!("  {label}: warm-up: {e:#}"));
                    if !self.survive(&mut server, &label, "load: warm-up", &mut result) {
                        return result;
                    }
                }
            }
        }
        for t in &targets {
            for &conns in &self.opts.connections {
                self.progress
                    .step(format!("{label}: {} with {conns} connections", t.name));
                let outcome = self
                    .prepare_target(&mut server, &label, t, stateful)
                    .and_then(|()| self.measure(&server, &label, t, conns));
                match outcome {
                    Ok(m) => {
                        if server.exited().is_some() {
                            result.failed_targets.push(FailedTarget {
                                name: t.name.clone(),
                                error: "the server died during the measurement".into(),
                            });
                        } else {
                            result.results.push(m);
                        }
                    }
                    Err(e) => {
                        self.progress.note(format!("  {label}: {}: {e:#}", t.name));
                        result.failed_targets.push(FailedTarget {
                            name: t.name.clone(),
                            error: format!("{e:#}"),
                        });
                    }
                }
                let during = format!("load: {}", t.name);
                if !self.survive(&mut server, &label, &during, &mut result) {
                    return result;
                }
            }
        }
        if self.opts.open.covers(&contract.category) {
            if let Some(oha) = &self.oha {
                self.open_model(oha, &mut server, &label, &targets, stateful, &mut result);
            }
        }
        self.stop(server);
        result
    }

    /// Before a target: a fresh server in stateful categories (then its own
    /// warm-up), else a settled one (background work drained); then the
    /// exact requests of its load verified.
    fn prepare_target(
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
                "  {label}: the server was still busy {IDLE_TIMEOUT:?} after the last load"
            ));
        }
        self.verify_load(server, target)?;
        if stateful {
            self.warm_up(server, label, target)?;
        }
        Ok(())
    }

    /// The exact requests of a target's load verified before it runs.
    fn verify_load(&self, server: &Server, target: &Target) -> Result<()> {
        probe::verify_requests(&self.rt, server.url(), target)
            .map_err(|e| anyhow::anyhow!("not measured: {e}"))
    }

    /// Before a load: a fresh store for a stateful category (a restart;
    /// never of an external server), else background work drained (when
    /// the process can be watched). False when it stayed busy.
    fn settle(&self, server: &mut Server, stateful: bool, reason: &str) -> Result<bool> {
        if stateful && !server.is_external() {
            server
                .restart(reason)
                .context("restarting the server for a fresh store")?;
            return Ok(true);
        }
        // Not restarted (stateless, or external): wait until the work the
        // last load left behind is done, when the process can be watched.
        Ok(match server.pid() {
            Some(pid) => sampler::wait_idle(pid, IDLE_CORES, IDLE_TIMEOUT).is_some(),
            None => true,
        })
    }

    /// The open-model phase of a category: each measured endpoint at
    /// fractions of its own closed-loop maximum and at the common rate.
    fn open_model(
        &self,
        oha: &Path,
        server: &mut Server,
        label: &str,
        targets: &[Target],
        stateful: bool,
        result: &mut CategoryResult,
    ) {
        let open = &self.opts.open;
        let connections = self.opts.connections.iter().copied().max().unwrap_or(64);
        for t in targets.iter().filter(|t| t.kind == TargetKind::Endpoint) {
            if let Some(why) = open_model::unsuitable(t) {
                self.progress
                    .note(format!("  {label}: {}: no open-model phase: {why}", t.name));
                continue;
            }
            let best = result
                .results
                .iter()
                .filter(|m| m.name == t.name && m.trusted())
                .map(|m| m.requests_per_second)
                .fold(0.0, f64::max);
            let mut rates: Vec<(Option<f64>, f64)> = if best > 0.0 {
                open.fractions
                    .iter()
                    .map(|&f| (Some(f), f * best))
                    .collect()
            } else {
                Vec::new()
            };
            rates.push((None, open.common_rate));
            let body = t.requests[0].request.body.as_ref().map(|b| {
                let path = self.logs.join(format!("{label}-{}-open.bin", t.name));
                (std::fs::write(&path, b).map(|()| path.clone()), path)
            });
            for (fraction, rate) in rates {
                let what = fraction.map_or_else(
                    || format!("{rate:.0} req/s (common)"),
                    |f| format!("{:.0}% = {rate:.0} req/s", f * 100.0),
                );
                self.progress
                    .note(format!("  {label}: {} open model at {what}", t.name));
                let outcome = (|| -> Result<crate::results::OpenPoint> {
                    self.settle(
                        server,
                        stateful,
                        &format!("a fresh store for {} (open model)", t.name),
                    )?;
                    let body_file = match &body {
                        Some((Ok(p), _)) => Some(p.as_path()),
                        Some((Err(e), p)) => bail!("writing {}: {e}", p.display()),
                        None => None,
                    };
                    let mut cmd = pin(
                        &open_model::command(
                            oha,
                            server.url(),
                            t,
                            rate,
                            open.duration,
                            connections,
                            body_file,
                        ),
                        self.load_cpus(),
                    );
                    let (status, stdout, stderr) =
                        Managed::spawn(&mut cmd, None, true)?.wait_output()?;
                    if !status.success() {
                        bail!("oha failed ({status}): {}", stderr.trim());
                    }
                    open_model::parse(
                        &stdout,
                        &t.name,
                        fraction,
                        rate,
                        t.requests[0].expect.status,
                    )
                })();
                match outcome {
                    Ok(point) => result.open_model.push(point),
                    Err(e) => result.failed_targets.push(FailedTarget {
                        name: format!("{} (open model, {what})", t.name),
                        error: format!("{e:#}"),
                    }),
                }
                let during = format!("open model: {}", t.name);
                if !self.survive(server, label, &during, result) {
                    return;
                }
            }
            if let Some((_, path)) = body {
                let _ = std::fs::remove_file(path);
            }
        }
    }

    /// After a load: if the server died, records the crash and restarts it;
    /// false when it could not be restarted (the category ends there).
    fn survive(
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

/// Request bodies written for wrk, removed when the runs that read them are
/// over (a 100 MiB upload body is not worth keeping beside the logs).
struct BodyFiles(Vec<PathBuf>);

impl Drop for BodyFiles {
    fn drop(&mut self) {
        for f in &self.0 {
            let _ = std::fs::remove_file(f);
        }
    }
}

/// Whether `url` is a server's base URL (http, no path, query or
/// fragment: wrk and the verifier would not put them in the same place) at
/// whose host and port something accepts TCP connections.
fn reachable(url: &str) -> Result<()> {
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

/// Frameworks' setup commands, each run at most once per invocation.
#[derive(Default)]
pub struct Setups {
    done: BTreeMap<Vec<String>, Result<(), String>>,
}

impl Setups {
    /// Runs `framework`'s setup command (if any, and not already run) in
    /// `root`, its output going to a log in `logs`.
    pub fn run(
        &mut self,
        framework: &Framework,
        root: &Path,
        logs: &Path,
        progress: &Progress,
    ) -> Result<(), String> {
        let Some(command) = &framework.setup else {
            return Ok(());
        };
        if let Some(outcome) = self.done.get(command) {
            return outcome.clone();
        }
        progress.note(format!("setting up: {}", command.join(" ")));
        let index = self.done.len();
        let log = logs.join(format!("setup-{index}.log"));
        let outcome = (|| -> Result<()> {
            let (program, args) = command.split_first().context("empty setup command")?;
            let mut cmd = Command::new(program);
            cmd.args(args).current_dir(root);
            let (status, stdout, stderr) = Managed::spawn(&mut cmd, None, true)?.wait_output()?;
            std::fs::write(&log, format!("{stdout}{stderr}"))
                .with_context(|| format!("writing {}", log.display()))?;
            if !status.success() {
                bail!(
                    "setup `{}` failed ({}): {}",
                    command.join(" "),
                    crate::server::describe(status),
                    crate::server::log_tail(&log)
                );
            }
            Ok(())
        })()
        .map_err(|e| format!("{e:#}"));
        self.done.insert(command.clone(), outcome.clone());
        outcome
    }
}

/// Categories named by `selector` with their contracts.
pub fn contracts(dir: &Path, selector: &str) -> Result<Vec<Contract>> {
    let names: Vec<&str> = if selector == "all" {
        contract::CATEGORIES
            .iter()
            .copied()
            .filter(|c| dir.join(format!("{c}.json")).is_file())
            .collect()
    } else {
        selector.split(',').map(str::trim).collect()
    };
    names.iter().map(|n| contract::load_in(dir, n)).collect()
}

fn results_open_tool(runner: &Runner) -> Option<String> {
    runner
        .oha
        .as_deref()
        .and_then(|p| open_model::version(p).ok())
}

/// sha256 of a category's contract file, hex.
pub(crate) fn contract_sha256(dir: &Path, category: &str) -> Option<String> {
    let bytes = std::fs::read(dir.join(format!("{category}.json"))).ok()?;
    Some(
        sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}

/// Fills each measurement's ceiling share and CPU ratio.
pub fn attach_ceiling(results: &mut Results) {
    let ceiling = results.ceiling.results.clone();
    for f in &mut results.frameworks {
        for c in &mut f.categories {
            for m in &mut c.results {
                if let Some(base) = ceiling.iter().find(|b| b.connections == m.connections) {
                    if base.requests_per_second > 0.0 {
                        m.ceiling_share = Some(m.requests_per_second / base.requests_per_second);
                    }
                    if let (Some(cpu), Some(base)) = (m.cpu, base.cpu) {
                        if base.us_per_request > 0.0 {
                            m.ceiling_cpu_ratio = Some(cpu.us_per_request / base.us_per_request);
                        }
                    }
                }
            }
        }
    }
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The results file.
    pub path: PathBuf,
    /// One line per framework × category that failed to start, verify or
    /// measure (empty when everything passed).
    pub problems: Vec<String>,
}

/// Runs the benchmark and writes `<output>/run-<time>.json`.
pub fn run(opts: &RunOptions) -> Result<Outcome> {
    let registry = Registry::load(&opts.registry)?;
    let frameworks = match &opts.external {
        None => registry.select(&opts.frameworks)?,
        Some(_) if opts.frameworks == "all" || opts.frameworks.contains(',') => {
            bail!("with --url, --framework names the one server measured")
        }
        Some(_) => Vec::new(),
    };
    let servers = frameworks.len().max(usize::from(opts.external.is_some())) as u64;
    let mut contracts = contracts(&opts.contracts, &opts.categories)?;
    if !opts.state.is_empty() {
        contracts.retain(|c| {
            let scaled = c.preload.is_some();
            if !scaled {
                eprintln!(
                    "{}: no preload in its contract, not part of a scaling run",
                    c.category
                );
            }
            scaled
        });
        if contracts.is_empty() {
            bail!("--state scales categories whose contract declares a preload (the stateful ones); none was selected");
        }
    }
    if let Some(list) = &opts.endpoints {
        for name in list {
            if !contracts.iter().any(|c| c.endpoint(name).is_some()) {
                let known: Vec<&str> = contracts
                    .iter()
                    .flat_map(|c| c.endpoints.iter().map(|e| e.name.as_str()))
                    .collect();
                bail!("unknown endpoint `{name}` (known: {})", known.join(", "));
            }
        }
    }
    if opts.connections.is_empty() || opts.connections.contains(&0) {
        bail!("connections must be at least 1");
    }
    if let Some(target) = &opts.external {
        reachable(&target.url)?;
        if let Some(pid) = target.pid {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                bail!("--pid {pid}: no such process on this machine");
            }
        }
    }
    let wrk_version = wrk::version()?;
    let run_id = format!("run-{}", crate::machine::stamp());
    let logs = opts.output.join(format!("{run_id}-logs"));
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;

    let per_category = |c: &Contract| {
        let endpoints = c.endpoints.iter().filter(|e| opts.selects(&e.name)).count();
        let scenarios = if opts.scenarios { c.scenarios.len() } else { 0 };
        let conns = opts.connections.len() as u64;
        match (&c.preload, opts.state.len() as u64) {
            (Some(p), sizes) if sizes > 0 => {
                let measured = p.measure.iter().filter(|n| opts.selects(n)).count() as u64;
                1 + sizes * (1 + measured * conns)
            }
            _ => 1 + (endpoints + scenarios) as u64 * conns,
        }
    };
    let total = 1
        + opts.connections.len() as u64
        + servers * contracts.iter().map(per_category).sum::<u64>();
    let open_categories: Vec<String> = contracts
        .iter()
        .filter(|c| opts.open.covers(&c.category))
        .map(|c| c.category.clone())
        .collect();
    let oha = if open_categories.is_empty() {
        None
    } else {
        open_model::find(&opts.root)
    };
    let open_tool = match &oha {
        Some(path) => Some(open_model::version(path)?),
        None if open_categories.is_empty() => None,
        None => Some(format!("not run: {}", open_model::INSTALL_HINT)),
    };
    let runner = Runner {
        opts,
        rt: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the runtime")?,
        logs,
        progress: Progress::new(total),
        oha,
    };
    if let Some(tool) = open_tool.as_deref().filter(|t| t.starts_with("not run")) {
        runner
            .progress
            .note(format!("warning: the open-model phase is {tool}"));
    }
    // Steps that are not measurements: a start per server and category, and
    // a filling per store size in a scaling run.
    let fillings = servers * contracts.len() as u64 * opts.state.len() as u64;
    let measured = total.saturating_sub(1 + servers * contracts.len() as u64 + fillings);
    runner.progress.note(format!(
        "measuring {measured} target(s) × {} run(s) × {:?} (+ warm-ups); logs in {}",
        opts.repeat.max(1),
        opts.duration,
        runner.logs.display()
    ));

    let started_at = crate::machine::now();
    let ceiling = runner.ceiling(&registry)?;
    let mut results_frameworks = Vec::new();
    if let Some(target) = &opts.external {
        // A name from the registry brings its description and documented
        // limitations; any other name is just a label.
        let name = opts.frameworks.as_str();
        let known = registry.frameworks.get(name);
        results_frameworks.push(FrameworkResult {
            name: name.to_owned(),
            description: known.map_or_else(
                || "an external server".to_owned(),
                |f| f.description.clone(),
            ),
            version: "version not recorded".to_owned(),
            categories: contracts
                .iter()
                .map(|c| {
                    let failures = known.map(|f| f.known_in(&c.category)).unwrap_or_default();
                    runner.external_category(name, target, c, &failures)
                })
                .collect(),
        });
    }
    let mut setups = Setups::default();
    for (name, f) in &frameworks {
        let setup = setups.run(f, &opts.root, &runner.logs, &runner.progress);
        let mut categories = Vec::new();
        for c in &contracts {
            let mut failed = |error: String| {
                runner
                    .progress
                    .step(format!("{name}/{}: {error}", c.category));
                let mut r = CategoryResult::new(&c.category);
                r.error = Some(error);
                categories.push(r);
            };
            let largest = opts.state.last().copied().unwrap_or(0);
            match (f.command_for(&c.category, largest), &setup) {
                (_, Err(e)) => failed(e.clone()),
                (Some(command), Ok(())) => {
                    let known = f.known_in(&c.category);
                    categories.push(runner.category(name, f, &command, c, &known));
                }
                (None, Ok(())) => failed(format!(
                    "{name} has no server for {} in the registry",
                    c.category
                )),
            }
        }
        results_frameworks.push(FrameworkResult {
            name: (*name).to_owned(),
            description: f.description.clone(),
            version: crate::machine::version_of(&f.version),
            categories,
        });
    }
    runner.progress.finish();

    let mut tools = BTreeMap::from([("wrk".to_owned(), wrk_version)]);
    if let Some(p) = &results_open_tool(&runner) {
        tools.insert("oha".to_owned(), p.clone());
    }
    if let Some(v) = crate::machine::rustc() {
        tools.insert("rustc".to_owned(), v);
    }
    let mut results = Results {
        schema_version: SCHEMA_VERSION,
        started_at,
        finished_at: crate::machine::now(),
        git: crate::machine::git(),
        machine: crate::machine::machine(),
        tools,
        parameters: Parameters {
            categories: contracts.iter().map(|c| c.category.clone()).collect(),
            frameworks: match &opts.external {
                Some(_) => vec![opts.frameworks.clone()],
                None => frameworks.iter().map(|(n, _)| (*n).to_owned()).collect(),
            },
            duration_seconds: opts.duration.as_secs().max(1),
            warmup_seconds: opts.warmup.as_secs(),
            connections: opts.connections.clone(),
            threads: opts.threads,
            repeat: opts.repeat.max(1),
            endpoints: opts.endpoints.clone(),
            scenarios: opts.scenarios,
            keep_alive: true,
            pipelining: false,
            workers: opts.external.is_none().then(|| opts.workers()),
            cpus: opts.cpus.clone(),
            open_model: open_tool.map(|tool| OpenModelParameters {
                categories: open_categories,
                duration_seconds: opts.open.duration.as_secs().max(1),
                fractions: opts.open.fractions.clone(),
                common_rate: opts.open.common_rate,
                tool,
            }),
            load_generator: crate::results::WRK.to_owned(),
            state: opts.state.clone(),
        },
        ceiling,
        frameworks: results_frameworks,
    };
    attach_ceiling(&mut results);
    let path = opts.output.join(format!("{run_id}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(&results)?)
        .with_context(|| format!("writing {}", path.display()))?;
    let mut problems = Vec::new();
    for f in &results.frameworks {
        for c in &f.categories {
            if let Some(e) = &c.error {
                problems.push(format!("{}/{}: {e}", f.name, c.category));
            } else if c.verify.failed > 0 {
                problems.push(format!(
                    "{}/{}: {} verification check(s) failed",
                    f.name, c.category, c.verify.failed
                ));
            }
        }
    }
    Ok(Outcome { path, problems })
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
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let e = reachable(&format!("http://127.0.0.1:{closed}")).unwrap_err();
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
