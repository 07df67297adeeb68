//! The suite's command-line runner: `verify` checks a live server against a
//! category's contract; `run` benchmarks frameworks from the registry with
//! wrk and writes a results file; `report` turns results into Markdown and
//! charts; `compare` diffs two results files with a regression gate;
//! `hostile` probes servers with a hostile raw-socket client; `export
//! locust` and `import locust` hand a category's workload to Locust and
//! bring its statistics back.

pub mod chart;
mod cli;
pub mod compare;
pub mod conformance;
pub mod database;
pub mod hostile;
pub mod locust;
pub mod machine;
pub mod managed;
pub mod open_model;
pub mod order;
pub mod precision;
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
pub mod upstream;
pub mod wrk;

pub use cli::{Cli, Command, Export, Import, RunArgs, Servers};

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Runs the parsed command line; errors are one line on stderr and exit 2.
pub fn main(cli: Cli) -> ExitCode {
    // 1,000-connection targets need the descriptors, in wrk and in the
    // servers it starts (they inherit the limit).
    machine::raise_open_files();
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
pub(crate) fn default_registry() -> PathBuf {
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
pub(crate) fn registry_root(registry: &Path) -> Result<PathBuf> {
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

/// One subcommand, run.
fn dispatch(contracts: &Path, command: Command) -> Result<ExitCode> {
    match command {
        Command::Verify {
            servers,
            timeout,
            json,
        } => verify(contracts, servers, timeout, json),
        Command::Hostile { servers, slow_wait } => probe_hostile(contracts, servers, slow_wait),
        Command::Run(args) => benchmark(args.options(contracts)?),
        Command::Export(Export::Locust {
            category,
            scenario,
            endpoints,
            output,
        }) => export_locust(contracts, &category, scenario, endpoints, &output),
        Command::Import(Import::Locust { options, output }) => {
            import_locust(contracts, options, &output)
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
        } => compare_files(
            &before,
            &after,
            compare::Gate {
                max_regression,
                max_p99_regression,
                raw,
            },
            force,
        ),
    }
}

/// Success when `passed`, else failure (exit 1).
fn exit(passed: bool) -> ExitCode {
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `runner verify`: a running server, or the registry's started in turn
/// and summed up in a matrix.
fn verify(
    contracts: &Path,
    servers: Servers,
    timeout: Duration,
    json: Option<PathBuf>,
) -> Result<ExitCode> {
    match (servers.url.clone(), servers.framework.clone()) {
        (Some(url), _) => verify_url(contracts, &servers.category, url, timeout, json.as_deref()),
        (None, Some(framework)) => {
            let opts = servers.started(framework, contracts, "verify", timeout)?;
            let matrix = conformance::verify_frameworks(&opts)?;
            print!("{}", matrix.table());
            if let Some(path) = json {
                std::fs::write(&path, serde_json::to_vec_pretty(&matrix)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            Ok(exit(matrix.passed()))
        }
        (None, None) => anyhow::bail!("give --url or --framework"),
    }
}

/// `runner hostile`: the hostile client against a running server or the
/// registry's.
fn probe_hostile(contracts: &Path, servers: Servers, slow_wait: Duration) -> Result<ExitCode> {
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
            let opts = servers.started(framework, contracts, "hostile", options.answer_wait)?;
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
    Ok(exit(passed))
}

/// `runner run`: the benchmark, its results file and its problems.
fn benchmark(options: run::RunOptions) -> Result<ExitCode> {
    let outcome = run::run(&options)?;
    println!("results: {}", outcome.path.display());
    for p in &outcome.problems {
        eprintln!("failed: {p}");
    }
    Ok(exit(outcome.problems.is_empty()))
}

/// `runner export locust`: a locustfile from a category's contract.
fn export_locust(
    contracts: &Path,
    category: &str,
    scenario: Option<String>,
    endpoints: Option<Vec<String>>,
    output: &Path,
) -> Result<ExitCode> {
    let contract = contract::load_in(contracts, category)?;
    let provenance = locust::export::Provenance {
        contract_sha256: run::contract_sha256(contracts, category),
        git: machine::git(),
        generated_at: machine::now(),
    };
    let selection = match &endpoints {
        Some(names) => locust::export::Selection::Endpoints(names),
        None => locust::export::Selection::Scenarios(scenario.as_deref()),
    };
    let text = locust::export::locustfile(&contract, selection, &provenance)?;
    std::fs::write(output, text).with_context(|| format!("writing {}", output.display()))?;
    println!("locustfile: {}", output.display());
    Ok(ExitCode::SUCCESS)
}

/// `runner import locust`: Locust's statistics as a results file.
fn import_locust(
    contracts: &Path,
    mut options: locust::import::ImportOptions,
    output: &Path,
) -> Result<ExitCode> {
    contract::load_in(contracts, &options.category)?;
    options.contracts = contracts.to_path_buf();
    let root = registry_root(&default_registry()).unwrap_or_default();
    let results = locust::import::results(&options, &locust::import::locust_version(&root))?;
    std::fs::create_dir_all(output).with_context(|| format!("creating {}", output.display()))?;
    let path = output.join(format!("locust-{}.json", machine::stamp()));
    std::fs::write(&path, serde_json::to_vec_pretty(&results)?)
        .with_context(|| format!("writing {}", path.display()))?;
    println!("results: {}", path.display());
    Ok(ExitCode::SUCCESS)
}

/// `runner compare`: the regression gate between two results files.
fn compare_files(
    before: &Path,
    after: &Path,
    gate: compare::Gate,
    force: bool,
) -> Result<ExitCode> {
    let a = results::Results::load(before)?;
    let b = results::Results::load(after)?;
    if let Some(why) = compare::incomparable(&a, &b) {
        if !force {
            eprintln!("refused: {why} (--force compares them anyway)");
            return Ok(ExitCode::from(compare::EXIT_REFUSED));
        }
        println!("note: {why}; compared because of --force");
    }
    let comparison = compare::compare(&a, &b, gate);
    print!("{}", compare::table(&comparison, gate));
    if !comparison.problems.is_empty() {
        eprintln!("the gate failed: {} problem(s)", comparison.problems.len());
    }
    Ok(ExitCode::from(comparison.exit_code()))
}
