//! Measuring one target: wrk runs against a server while its process tree
//! is sampled (CPU cut to wrk's measured window, memory, answers checked
//! against the contract), warm-ups, the measurement assembled from the runs
//! (goodput, errors, CPU per good answer, sanity), and the ceiling server
//! measured with the same load.

use super::options::{reachable, ExternalTarget};
use super::Runner;
use crate::managed::Managed;
use crate::precision::Precision;
use crate::probe::{LoadChecks, Prober};
use crate::registry::Registry;
use crate::results::{
    median, Ceiling, Cpu, LoadUsed, Measurement, Memory, Results, Sanity, ServiceUsage,
};
use crate::sampler::{Sampler, Usage};
use crate::server::{pin, Server};
use crate::targets::{self, Target};
use crate::wrk::{self, Errors, Load, Summary};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Pause between answers sampled during a load.
const SAMPLE_EVERY: Duration = Duration::from_millis(250);

/// A target being sampled on one server: its script, its load, the runs
/// so far.
pub(super) struct Sampling {
    script: PathBuf,
    _bodies: BodyFiles,
    load: Load,
    runs: Vec<Run>,
    /// Runs taken again because another server was busy during them.
    retaken: u32,
    /// Runs kept although another server was busy during them.
    disturbed: u32,
}

impl Sampling {
    /// Drops the last run, disturbed, to be taken again; false (and kept)
    /// when it had errors or wrong answers, which count whatever disturbed
    /// it.
    pub fn discard_last(&mut self) -> bool {
        let clean = self
            .runs
            .last()
            .is_some_and(|r| r.summary.errors().total() == 0 && r.checks.failed == 0);
        if clean {
            self.runs.pop();
            self.retaken += 1;
        }
        clean
    }

    /// Keeps the last run although it was disturbed (the measurement is
    /// flagged `disturbed`).
    pub fn keep_disturbed(&mut self) {
        self.disturbed += 1;
    }
}

/// One wrk run and what was seen meanwhile.
struct Run {
    summary: Summary,
    /// The server's CPU and memory, when its process could be sampled.
    usage: Option<Usage>,
    /// The database server's, for a server that uses one.
    database: Option<Usage>,
    /// The upstream server's, for a server that calls one.
    upstream: Option<Usage>,
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

/// The upstream (one thread) this busy on average may itself have capped
/// the server's throughput: the figure is flagged `upstream_busy`.
const UPSTREAM_BUSY_CORES: f64 = 0.9;

impl Runner<'_> {
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
        let db_sampler = server.database_pid().map(Sampler::start);
        let up_sampler = server.upstream_pid().map(Sampler::start);
        let mut cmd = pin(&wrk::command(server.url(), script, load), self.load_cpus());
        let prober = sampled.map(|t| {
            Prober::start(
                server.url(),
                t,
                SAMPLE_EVERY,
                t.load.max_connections.is_some(),
            )
        });
        let child = Managed::spawn(&mut cmd, None, true)?;
        let (status, stdout, stderr) = child.wait_output()?;
        let parsed = wrk::parse(&stdout);
        let measured = parsed
            .as_ref()
            .ok()
            .map(|s| Duration::from_micros(s.duration_us));
        let usage = sampler.map(|s| s.finish_within(measured));
        let database = db_sampler.map(|s| s.finish_within(measured));
        let upstream = up_sampler.map(|s| s.finish_within(measured));
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
            database,
            upstream,
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

    /// A warm-up load of `target` at the highest connection level (none
    /// when `--warmup 0`).
    pub(super) fn warm_up(&self, server: &Server, label: &str, target: &Target) -> Result<()> {
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
                .map_or(64, |level| target.load.connections_at(level)),
            seconds: self.opts.warmup.as_secs().max(1),
        };
        self.wrk_once(server, &script, load, None).map(|_| ())
    }

    /// `repeat` wrk runs of one target at one connection count (or, adaptive,
    /// runs until its figures are known).
    pub(super) fn measure(
        &self,
        server: &Server,
        label: &str,
        target: &Target,
        connections: u32,
    ) -> Result<Measurement> {
        let mut sampling = self.sampling(label, target, connections)?;
        loop {
            self.sample(server, &mut sampling, target)?;
            if self.enough(&sampling.runs) {
                break;
            }
        }
        Ok(self.measured(target, &sampling))
    }

    /// A target's sampling at one connection count, before its first run.
    pub(super) fn sampling(
        &self,
        label: &str,
        target: &Target,
        connections: u32,
    ) -> Result<Sampling> {
        let (script, bodies) = self.script(label, target)?;
        let connections = target.load.connections_at(connections);
        crate::machine::check_open_files(connections).map_err(anyhow::Error::msg)?;
        Ok(Sampling {
            script,
            _bodies: bodies,
            load: Load {
                threads: self.opts.threads,
                connections,
                seconds: self.opts.duration.as_secs().max(1),
            },
            runs: Vec::new(),
            retaken: 0,
            disturbed: 0,
        })
    }

    /// One more run of a sampling.
    pub(super) fn sample(
        &self,
        server: &Server,
        sampling: &mut Sampling,
        target: &Target,
    ) -> Result<()> {
        let run = self.wrk_once(server, &sampling.script, sampling.load, Some(target))?;
        sampling.runs.push(run);
        Ok(())
    }

    /// Whether a sampling has all its runs.
    pub(super) fn sampled(&self, sampling: &Sampling) -> bool {
        self.enough(&sampling.runs)
    }

    /// The measurement of a sampling's runs.
    pub(super) fn measured(&self, target: &Target, sampling: &Sampling) -> Measurement {
        let mut m = self.measurement(
            target,
            sampling.load.connections,
            sampling.load,
            &sampling.runs,
        );
        m.disturbed_runs = sampling.retaken;
        if sampling.disturbed > 0 {
            m.sanity.flags.push("disturbed".to_owned());
        }
        if m.upstream
            .is_some_and(|u| u.cpu.average_cores >= UPSTREAM_BUSY_CORES)
        {
            m.sanity.flags.push("upstream_busy".to_owned());
        }
        m
    }

    /// Whether a measurement has its runs: `repeat` of them, or, adaptive,
    /// when its figures are known within the precision (or at the maximum).
    fn enough(&self, runs: &[Run]) -> bool {
        match &self.opts.adaptive {
            None => runs.len() >= self.opts.repeat.max(1) as usize,
            Some(adaptive) => {
                let (rps, cpu) = samples(runs);
                adaptive.done(&rps, &cpu)
            }
        }
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
        let cpu = usages.as_deref().map(|u| cpu_of(u, wall, good));
        let memory = usages.as_deref().map(memory_of);
        let service = |usages: Option<Vec<&Usage>>| {
            usages.as_deref().map(|u| ServiceUsage {
                cpu: cpu_of(u, wall, good),
                memory: memory_of(u),
            })
        };
        let database = service(runs.iter().map(|r| r.database.as_ref()).collect());
        let upstream = service(runs.iter().map(|r| r.upstream.as_ref()).collect());
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
        let precision = self.opts.adaptive.map(|a| {
            let (rps, cpu) = samples(runs);
            Precision::of(&a, &rps, &cpu)
        });
        if precision.as_ref().is_some_and(|p| !p.settled) {
            sanity.flags.push("unsettled".to_owned());
        }
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
            database,
            upstream,
            ideal_rps: target
                .load
                .wait_ms
                .map(|ms| f64::from(load.actual_connections()) * 1000.0 / f64::from(ms)),
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
            precision,
            disturbed_runs: 0,
        }
    }

    /// The ceiling, started from the registry, or external (`--ceiling-url`),
    /// or none: a target on another machine is not compared with this one's.
    pub(super) fn ceiling(&self, registry: &Registry) -> Result<Ceiling> {
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
                Server::start(&self.launch("ceiling", &c.command, &c.path, "ceiling"))?
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
}

/// Each run's good req/s, and its server CPU µs per good answer (empty
/// unless every run was sampled).
fn samples(runs: &[Run]) -> (Vec<f64>, Vec<f64>) {
    let rps = runs.iter().map(|r| r.summary.goodput()).collect();
    let cpu = runs
        .iter()
        .map(|r| {
            let good = r.summary.requests.saturating_sub(r.summary.errors().status);
            r.usage
                .as_ref()
                .filter(|_| good > 0)
                .map(|u| u.cpu_seconds * 1e6 / good as f64)
        })
        .collect::<Option<Vec<f64>>>()
        .unwrap_or_default();
    (rps, cpu)
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

/// CPU over `usages` (one per run) against the runs' `wall` seconds and
/// their `good` answers.
fn cpu_of(usages: &[&Usage], wall: f64, good: u64) -> Cpu {
    let seconds: f64 = usages.iter().map(|u| u.cpu_seconds).sum();
    Cpu {
        seconds,
        average_cores: if wall > 0.0 { seconds / wall } else { 0.0 },
        us_per_request: if good > 0 {
            seconds * 1e6 / good as f64
        } else {
            0.0
        },
    }
}

/// Memory over `usages` (one per run): the peaks' peak, the last one's end.
fn memory_of(usages: &[&Usage]) -> Memory {
    Memory {
        peak_rss_bytes: usages.iter().map(|u| u.peak_rss_bytes).max().unwrap_or(0),
        final_rss_bytes: usages.last().map_or(0, |u| u.final_rss_bytes),
        peak_pss_bytes: usages.iter().filter_map(|u| u.peak_pss_bytes).max(),
        final_pss_bytes: usages.last().and_then(|u| u.final_pss_bytes),
    }
}
