//! The suite's command-line runner: `verify` checks a live server against a
//! category's contract; `run` benchmarks frameworks from the registry with
//! wrk and writes a results file; `report` turns results into Markdown and
//! charts; `compare` diffs two results files with a regression gate;
//! `hostile` probes servers with a hostile raw-socket client; `export
//! locust` and `import locust` hand a category's workload to Locust and
//! bring its statistics back.

pub mod chart;
pub mod compare;
pub mod conformance;
pub mod hostile;
pub mod locust;
pub mod machine;
pub mod managed;
pub mod open_model;
pub mod preload;
pub mod probe;
pub mod progress;
mod quote;
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
        /// Open connections; several (16,256) sweep them, each target
        /// measured at every level.
        #[arg(long, value_delimiter = ',', default_value = "16,256")]
        connections: Vec<u32>,
        /// The same as --connections (kept for older scripts).
        #[arg(long, value_delimiter = ',', hide = true)]
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
        /// Worker threads or processes for every framework (`{workers}` in
        /// the registry) [default: the cores the server may use].
        #[arg(long)]
        workers: Option<u32>,
        /// Pin the server's process tree and the load generators to disjoint
        /// CPUs: `server=LIST,load=LIST` (e.g. server=0,load=1).
        #[arg(long, value_parser = machine::parse_pinning)]
        cpus: Option<results::CpuPinning>,
        /// Categories with an open-model (constant arrival rate) phase after
        /// the closed loop: `none`, `all` or comma-separated names.
        #[arg(long, default_value = "basic")]
        open_model: String,
        /// Time per offered rate in the open-model phase.
        #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
        open_duration: Duration,
        /// Offered rates as fractions of each framework's closed-loop maximum
        /// for the endpoint.
        #[arg(long, value_delimiter = ',', default_value = "0.5,0.75,0.9")]
        open_fractions: Vec<f64>,
        /// One rate offered to every framework, req/s.
        #[arg(long, default_value_t = 1000.0)]
        open_rate: f64,
        /// Measure a server someone else started, here or on another
        /// machine (one category; --framework names it), instead of
        /// starting the registry's: verified, then loaded, never restarted.
        #[arg(long)]
        url: Option<String>,
        /// The --url server's process id on this machine: its CPU and memory
        /// are sampled (otherwise they are reported unavailable).
        #[arg(long, requires = "url")]
        pid: Option<u32>,
        /// A ceiling server started beside the --url server, measured in its
        /// place (default: the local ceiling when the target is on this
        /// machine, none otherwise).
        #[arg(long, requires = "url")]
        ceiling_url: Option<String>,
        /// A scaling run: fill each stateful category's store to each of
        /// these sizes in turn (records, e.g. 1000,10000,100000) with its
        /// contract's preload requests, and measure its listing and stats
        /// endpoints at every size.
        #[arg(long, value_delimiter = ',')]
        state: Option<Vec<u64>>,
    },
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
            workers,
            cpus,
            open_model,
            open_duration,
            open_fractions,
            open_rate,
            url,
            pid,
            ceiling_url,
            state,
        } => {
            let mut state = state.unwrap_or_default();
            if state.contains(&0) {
                anyhow::bail!("--state sizes must be at least 1 record");
            }
            state.sort_unstable();
            state.dedup();
            if !state.is_empty() && scenarios {
                anyhow::bail!(
                    "--state measures each category's preload endpoints at every size; --scenarios does not apply"
                );
            }
            if url.is_some() && (category == "all" || category.contains(',')) {
                anyhow::bail!("with --url, --category names the one category the server serves");
            }
            if open_fractions.iter().any(|f| !(*f > 0.0 && *f <= 1.5)) || open_rate <= 0.0 {
                anyhow::bail!("open-model fractions must be in (0, 1.5] and the rate above 0");
            }
            if workers == Some(0) {
                anyhow::bail!("--workers must be at least 1");
            }
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
                connections: sweep.unwrap_or(connections),
                threads: threads.max(1),
                repeat: repeat.max(1),
                endpoints,
                scenarios,
                output,
                startup_timeout,
                max_server_rss: Some(max_server_rss.as_u64()).filter(|&b| b > 0),
                workers,
                cpus,
                open: run::OpenSettings {
                    categories: open_model,
                    duration: open_duration,
                    fractions: open_fractions,
                    common_rate: open_rate,
                },
                external: url.map(|url| run::ExternalTarget {
                    url,
                    pid,
                    ceiling_url,
                }),
                state,
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
        Command::Export(Export::Locust {
            category,
            scenario,
            endpoints,
            output,
        }) => {
            let contract = contract::load_in(contracts, &category)?;
            let provenance = locust::export::Provenance {
                contract_sha256: run::contract_sha256(contracts, &category),
                git: machine::git(),
                generated_at: machine::now(),
            };
            let selection = match &endpoints {
                Some(names) => locust::export::Selection::Endpoints(names),
                None => locust::export::Selection::Scenarios(scenario.as_deref()),
            };
            let text = locust::export::locustfile(&contract, selection, &provenance)?;
            std::fs::write(&output, text)
                .with_context(|| format!("writing {}", output.display()))?;
            println!("locustfile: {}", output.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Import(Import::Locust {
            mut options,
            output,
        }) => {
            contract::load_in(contracts, &options.category)?;
            options.contracts = contracts.to_path_buf();
            let root = registry_root(&default_registry()).unwrap_or_default();
            let results =
                locust::import::results(&options, &locust::import::locust_version(&root))?;
            std::fs::create_dir_all(&output)
                .with_context(|| format!("creating {}", output.display()))?;
            let path = output.join(format!("locust-{}.json", machine::stamp()));
            std::fs::write(&path, serde_json::to_vec_pretty(&results)?)
                .with_context(|| format!("writing {}", path.display()))?;
            println!("results: {}", path.display());
            Ok(ExitCode::SUCCESS)
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
            max_p99_regression,
            raw,
            force,
        } => {
            let a = results::Results::load(&before)?;
            let b = results::Results::load(&after)?;
            if let Some(why) = compare::incomparable(&a, &b) {
                if !force {
                    eprintln!("refused: {why} (--force compares them anyway)");
                    return Ok(ExitCode::from(compare::EXIT_REFUSED));
                }
                println!("note: {why}; compared because of --force");
            }
            let gate = compare::Gate {
                max_regression,
                max_p99_regression,
                raw,
            };
            let comparison = compare::compare(&a, &b, gate);
            print!("{}", compare::table(&comparison, gate));
            if !comparison.problems.is_empty() {
                eprintln!("the gate failed: {} problem(s)", comparison.problems.len());
            }
            Ok(ExitCode::from(comparison.exit_code()))
        }
    }
}
