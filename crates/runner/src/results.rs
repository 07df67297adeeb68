//! The results file of a run (`results.schema.json` is its JSON Schema).

use crate::targets::TargetKind;
use crate::wrk::{Errors, Latency};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Version of this format; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 6;

/// The oldest format this runner still reads (later fields default).
pub const OLDEST_SCHEMA_VERSION: u32 = 1;

/// One run of the runner.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Results {
    /// Format version.
    pub schema_version: u32,
    /// Start, RFC 3339.
    pub started_at: String,
    /// End, RFC 3339.
    pub finished_at: String,
    /// Commit of the suite.
    pub git: Git,
    /// The machine it ran on.
    pub machine: Machine,
    /// Tool versions (`rustc`, `wrk`).
    pub tools: BTreeMap<String, String>,
    /// Parameters of the run.
    pub parameters: Parameters,
    /// The ceiling server measured in the same run, one per connection count.
    pub ceiling: Ceiling,
    /// Per framework results.
    pub frameworks: Vec<FrameworkResult>,
}

/// Commit of the suite.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Git {
    /// `git rev-parse HEAD`, if in a checkout.
    pub commit: Option<String>,
    /// Whether the work tree had changes.
    pub dirty: bool,
}

/// The machine.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Machine {
    /// CPU model name.
    pub cpu_model: String,
    /// Logical cores.
    pub cores: usize,
    /// Kernel release.
    pub kernel: String,
    /// Total memory in bytes.
    pub memory_bytes: u64,
    /// Operating system name.
    pub os: String,
    /// Open files each process of the run may have (`RLIMIT_NOFILE`, raised
    /// to its hard limit at start): a connection level needs that many
    /// descriptors in the server and in wrk. 0 when unknown.
    #[serde(default)]
    pub open_files_limit: u64,
}

/// Parameters of the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameters {
    /// Categories run.
    pub categories: Vec<String>,
    /// Frameworks run.
    pub frameworks: Vec<String>,
    /// Measured seconds per wrk run.
    pub duration_seconds: u64,
    /// Warm-up seconds per server.
    pub warmup_seconds: u64,
    /// Connection counts (more than one for a sweep).
    pub connections: Vec<u32>,
    /// wrk threads.
    pub threads: u32,
    /// wrk runs per measurement (the median is reported).
    pub repeat: u32,
    /// Endpoints selected, if not all.
    pub endpoints: Option<Vec<String>>,
    /// Whether scenarios were run.
    pub scenarios: bool,
    /// Connections are kept alive.
    pub keep_alive: bool,
    /// Requests are not pipelined.
    pub pipelining: bool,
    /// Worker threads or processes asked of every framework (`{workers}` in
    /// its registry command); frameworks that keep one process say why in
    /// their category's `server`.
    #[serde(default)]
    pub workers: Option<u32>,
    /// CPUs the server's process tree and the load generator were pinned to.
    #[serde(default)]
    pub cpus: Option<CpuPinning>,
    /// The open-model (constant arrival rate) phase, if it ran.
    #[serde(default)]
    pub open_model: Option<OpenModelParameters>,
    /// The engine that made the load: `wrk`, or `locust` for an imported
    /// Locust run (with its version when known).
    #[serde(default = "wrk_engine")]
    pub load_generator: String,
    /// Store sizes of a scaling run (`--state`), in records; empty for an
    /// ordinary run.
    #[serde(default)]
    pub state: Vec<u64>,
    /// Adaptive sampling (`--precision`): each measurement sampled until
    /// its figures are known within the precision; null for a fixed
    /// number of runs (`repeat`).
    #[serde(default)]
    pub adaptive: Option<crate::precision::Adaptive>,
    /// Each category's servers ran side by side and each target's runs
    /// alternated between the frameworks (a drift of the machine falls on
    /// all of them alike); false: one framework after another.
    #[serde(default)]
    pub side_by_side: bool,
    /// The `database` category's engine, when the run measured it.
    #[serde(default)]
    pub database: Option<crate::database::DatabaseParameters>,
    /// The `async_operations` category's upstream, when the run measured
    /// it: `started` (the registry's ceiling, one thread, on loopback,
    /// sampled beside each server) or the URL given (`--upstream`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
}

impl Parameters {
    /// Whether another engine made the load and the run was imported (not
    /// verified or sampled by the runner).
    pub fn imported(&self) -> bool {
        self.load_generator != WRK
    }
}

fn wrk_engine() -> String {
    WRK.to_owned()
}

/// `load_generator` of the runner's own runs.
pub const WRK: &str = "wrk";

/// Disjoint CPU lists (as `taskset -c` takes them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuPinning {
    /// The server's process tree.
    pub server: String,
    /// wrk and oha.
    pub load: String,
}

/// How the open-model phase ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenModelParameters {
    /// Categories it ran for.
    pub categories: Vec<String>,
    /// Seconds per rate.
    pub duration_seconds: u64,
    /// Fractions of each framework's own closed-loop maximum.
    pub fractions: Vec<f64>,
    /// One rate offered to every framework, req/s.
    pub common_rate: f64,
    /// The generator and its version, or why the phase did not run.
    pub tool: String,
}

/// The ceiling's measurements.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ceiling {
    /// What it is.
    pub description: String,
    /// Its version line.
    pub version: String,
    /// One per connection count.
    pub results: Vec<Measurement>,
}

/// One framework's results.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameworkResult {
    /// Registry name.
    pub name: String,
    /// Registry description.
    pub description: String,
    /// Its version line.
    pub version: String,
    /// Per category.
    pub categories: Vec<CategoryResult>,
    /// Wall time of the framework, s: its setup and every category (null
    /// for an external server or an imported run). Side by side, the time
    /// spent on this framework alone.
    #[serde(default)]
    pub wall_seconds: Option<f64>,
}

/// One framework × category.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryResult {
    /// Category name.
    pub category: String,
    /// Why nothing was measured (did not start, not implemented, …).
    pub error: Option<String>,
    /// Contract verification.
    pub verify: VerifySummary,
    /// Measurements of verified endpoints and scenarios.
    pub results: Vec<Measurement>,
    /// Times the server died (during a check or a load), each followed by a
    /// restart.
    #[serde(default)]
    pub crashes: Vec<crate::server::Crash>,
    /// Targets that could not be measured, and why.
    #[serde(default)]
    pub failed_targets: Vec<FailedTarget>,
    /// Whether every negative case and flow passed: a non-conforming
    /// framework's figures are shown, marked, and left out of rankings.
    #[serde(default = "yes")]
    pub conforming: bool,
    /// How the server was started.
    #[serde(default)]
    pub server: Option<ServerInfo>,
    /// sha256 of the contract file the server was verified and loaded with.
    #[serde(default)]
    pub contract_sha256: Option<String>,
    /// Constant-arrival-rate measurements.
    #[serde(default)]
    pub open_model: Vec<OpenPoint>,
    /// How the store was filled in a scaling run, one step per size.
    #[serde(default)]
    pub preload: Vec<PreloadStep>,
    /// Wall time of the category, s: start, verification, every
    /// measurement, stop (null in an imported run). Side by side, the time
    /// spent on this framework's server alone (its start, verification,
    /// preparations, runs, restarts and waits for the others to settle).
    #[serde(default)]
    pub wall_seconds: Option<f64>,
}

/// One filling of a store up to a size (`runner run --state`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreloadStep {
    /// Records in the store after this step (preloaded ones; the
    /// verifier's few come on top).
    pub records: u64,
    /// Requests this step sent, each answered as its contract expects.
    pub sent: u64,
    /// The count the server then gave of the records it holds (the
    /// contract's `preload.held`), never below what was sent.
    pub held: u64,
    /// Wall time of the step, s.
    pub seconds: f64,
    /// Time the server then took to finish its background work, s (null
    /// when its process could not be watched).
    pub settled_seconds: Option<f64>,
}

fn yes() -> bool {
    true
}

/// How a framework's server ran for one category.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerInfo {
    /// The command, `{port}` left as is.
    pub command: Vec<String>,
    /// Workers asked of it (`{workers}` in its command), if it takes any.
    pub workers: Option<u32>,
    /// Why it keeps one process, when the registry says so.
    pub single_process: Option<String>,
    /// Whether it was restarted before each target (stateful categories).
    pub restarted_per_target: bool,
    /// Whether someone else started it (`runner run --url`, or an imported
    /// run): then `command` is empty and `url` says where it was.
    #[serde(default)]
    pub external: bool,
    /// The base URL measured, for an external server.
    #[serde(default)]
    pub url: Option<String>,
    /// The process sampled for CPU and memory, for an external server on
    /// the runner's machine (`--pid`).
    #[serde(default)]
    pub pid: Option<u32>,
    /// What its `/health` says of its database (`engine`, `pool_size`,
    /// `isolation`), for a server of the `database` category.
    #[serde(default)]
    pub database: Option<serde_json::Value>,
}

/// One endpoint at one offered rate, open model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenPoint {
    /// Endpoint name.
    pub name: String,
    /// Fraction of the framework's closed-loop maximum for this endpoint, or
    /// `None` for the common rate.
    pub fraction: Option<f64>,
    /// Offered rate, req/s.
    pub target_rps: f64,
    /// Good answers per second achieved.
    pub achieved_rps: f64,
    /// The achieved rate fell short of the offered one (below 95 %).
    pub short: bool,
    /// Answers received.
    pub requests: u64,
    /// Wrong statuses and failed requests.
    pub errors: u64,
    /// Latency from each request's scheduled send time, µs.
    pub latency_us: OpenLatency,
}

/// Open-model latency percentiles, µs (corrected for coordinated omission).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenLatency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p99_9: f64,
    /// Largest.
    pub max: f64,
}

/// A target whose measurement failed (its server died, wrk failed).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailedTarget {
    /// Endpoint or scenario name.
    pub name: String,
    /// What went wrong.
    pub error: String,
}

impl CategoryResult {
    /// A category that has nothing measured yet.
    pub fn new(category: &str) -> Self {
        Self {
            category: category.to_owned(),
            error: None,
            verify: VerifySummary::default(),
            results: Vec::new(),
            crashes: Vec::new(),
            failed_targets: Vec::new(),
            conforming: true,
            server: None,
            contract_sha256: None,
            open_model: Vec::new(),
            preload: Vec::new(),
            wall_seconds: None,
        }
    }
}

/// What verification found.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifySummary {
    /// Checks that passed.
    pub passed: usize,
    /// Checks that failed.
    pub failed: usize,
    /// `name: detail` of each failure.
    pub failures: Vec<String>,
    /// Endpoints not benchmarked because they failed verification.
    pub skipped_endpoints: Vec<String>,
    /// The failed checks that the registry documents as the framework's own
    /// limitations, with the reason.
    #[serde(default)]
    pub known_failures: Vec<crate::registry::KnownFailure>,
}

/// One endpoint or scenario at one connection count.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measurement {
    /// Endpoint or scenario.
    pub kind: TargetKind,
    /// Its name.
    pub name: String,
    /// Open connections.
    pub connections: u32,
    /// Good answers per second of each run.
    pub runs_rps: Vec<f64>,
    /// Goodput: median of `runs_rps`, answers with the status their request
    /// expects, per second (errors are not served requests).
    pub requests_per_second: f64,
    /// All answers per second (good or not) of the median run.
    #[serde(default)]
    pub throughput_rps: f64,
    /// Errors ÷ attempts (answers + requests that got none), over all runs.
    #[serde(default)]
    pub error_rate: f64,
    /// Requests completed over all runs.
    pub requests: u64,
    /// 4xx answers that their request expects by contract (not errors).
    pub expected_non_2xx: u64,
    /// Latency of the median run, µs.
    pub latency_us: Latency,
    /// Errors over all runs.
    pub errors: Errors,
    /// Server CPU over all runs; `None` when it could not be sampled (an
    /// external server without `--pid`, an imported run): unavailable, not
    /// zero.
    pub cpu: Option<Cpu>,
    /// Server memory; `None` when it could not be sampled.
    pub memory: Option<Memory>,
    /// The database server's CPU and memory over the same runs (its whole
    /// process tree: PostgreSQL's backends and workers), for a server that
    /// uses one; `None` otherwise (an embedded engine's work is the
    /// server's own).
    #[serde(default)]
    pub database: Option<ServiceUsage>,
    /// The upstream server's CPU and memory over the same runs, for a
    /// server that calls one (`async_operations`); `None` otherwise.
    #[serde(default)]
    pub upstream: Option<ServiceUsage>,
    /// For an endpoint that waits by design (`load.wait_ms`): connections ×
    /// 1000 ÷ the wait, the good req/s if every request were answered right
    /// after its wait; `None` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ideal_rps: Option<f64>,
    /// `requests_per_second` ÷ the ceiling's at the same connections.
    pub ceiling_share: Option<f64>,
    /// Server CPU per request ÷ the ceiling's.
    pub ceiling_cpu_ratio: Option<f64>,
    /// Checks that the figure can be trusted.
    pub sanity: Sanity,
    /// The load as it ran.
    #[serde(default)]
    pub load: Option<LoadUsed>,
    /// Answers sampled during the load and checked against the contract.
    #[serde(default)]
    pub load_checks: crate::probe::LoadChecks,
    /// Records the store held (a scaling run, `--state`), else null.
    #[serde(default)]
    pub state: Option<u64>,
    /// An adaptive measurement's samples and intervals (`--precision`),
    /// else null.
    #[serde(default)]
    pub precision: Option<crate::precision::Precision>,
    /// Runs taken again because another framework's server, measured side
    /// by side, was busy during them (its work would have been counted
    /// against this one's throughput).
    #[serde(default)]
    pub disturbed_runs: u32,
}

/// The load as it ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadUsed {
    /// wrk threads (Locust: worker processes, when known).
    pub threads: u32,
    /// Connections wrk opened (`connections / threads` per thread); Locust:
    /// simulated users.
    pub connections: u32,
    /// `static` (wrk's own request), `dynamic` (Lua `request()`),
    /// `dynamic+statuses` (also `response()`, counting per status), or
    /// `locustfile` (an imported Locust run).
    pub script: String,
}

/// Error rates above this taint a figure (flag `error_rate`).
pub const MAX_ERROR_RATE: f64 = 0.001;

impl Measurement {
    /// Whether the figure may be ranked: no error rate above 0.1 %, no
    /// wrong answer among the samples.
    pub fn trusted(&self) -> bool {
        !self
            .sanity
            .flags
            .iter()
            .any(|f| f == "error_rate" || f == "wrong_answers")
    }
}

/// Server CPU.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cpu {
    /// CPU seconds.
    pub seconds: f64,
    /// Average cores busy.
    pub average_cores: f64,
    /// CPU microseconds per request.
    pub us_per_request: f64,
}

/// A managed service's share of a measurement (a database server, an
/// upstream HTTP server).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceUsage {
    /// Its CPU (per request: per good answer of the server).
    pub cpu: Cpu,
    /// Its memory.
    pub memory: Memory,
}

impl Measurement {
    /// CPU µs per request of the server and the services it uses (database
    /// server, upstream) together (the server's alone when it uses none).
    pub fn total_cpu_us(&self) -> Option<f64> {
        let own = self.cpu.as_ref()?.us_per_request;
        let services = [self.database, self.upstream];
        Some(
            own + services
                .iter()
                .flatten()
                .map(|d| d.cpu.us_per_request)
                .sum::<f64>(),
        )
    }
}

/// Server memory.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Memory {
    /// Peak resident bytes of the process tree.
    pub peak_rss_bytes: u64,
    /// Resident bytes at the end.
    pub final_rss_bytes: u64,
    /// Peak proportional set size (forked workers' shared pages counted
    /// once), sampled each second.
    #[serde(default)]
    pub peak_pss_bytes: Option<u64>,
    /// Proportional set size at the end.
    #[serde(default)]
    pub final_pss_bytes: Option<u64>,
}

/// Plausibility of a measurement.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sanity {
    /// connections ÷ mean latency: what Little's law predicts.
    pub littles_law_rps: f64,
    /// measured ÷ predicted − 1.
    pub deviation: f64,
    /// Cores wrk itself used on average.
    pub wrk_cores: f64,
    /// Warnings: `littles_law`, `wrk_saturated`, `errors`, `error_rate`
    /// (above 0.1 %: left out of rankings), `wrong_answers` (a sampled
    /// answer failed its contract check: left out of rankings),
    /// `unsettled` (an adaptive measurement whose intervals stayed wider
    /// than the precision at the maximum of samples), `upstream_busy` (the
    /// one-thread upstream was busy 90 % of the time or more: it may have
    /// capped the figure).
    pub flags: Vec<String>,
}

impl Sanity {
    /// Checks a measurement: Little's law within 20 % (on all answers), wrk
    /// below 90 % of its threads' cores, no errors, an error rate within
    /// 0.1 %, no wrong sampled answer.
    pub fn check(
        connections: u32,
        rps: f64,
        mean_us: f64,
        wrk_cores: f64,
        threads: u32,
        errors: u64,
    ) -> Self {
        let predicted = if mean_us > 0.0 {
            f64::from(connections) * 1e6 / mean_us
        } else {
            0.0
        };
        let deviation = if predicted > 0.0 {
            rps / predicted - 1.0
        } else {
            0.0
        };
        let mut flags = Vec::new();
        if deviation.abs() > 0.20 {
            flags.push("littles_law".to_owned());
        }
        if wrk_cores >= 0.9 * f64::from(threads) {
            flags.push("wrk_saturated".to_owned());
        }
        if errors > 0 {
            flags.push("errors".to_owned());
        }
        Self {
            littles_law_rps: predicted,
            deviation,
            wrk_cores,
            flags,
        }
    }

    /// Adds the flags of the error rate and of the sampled answers.
    pub fn taint(&mut self, error_rate: f64, wrong_answers: u64) {
        if error_rate > MAX_ERROR_RATE {
            self.flags.push("error_rate".to_owned());
        }
        if wrong_answers > 0 {
            self.flags.push("wrong_answers".to_owned());
        }
    }
}

impl Results {
    /// Reads a results file; anything malformed is an error naming the file.
    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let results: Self = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a results file", path.display()))?;
        if !(OLDEST_SCHEMA_VERSION..=SCHEMA_VERSION).contains(&results.schema_version) {
            bail!(
                "{}: results format {} (this runner reads {OLDEST_SCHEMA_VERSION} to {SCHEMA_VERSION})",
                path.display(),
                results.schema_version
            );
        }
        Ok(results)
    }

    /// The ceiling's measurement at `connections`.
    pub fn ceiling_at(&self, connections: u32) -> Option<&Measurement> {
        self.ceiling
            .results
            .iter()
            .find(|m| m.connections == connections)
    }
}

/// The median of some values (0 for none).
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn sanity_flags() {
        // 64 connections at 1 ms mean latency predict 64k req/s.
        let ok = Sanity::check(64, 60_000.0, 1_000.0, 0.5, 1, 0);
        assert!(ok.flags.is_empty(), "{:?}", ok.flags);
        let bad = Sanity::check(64, 20_000.0, 1_000.0, 0.95, 1, 3);
        assert_eq!(bad.flags, ["littles_law", "wrk_saturated", "errors"]);
    }
}
