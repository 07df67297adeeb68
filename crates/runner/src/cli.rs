//! The command line: subcommands and their flags (clap), and the checks
//! that turn `runner run`'s flags into [`RunOptions`].

use crate::precision::{self, Adaptive};
use crate::run::{ExternalTarget, OpenSettings, RunOptions};
use crate::{compare, conformance, locust, machine, managed, results};
use crate::{default_registry, registry_root};
use anyhow::{bail, Result};
use clap::{ArgAction, Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Verifies and benchmarks HTTP servers against the suite's contracts.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// Directory of contract files [default: the nearest shared-endpoints/].
    #[arg(long, global = true, env = "BENCH_CONTRACTS")]
    pub contracts: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Which servers a command checks: one that runs (`--url`), or the
/// registry's (`--framework`), started on free ports.
#[derive(Debug, clap::Args)]
pub struct Servers {
    /// Category name; with --framework also comma-separated names or `all`.
    #[arg(long)]
    pub category: String,
    /// Base URL of a running server.
    #[arg(
        long,
        required_unless_present = "framework",
        conflicts_with = "framework"
    )]
    pub url: Option<String>,
    /// Framework name(s) from the registry, comma-separated, or `all`.
    #[arg(long)]
    pub framework: Option<String>,
    /// The framework registry [default: the nearest frameworks.toml].
    #[arg(long)]
    pub registry: Option<PathBuf>,
    /// Directory for the started servers' logs.
    #[arg(long, default_value = "results")]
    pub output: PathBuf,
    /// How long a started server may take to become healthy.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub startup_timeout: Duration,
    /// The `database` category's engine: `sqlite` (each server makes its
    /// own file) or `postgres` (the project's own cluster, started when
    /// needed and stopped at the end; a fresh database for each server).
    #[arg(long, value_enum, default_value_t = crate::database::Engine::Sqlite)]
    pub database: crate::database::Engine,
    /// The `async_operations` category's upstream: an HTTP server already
    /// running at this URL, instead of the registry's ceiling server started
    /// on loopback for the run (and sampled beside each server).
    #[arg(long)]
    pub upstream: Option<String>,
}

impl Servers {
    /// What starting the registry's servers needs (logs in
    /// `OUTPUT/<what>-<time>-logs`); installs the Ctrl-C handler that stops
    /// them.
    pub(crate) fn started(
        self,
        framework: String,
        contracts: &Path,
        what: &str,
        timeout: Duration,
    ) -> Result<conformance::MatrixOptions> {
        managed::install_signal_handler()?;
        let registry = self.registry.unwrap_or_else(default_registry);
        Ok(conformance::MatrixOptions {
            root: registry_root(&registry)?,
            registry,
            contracts: contracts.to_path_buf(),
            categories: self.category,
            frameworks: framework,
            logs: self
                .output
                .join(format!("{what}-{}-logs", machine::stamp())),
            startup_timeout: self.startup_timeout,
            timeout,
            database: self.database,
            upstream: self.upstream,
        })
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
// Parsed once per process: the size of `Run` costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Check servers against their categories' contracts: every endpoint,
    /// negative case and flow. Either a running server (`--url`, one
    /// category) or the registry's servers (`--framework`), which are started
    /// on free ports, verified, stopped, and summed up in a frameworks ×
    /// categories matrix. Exits 1 when any check fails.
    Verify {
        /// The servers to check.
        #[command(flatten)]
        servers: Servers,
        /// Per-request timeout.
        #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
        timeout: Duration,
        /// Also write the report (or the matrix) as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Probe servers with a hostile client over raw sockets: malformed and
    /// ambiguous HTTP, smuggling, oversized heads, slow and short bodies,
    /// hostile paths and JSON, an idle-connection flood. Every probe must
    /// get a 4xx or a close and `/health` must keep answering. Exits 1 when
    /// any probe fails.
    Hostile {
        /// The servers to check.
        #[command(flatten)]
        servers: Servers,
        /// Longest a server may take to answer or close a slow client (above
        /// its header and body timeouts).
        #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
        slow_wait: Duration,
    },
    /// Benchmark: start each framework's server per category, verify it,
    /// measure every verified endpoint with wrk beside the ceiling, and write
    /// a results file. A flag given twice keeps its last value, so scripts
    /// can put defaults first.
    #[command(args_override_self = true)]
    Run(RunArgs),
    /// Write a category's workload for another load engine.
    #[command(subcommand)]
    Export(Export),
    /// Turn another load engine's statistics into a results file.
    #[command(subcommand)]
    Import(Import),
    /// Write a Markdown report with charts from one or more results files.
    Report {
        /// Results files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Directory for report.md and the charts.
        #[arg(long, default_value = "results/report")]
        output: PathBuf,
    },
    /// A regression gate between two results files: each endpoint's share
    /// of the ceiling (or req/s with --raw), with the spread of the repeats
    /// as the noise band. Exits 0 when the gate passes; 1 when an endpoint
    /// regressed beyond the threshold and the noise, its p99 grew beyond its
    /// threshold, its error rate rose, it disappeared, or it started failing
    /// verification; 2 when the files cannot be compared (different machines
    /// or load parameters, unless --force).
    Compare {
        /// The baseline.
        before: PathBuf,
        /// The candidate.
        after: PathBuf,
        /// Slowdown beyond which an endpoint fails (e.g. 10% or 0.1), when it
        /// is also outside the noise band.
        #[arg(long, default_value = "10%", value_parser = compare::parse_fraction)]
        max_regression: f64,
        /// p99 growth beyond which an endpoint fails.
        #[arg(long, default_value = "50%", value_parser = compare::parse_fraction)]
        max_p99_regression: f64,
        /// Compare raw req/s instead of shares of each run's ceiling.
        #[arg(long)]
        raw: bool,
        /// Compare even results from different machines or parameters.
        #[arg(long)]
        force: bool,
    },
}

/// `runner export`.
#[derive(Debug, Subcommand)]
pub enum Export {
    /// A locustfile from a category's contract: one FastHttpUser per
    /// scenario, tasks weighted as its mix, every request as the wrk scripts
    /// send it (`unique` tokens renewed per request), each answer's status
    /// checked.
    Locust {
        /// Category name.
        #[arg(long)]
        category: String,
        /// Only this scenario [default: all of the category's].
        #[arg(long)]
        scenario: Option<String>,
        /// These endpoints instead, each alone (a user per endpoint),
        /// comma-separated.
        #[arg(long, value_delimiter = ',', conflicts_with = "scenario")]
        endpoints: Option<Vec<String>>,
        /// The file to write.
        #[arg(long)]
        output: PathBuf,
    },
}

/// `runner import`.
#[derive(Debug, Subcommand)]
pub enum Import {
    /// Locust's CSV statistics (`locust --csv PREFIX`) as a results file
    /// (`OUTPUT/locust-<time>.json`): req/s, failures and percentiles per
    /// endpoint and for the whole mix; server CPU and memory unavailable.
    Locust {
        /// What to import.
        #[command(flatten)]
        options: locust::import::ImportOptions,
        /// Directory for the results file.
        #[arg(long, default_value = "results")]
        output: PathBuf,
    },
}

/// `runner run`'s flags.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Category name, comma-separated names, or `all`.
    #[arg(long, default_value = "all")]
    pub category: String,
    /// Framework name from the registry, comma-separated names, or `all`.
    #[arg(long, default_value = "all")]
    pub framework: String,
    /// Measured time per wrk run (a sample) [default: 1s; 10s with
    /// --repeat].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Warm-up per server start before measuring [default: 1s; 3s with
    /// --repeat].
    #[arg(long, value_parser = humantime::parse_duration)]
    pub warmup: Option<Duration>,
    /// Open connections (the contracts' load); several (16,256) sweep
    /// them, each target measured at every level.
    #[arg(long, value_delimiter = ',', action = ArgAction::Set, default_value = "64")]
    pub connections: Vec<u32>,
    /// The same as --connections (kept for older scripts).
    #[arg(long, value_delimiter = ',', action = ArgAction::Set, hide = true)]
    pub sweep: Option<Vec<u32>>,
    /// wrk threads.
    #[arg(long, default_value_t = 1)]
    pub threads: u32,
    /// A fixed number of wrk runs per measurement instead of adaptive
    /// sampling; the median is reported.
    #[arg(long, conflicts_with_all = ["precision", "min_samples", "max_samples"])]
    pub repeat: Option<u32>,
    /// Only these endpoints (comma-separated names).
    #[arg(long, value_delimiter = ',', action = ArgAction::Set)]
    pub endpoints: Option<Vec<String>>,
    /// Also run the contract's scenarios (weighted mixes).
    #[arg(long)]
    pub scenarios: bool,
    /// Directory for the results file and logs.
    #[arg(long, default_value = "results")]
    pub output: PathBuf,
    /// The framework registry [default: the nearest frameworks.toml].
    #[arg(long)]
    pub registry: Option<PathBuf>,
    /// How long a server may take to become healthy.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub startup_timeout: Duration,
    /// Kill a server whose resident memory grows past this during a load
    /// (the target is reported as not measured; 0 turns the guard off).
    #[arg(long, default_value = "4GiB")]
    pub max_server_rss: bytesize::ByteSize,
    /// Worker threads or processes for every framework (`{workers}` in
    /// the registry) [default: the cores the server may use].
    #[arg(long)]
    pub workers: Option<u32>,
    /// Pin the server's process tree and the load generators to disjoint
    /// CPUs: `server=LIST,load=LIST` (e.g. server=0,load=1).
    #[arg(long, value_parser = machine::parse_pinning)]
    pub cpus: Option<results::CpuPinning>,
    /// Categories with an open-model (constant arrival rate) phase after
    /// the closed loop: `none`, `all` or comma-separated names.
    #[arg(long, default_value = "basic")]
    pub open_model: String,
    /// Time per offered rate in the open-model phase.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub open_duration: Duration,
    /// Offered rates as fractions of each framework's closed-loop maximum
    /// for the endpoint.
    #[arg(long, value_delimiter = ',', action = ArgAction::Set, default_value = "0.5,0.75,0.9")]
    pub open_fractions: Vec<f64>,
    /// One rate offered to every framework, req/s.
    #[arg(long, default_value_t = 1000.0)]
    pub open_rate: f64,
    /// Measure a server someone else started, here or on another
    /// machine (one category; --framework names it), instead of
    /// starting the registry's: verified, then loaded, never restarted.
    #[arg(long)]
    pub url: Option<String>,
    /// The --url server's process id on this machine: its CPU and memory
    /// are sampled (otherwise they are reported unavailable).
    #[arg(long, requires = "url")]
    pub pid: Option<u32>,
    /// A ceiling server started beside the --url server, measured in its
    /// place (default: the local ceiling when the target is on this
    /// machine, none otherwise).
    #[arg(long, requires = "url")]
    pub ceiling_url: Option<String>,
    /// A scaling run: fill each stateful category's store to each of
    /// these sizes in turn (records, e.g. 1000,10000,100000) with its
    /// contract's preload requests, and measure its listing and stats
    /// endpoints at every size.
    #[arg(long, value_delimiter = ',', action = ArgAction::Set)]
    pub state: Option<Vec<u64>>,
    /// Adaptive measurement (unless --repeat): sample each target in runs
    /// of --duration until the 95 % interval of its median good req/s and
    /// CPU per request is within this share of the median, between
    /// --min-samples and --max-samples runs; a figure still wider is
    /// flagged `unsettled`.
    #[arg(long, default_value = "5%", value_parser = compare::parse_fraction)]
    pub precision: f64,
    /// Runs always taken per adaptive measurement (6 at least: fewer give
    /// no 95 % interval of a median).
    #[arg(long, default_value_t = precision::MIN_SAMPLES)]
    pub min_samples: u32,
    /// Runs at most per adaptive measurement (sampling stops sooner when
    /// no remaining runs could bring a figure within the precision).
    #[arg(long, default_value_t = 9)]
    pub max_samples: u32,
    /// Measure one framework after another. By default a category's
    /// servers run side by side and each target's runs alternate between
    /// the frameworks, so a drift of the machine (a noisy neighbour, a
    /// slower host) falls on all of them alike instead of on whichever
    /// framework was being measured.
    #[arg(long)]
    pub sequential: bool,
    /// The `database` category's engine: `sqlite` (each server makes its
    /// own file) or `postgres` (the project's own cluster, started when
    /// needed and stopped at the end; a fresh database for each server
    /// start; its process tree sampled beside the server's).
    #[arg(long, value_enum, default_value_t = crate::database::Engine::Sqlite)]
    pub database: crate::database::Engine,
    /// The `async_operations` category's upstream: an HTTP server already
    /// running at this URL, instead of the registry's ceiling server started
    /// on loopback for the run (and sampled beside each server).
    #[arg(long)]
    pub upstream: Option<String>,
}

impl RunArgs {
    /// The run these flags ask for, refused when they contradict each
    /// other; installs the Ctrl-C handler that stops started servers.
    pub fn options(self, contracts: &Path) -> Result<RunOptions> {
        let mut state = self.state.clone().unwrap_or_default();
        if state.contains(&0) {
            bail!("--state sizes must be at least 1 record");
        }
        state.sort_unstable();
        state.dedup();
        if !state.is_empty() && self.scenarios {
            bail!(
                "--state measures each category's preload endpoints at every size; --scenarios does not apply"
            );
        }
        if self.url.is_some() && (self.category == "all" || self.category.contains(',')) {
            bail!("with --url, --category names the one category the server serves");
        }
        if self.open_fractions.iter().any(|f| !(*f > 0.0 && *f <= 1.5)) || self.open_rate <= 0.0 {
            bail!("open-model fractions must be in (0, 1.5] and the rate above 0");
        }
        if self.workers == Some(0) {
            bail!("--workers must be at least 1");
        }
        let adaptive = self.adaptive()?;
        let fixed = adaptive.is_none();
        let or = |given: Option<Duration>, adaptive: u64, fixed_secs: u64| {
            given.unwrap_or(Duration::from_secs(if fixed {
                fixed_secs
            } else {
                adaptive
            }))
        };
        managed::install_signal_handler()?;
        let registry = self.registry.unwrap_or_else(default_registry);
        Ok(RunOptions {
            root: registry_root(&registry)?,
            registry,
            contracts: contracts.to_path_buf(),
            categories: self.category,
            frameworks: self.framework,
            duration: or(self.duration, 1, 10),
            warmup: or(self.warmup, 1, 3),
            connections: self.sweep.unwrap_or(self.connections),
            threads: self.threads.max(1),
            repeat: self.repeat.unwrap_or(1).max(1),
            endpoints: self.endpoints,
            scenarios: self.scenarios,
            output: self.output,
            startup_timeout: self.startup_timeout,
            max_server_rss: Some(self.max_server_rss.as_u64()).filter(|&b| b > 0),
            workers: self.workers,
            cpus: self.cpus,
            open: OpenSettings {
                categories: self.open_model,
                duration: self.open_duration,
                fractions: self.open_fractions,
                common_rate: self.open_rate,
            },
            external: self.url.map(|url| ExternalTarget {
                url,
                pid: self.pid,
                ceiling_url: self.ceiling_url,
            }),
            state,
            adaptive,
            sequential: self.sequential,
            database: self.database,
            upstream: self.upstream,
        })
    }

    /// The adaptive sampling asked for (none with --repeat), refused when
    /// it cannot give an interval.
    fn adaptive(&self) -> Result<Option<Adaptive>> {
        if self.repeat.is_some() {
            return Ok(None);
        }
        let precision = self.precision;
        if !(precision > 0.0 && precision.is_finite()) {
            bail!("--precision must be above 0");
        }
        if self.min_samples < precision::MIN_SAMPLES {
            bail!(
                "--min-samples must be at least {} (fewer give no 95 % interval of a median)",
                precision::MIN_SAMPLES
            );
        }
        if self.max_samples < self.min_samples {
            bail!("--max-samples must be at least --min-samples");
        }
        Ok(Some(Adaptive {
            precision,
            min_samples: self.min_samples,
            max_samples: self.max_samples,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `runner run`'s flags as parsed from `args`.
    fn run_args(args: &[&str]) -> RunArgs {
        let all = ["runner", "run"].iter().chain(args);
        match Cli::try_parse_from(all).map(|c| c.command) {
            Ok(Command::Run(args)) => args,
            other => panic!("not a run: {other:?}"),
        }
    }

    #[test]
    fn a_run_is_adaptive_unless_a_number_of_runs_is_fixed() {
        let adaptive = run_args(&[]).adaptive().ok().flatten();
        assert_eq!(
            adaptive,
            Some(Adaptive {
                precision: 0.05,
                min_samples: 6,
                max_samples: 9
            })
        );
        assert_eq!(run_args(&["--repeat", "3"]).adaptive().ok(), Some(None));
        assert!(
            Cli::try_parse_from(["runner", "run", "--repeat", "3", "--precision", "2%"]).is_err()
        );
    }

    #[test]
    fn a_list_given_twice_keeps_its_last_value() {
        let args = run_args(&["--connections", "16,256", "--connections", "64"]);
        assert_eq!(args.connections, [64]);
        let args = run_args(&["--open-fractions", "0.5,0.9", "--open-fractions", "0.75"]);
        assert_eq!(args.open_fractions, [0.75]);
        let args = run_args(&["--connections", "16,64,256"]);
        assert_eq!(args.connections, [16, 64, 256]);
    }
}
