//! The suite's command-line runner: `verify` checks a live server against a
//! category's contract; `run` benchmarks frameworks from the registry with
//! wrk and writes a results file; `report` turns results into Markdown and
//! charts; `compare` diffs two results files with a regression gate;
//! `hostile` probes servers with a hostile raw-socket client.

pub mod chart;
pub mod compare;
pub mod conformance;
pub mod hostile;
pub mod machine;
pub mod managed;
pub mod progress;
pub mod registry;
pub mod report;
pub mod results;
pub mod run;
pub mod sampler;
pub mod server;
pub mod targets;
pub mod wrk;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
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
}

impl Servers {
    /// What starting the registry's servers needs (logs in
    /// `OUTPUT/<what>-<time>-logs`); installs the Ctrl-C handler that stops
    /// them.
    fn started(
        self,
        framework: String,
        contracts: &Path,
        what: &str,
        timeout: Duration,
    ) -> Result<conformance::MatrixOptions> {
        managed::install_signal_handler()?;
        let registry = self.registry.unwrap_or_else(default_registry);
        let stamp = machine::now().replace([':', '-'], "");
        Ok(conformance::MatrixOptions {
            root: registry_root(&registry)?,
            registry,
            contracts: contracts.to_path_buf(),
            categories: self.category,
            frameworks: framework,
            logs: self
                .output
                .join(format!("{what}-{}-logs", stamp.trim_end_matches('Z'))),
            startup_timeout: self.startup_timeout,
            timeout,
        })
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
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
    /// a results file.
    Run {
        /// Category name, comma-separated names, or `all`.
        #[arg(long, default_value = "all")]
        category: String,
        /// Framework name from the registry, comma-separated names, or `all`.
        #[arg(long, default_value = "all")]
        framework: String,
        /// Measured time per wrk run.
        #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
        duration: Duration,
        /// Warm-up per server before measuring.
        #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
        warmup: Duration,
        /// Open connections.
        #[arg(long, default_value_t = 64)]
        connections: u32,
        /// Connection counts to sweep, e.g. 16,64,256 (overrides --connections).
        #[arg(long, value_delimiter = ',')]
        sweep: Option<Vec<u32>>,
        /// wrk threads.
        #[arg(long, default_value_t = 1)]
        threads: u32,
        /// wrk runs per measurement; the median is reported.
        #[arg(long, default_value_t = 3)]
        repeat: u32,
        /// Only these endpoints (comma-separated names).
        #[arg(long, value_delimiter = ',')]
        endpoints: Option<Vec<String>>,
        /// Also run the contract's scenarios (weighted mixes).
        #[arg(long)]
        scenarios: bool,
        /// Directory for the results file and logs.
        #[arg(long, default_value = "results")]
        output: PathBuf,
        /// The framework registry [default: the nearest frameworks.toml].
        #[arg(long)]
        registry: Option<PathBuf>,
        /// How long a server may take to become healthy.
        #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
        startup_timeout: Duration,
        /// Kill a server whose resident memory grows past this during a load
        /// (the target is reported as not measured; 0 turns the guard off).
        #[arg(long, default_value = "4GiB")]
        max_server_rss: bytesize::ByteSize,
    },
    /// Write a Markdown report with charts from one or more results files.
    Report {
        /// Results files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Directory for report.md and the charts.
        #[arg(long, default_value = "results/report")]
        output: PathBuf,
    },
    /// Compare two results files per endpoint.
    Compare {
        /// The baseline.
        before: PathBuf,
        /// The candidate.
        after: PathBuf,
        /// Exit 1 when any endpoint's req/s falls by more than this (e.g. 5%).
        #[arg(long, value_parser = compare::parse_fraction)]
        max_regression: Option<f64>,
    },
}

/// Runs the parsed command line; errors are one line on stderr and exit 2.
pub fn main(cli: Cli) -> ExitCode {
    let dir = cli.contracts.unwrap_or_else(contract::contracts_dir);
    match dispatch(&dir, cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The nearest `frameworks.toml` above the current directory, else the one
/// in this source tree.
fn default_registry() -> PathBuf {
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            let candidate = dir.join("frameworks.toml");
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../frameworks.toml")
}

/// The directory holding the registry: its commands run there.
fn registry_root(registry: &Path) -> Result<PathBuf> {
    Ok(registry
        .canonicalize()
        .with_context(|| format!("no registry at {}", registry.display()))?
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default())
}

/// `runner verify --url`: one running server, one category.
fn verify_url(
    contracts: &Path,
    category: &str,
    url: String,
    timeout: Duration,
    json: Option<&Path>,
) -> Result<ExitCode> {
    let contract = contract::load_in(contracts, category)?;
    let mut options = contract::VerifyOptions::new(url);
    options.timeout = timeout;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let report = runtime.block_on(contract::verify(&contract, &options));
    print!("{}", report.table());
    if let Some(path) = json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn dispatch(contracts: &Path, command: Command) -> Result<ExitCode> {
    match command {
        Command::Verify {
            servers,
            timeout,
            json,
        } => match (servers.url.clone(), servers.framework.clone()) {
            (Some(url), _) => {
                verify_url(contracts, &servers.category, url, timeout, json.as_deref())
            }
            (None, Some(framework)) => {
                let opts = servers.started(framework, contracts, "verify", timeout)?;
                let matrix = conformance::verify_frameworks(&opts)?;
                print!("{}", matrix.table());
                if let Some(path) = json {
                    std::fs::write(&path, serde_json::to_vec_pretty(&matrix)?)
                        .with_context(|| format!("writing {}", path.display()))?;
                }
                Ok(if matrix.passed() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                })
            }
            (None, None) => anyhow::bail!("give --url or --framework"),
        },
        Command::Hostile { servers, slow_wait } => {
            let options = contract::hostile::HostileOptions {
                slow_wait,
                ..Default::default()
            };
            let probed = match (servers.url.clone(), servers.framework.clone()) {
                (Some(url), _) => vec![hostile::Probed {
                    framework: url.clone(),
                    category: servers.category.clone(),
                    report: Ok(hostile::probe_url(
                        contracts,
                        &servers.category,
                        &url,
                        &options,
                    )?),
                }],
                (None, Some(framework)) => {
                    let opts =
                        servers.started(framework, contracts, "hostile", options.answer_wait)?;
                    hostile::probe_frameworks(&opts, &options)?
                }
                (None, None) => anyhow::bail!("give --url or --framework"),
            };
            let mut passed = true;
            for p in &probed {
                println!("== {} / {}", p.framework, p.category);
                match &p.report {
                    Ok(report) => {
                        print!("{}", report.table());
                        passed &= report.passed();
                    }
                    Err(e) => {
                        println!("not probed: {e}");
                        passed = false;
                    }
                }
            }
            Ok(if passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Run {
            category,
            framework,
            duration,
            warmup,
            connections,
            sweep,
            threads,
            repeat,
            endpoints,
            scenarios,
            output,
            registry,
            startup_timeout,
            max_server_rss,
        } => {
            managed::install_signal_handler()?;
            let registry = registry.unwrap_or_else(default_registry);
            let options = run::RunOptions {
                root: registry_root(&registry)?,
                registry,
                contracts: contracts.to_path_buf(),
                categories: category,
                frameworks: framework,
                duration,
                warmup,
                connections: sweep.unwrap_or_else(|| vec![connections]),
                threads: threads.max(1),
                repeat: repeat.max(1),
                endpoints,
                scenarios,
                output,
                startup_timeout,
                max_server_rss: Some(max_server_rss.as_u64()).filter(|&b| b > 0),
            };
            let outcome = run::run(&options)?;
            println!("results: {}", outcome.path.display());
            for p in &outcome.problems {
                eprintln!("failed: {p}");
            }
            Ok(if outcome.problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Report { files, output } => {
            let path = report::write(&files, &output)?;
            println!("report: {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Compare {
            before,
            after,
            max_regression,
        } => {
            let a = results::Results::load(&before)?;
            let b = results::Results::load(&after)?;
            let (rows, unmatched) = compare::compare(&a, &b);
            print!("{}", compare::table(&rows, max_regression));
            for k in &unmatched {
                println!("only in one file: {k}");
            }
            let worst = rows.iter().map(compare::Row::delta).fold(0.0, f64::min);
            match max_regression {
                Some(limit) if -worst > limit => {
                    eprintln!(
                        "regression: worst change {:+.1}% exceeds -{:.1}%",
                        worst * 100.0,
                        limit * 100.0
                    );
                    Ok(ExitCode::FAILURE)
                }
                _ => Ok(ExitCode::SUCCESS),
            }
        }
    }
}
