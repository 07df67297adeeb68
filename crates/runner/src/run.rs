//! `runner run`: for each framework and category, start the server from the
//! registry, wait until healthy, verify it, warm up, measure every verified
//! endpoint (and scenario) with wrk while sampling the server's process tree,
//! stop it, and write one results file. The ceiling is measured first, in the
//! same run, with the same load.

use crate::managed::Managed;
use crate::progress::Progress;
use crate::registry::{with_port, Registry};
use crate::results::{
    median, CategoryResult, Ceiling, Cpu, FrameworkResult, Measurement, Memory, Parameters,
    Results, Sanity, VerifySummary, SCHEMA_VERSION,
};
use crate::sampler::{Sampler, Usage};
use crate::targets::{self, Target, TargetKind};
use crate::wrk::{self, Errors, Load, Summary};
use anyhow::{bail, Context, Result};
use contract::Contract;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

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
}

/// A server started for measuring.
struct Server {
    process: Managed,
    url: String,
    log: PathBuf,
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(5).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
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
    client: reqwest::Client,
    logs: PathBuf,
    progress: Progress,
}

impl Runner<'_> {
    /// Starts `command` on a free port and waits for `health` to answer 2xx.
    fn start(&self, name: &str, command: &[String], health: &str) -> Result<Server> {
        let port = free_port()?;
        let argv = with_port(command, port);
        let (program, args) = argv.split_first().context("empty command")?;
        let log = self.logs.join(format!("{name}.log"));
        let mut cmd = Command::new(program);
        cmd.args(args).current_dir(&self.opts.root);
        let mut process = Managed::spawn(&mut cmd, Some(&log), false)
            .with_context(|| format!("starting {name}: {}", argv.join(" ")))?;
        let url = format!("http://127.0.0.1:{port}");
        let probe = format!("{url}{health}");
        let deadline = Instant::now() + self.opts.startup_timeout;
        loop {
            if let Some(status) = process.try_status() {
                bail!(
                    "{name} exited ({status}) before it was healthy: {}",
                    log_tail(&log)
                );
            }
            let healthy = self.rt.block_on(async {
                self.client
                    .get(&probe)
                    .timeout(Duration::from_secs(2))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            });
            if healthy {
                return Ok(Server { process, url, log });
            }
            if Instant::now() >= deadline {
                bail!(
                    "{name} did not answer {probe} within {:?}: {}",
                    self.opts.startup_timeout,
                    log_tail(&log)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stop(&self, mut server: Server) {
        if server.process.stop(Duration::from_secs(30)).is_none() {
            self.progress.note(format!(
                "warning: could not stop the server (log: {})",
                server.log.display()
            ));
        }
    }

    /// One wrk run against `server`, sampling the server meanwhile.
    fn wrk_once(
        &self,
        server: &Server,
        script: &Path,
        load: Load,
    ) -> Result<(Summary, Usage, f64)> {
        let before = children_cpu();
        let sampler = Sampler::start(server.process.pid());
        let child = Managed::spawn(&mut wrk::command(&server.url, script, load), None, true)?;
        let (status, stdout, stderr) = child.wait_output()?;
        let usage = sampler.finish();
        let wrk_cpu = children_cpu() - before;
        if !status.success() {
            bail!("wrk failed ({status}): {}", stderr.trim());
        }
        let summary =
            wrk::parse(&stdout).with_context(|| format!("wrk said: {}", stderr.trim()))?;
        Ok((summary, usage, wrk_cpu))
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
            connections: self.opts.connections.iter().copied().max().unwrap_or(64),
            seconds: self.opts.warmup.as_secs().max(1),
        };
        self.wrk_once(server, &script, load).map(|_| ())
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
            runs.push(self.wrk_once(server, &script, load)?);
        }
        let rps: Vec<f64> = runs.iter().map(|(s, _, _)| s.rps()).collect();
        let mid = median(&rps);
        let (median_run, _, _) = runs
            .iter()
            .min_by(|a, b| (a.0.rps() - mid).abs().total_cmp(&(b.0.rps() - mid).abs()))
            .context("no runs")?;
        let requests: u64 = runs.iter().map(|(s, _, _)| s.requests).sum();
        let cpu_seconds: f64 = runs.iter().map(|(_, u, _)| u.cpu_seconds).sum();
        let wall: f64 = runs
            .iter()
            .map(|(s, _, _)| s.duration_us as f64 / 1e6)
            .sum();
        let wrk_cpu: f64 = runs.iter().map(|(_, _, w)| w).sum();
        let mut errors = Errors::default();
        runs.iter().for_each(|(s, _, _)| errors.add(&s.errors));
        // Endpoints that measure rejection answer 4xx by contract (verify
        // checked exactly which); those answers are not errors.
        let expected_non_2xx = if target.expects_rejection {
            std::mem::take(&mut errors.status)
        } else {
            0
        };
        let memory = Memory {
            peak_rss_bytes: runs
                .iter()
                .map(|(_, u, _)| u.peak_rss_bytes)
                .max()
                .unwrap_or(0),
            final_rss_bytes: runs.last().map_or(0, |(_, u, _)| u.final_rss_bytes),
        };
        let wrk_cores = if wall > 0.0 { wrk_cpu / wall } else { 0.0 };
        Ok(Measurement {
            kind: target.kind,
            name: target.name.clone(),
            connections,
            runs_rps: rps,
            requests_per_second: mid,
            requests,
            expected_non_2xx,
            latency_us: median_run.latency_us,
            errors,
            cpu: Cpu {
                seconds: cpu_seconds,
                average_cores: if wall > 0.0 { cpu_seconds / wall } else { 0.0 },
                us_per_request: if requests > 0 {
                    cpu_seconds * 1e6 / requests as f64
                } else {
                    0.0
                },
            },
            memory,
            ceiling_share: None,
            ceiling_cpu_ratio: None,
            sanity: Sanity::check(
                connections,
                mid,
                median_run.latency_us.mean,
                wrk_cores,
                self.opts.threads,
                errors.total(),
            ),
        })
    }

    fn ceiling(&self, registry: &Registry) -> Result<Ceiling> {
        let c = &registry.ceiling;
        self.progress.step("ceiling: starting");
        let server = self.start("ceiling", &c.command, &c.path)?;
        let target = Target {
            kind: TargetKind::Endpoint,
            name: "hello".to_owned(),
            requests: vec![contract::prepare(
                "GET",
                &c.path,
                &Default::default(),
                &Default::default(),
                &mut rand::rng(),
            )
            .map_err(anyhow::Error::msg)?],
            expects_rejection: false,
            max_connections: None,
        };
        self.warm_up(&server, "ceiling-warmup", &target)?;
        let mut results = Vec::new();
        for &conns in &self.opts.connections {
            self.progress
                .step(format!("ceiling: GET {} with {conns} connections", c.path));
            results.push(self.measure(&server, "ceiling", &target, conns)?);
        }
        self.stop(server);
        Ok(Ceiling {
            description: c.description.clone(),
            version: crate::machine::version_of(&c.version),
            results,
        })
    }

    /// Targets of a category: verified, selected endpoints, then scenarios
    /// whose endpoints all verified.
    fn targets(&self, contract: &Contract, verified: &[String]) -> Result<Vec<Target>> {
        let mut out = Vec::new();
        for (i, e) in contract.endpoints.iter().enumerate() {
            let selected = self
                .opts
                .endpoints
                .as_ref()
                .is_none_or(|list| list.contains(&e.name));
            if selected && verified.contains(&e.name) {
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
        health: &str,
        command: &[String],
        contract: &Contract,
    ) -> CategoryResult {
        let label = format!("{framework}-{}", contract.category);
        let mut result = CategoryResult {
            category: contract.category.clone(),
            error: None,
            verify: VerifySummary::default(),
            results: Vec::new(),
        };
        self.progress.step(format!(
            "{framework}/{}: starting and verifying",
            contract.category
        ));
        let server = match self.start(&label, command, health) {
            Ok(s) => s,
            Err(e) => {
                self.progress.note(format!("  {label}: {e:#}"));
                result.error = Some(format!("{e:#}"));
                return result;
            }
        };
        let report = self.rt.block_on(contract::verify(
            contract,
            &contract::VerifyOptions::new(&server.url),
        ));
        let verified: Vec<String> = report
            .passed_endpoints()
            .into_iter()
            .map(str::to_owned)
            .collect();
        result.verify = VerifySummary {
            passed: report.checks.iter().filter(|c| c.passed).count(),
            failed: report.failures().count(),
            failures: report
                .failures()
                .map(|c| format!("{}: {}", c.name, c.detail))
                .collect(),
            skipped_endpoints: contract
                .endpoints
                .iter()
                .filter(|e| !verified.contains(&e.name))
                .map(|e| e.name.clone())
                .collect(),
        };
        if !report.passed() {
            self.progress.note(format!(
                "  {label}: {} verification check(s) failed; failed endpoints are not benchmarked:\n{}",
                result.verify.failed,
                report.failures().map(|c| format!("    {}: {}", c.name, c.detail)).collect::<Vec<_>>().join("\n")
            ));
        }
        let outcome = self.targets(contract, &verified).and_then(|targets| {
            // Endpoints with their own load limits (100 MB transfers) stay
            // out of the shared warm-up.
            let all: Vec<(String, u32)> = targets
                .iter()
                .filter(|t| t.kind == TargetKind::Endpoint && t.max_connections.is_none())
                .map(|t| (t.name.clone(), 1))
                .collect();
            if !all.is_empty() {
                let warm = targets::mix(contract, TargetKind::Scenario, "warmup", &all, 99)?;
                self.warm_up(&server, &label, &warm)?;
            }
            for t in &targets {
                for &conns in &self.opts.connections {
                    self.progress.step(format!(
                        "{framework}/{}: {} with {conns} connections",
                        contract.category, t.name
                    ));
                    result
                        .results
                        .push(self.measure(&server, &label, t, conns)?);
                }
            }
            Ok(())
        });
        if let Err(e) = outcome {
            self.progress.note(format!("  {label}: {e:#}"));
            result.error = Some(format!("{e:#}"));
        }
        self.stop(server);
        result
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

/// Categories named by `selector` with their contracts.
fn contracts(dir: &Path, selector: &str) -> Result<Vec<Contract>> {
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
                    if base.cpu.us_per_request > 0.0 {
                        m.ceiling_cpu_ratio = Some(m.cpu.us_per_request / base.cpu.us_per_request);
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
    let frameworks = registry.select(&opts.frameworks)?;
    let contracts = contracts(&opts.contracts, &opts.categories)?;
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
    let wrk_version = wrk::version()?;
    let stamp = crate::machine::now().replace([':', '-'], "");
    let run_id = format!("run-{}", stamp.trim_end_matches('Z'));
    let logs = opts.output.join(format!("{run_id}-logs"));
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;

    let per_category = |c: &Contract| {
        let endpoints = c
            .endpoints
            .iter()
            .filter(|e| opts.endpoints.as_ref().is_none_or(|l| l.contains(&e.name)))
            .count();
        let scenarios = if opts.scenarios { c.scenarios.len() } else { 0 };
        1 + (endpoints + scenarios) as u64 * opts.connections.len() as u64
    };
    let total = 1
        + opts.connections.len() as u64
        + frameworks.len() as u64 * contracts.iter().map(per_category).sum::<u64>();
    let runner = Runner {
        opts,
        rt: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the runtime")?,
        client: reqwest::Client::builder()
            .no_proxy()
            .build()
            .context("building the HTTP client")?,
        logs,
        progress: Progress::new(total),
    };
    let measured = total.saturating_sub(1 + frameworks.len() as u64 * contracts.len() as u64);
    runner.progress.note(format!(
        "measuring {measured} target(s) × {} run(s) × {:?} (+ warm-ups); logs in {}",
        opts.repeat.max(1),
        opts.duration,
        runner.logs.display()
    ));

    let started_at = crate::machine::now();
    let ceiling = runner.ceiling(&registry)?;
    let mut results_frameworks = Vec::new();
    for (name, f) in &frameworks {
        let mut categories = Vec::new();
        for c in &contracts {
            match f.categories.get(&c.category) {
                Some(command) => categories.push(runner.category(name, &f.health, command, c)),
                None => {
                    runner
                        .progress
                        .step(format!("{name}/{}: no server registered", c.category));
                    categories.push(CategoryResult {
                        category: c.category.clone(),
                        error: Some(format!(
                            "{name} has no server for {} in the registry",
                            c.category
                        )),
                        verify: VerifySummary::default(),
                        results: Vec::new(),
                    });
                }
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
            frameworks: frameworks.iter().map(|(n, _)| (*n).to_owned()).collect(),
            duration_seconds: opts.duration.as_secs().max(1),
            warmup_seconds: opts.warmup.as_secs(),
            connections: opts.connections.clone(),
            threads: opts.threads,
            repeat: opts.repeat.max(1),
            endpoints: opts.endpoints.clone(),
            scenarios: opts.scenarios,
            keep_alive: true,
            pipelining: false,
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
