//! The suite's command-line runner. `verify` checks a live server against a
//! category's contract and prints a pass/fail table.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
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

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a running server against a category's contract: every endpoint,
    /// negative case and flow. Exits 1 when any check fails.
    Verify {
        /// Category whose contract to check (basic, validation, …).
        #[arg(long)]
        category: String,
        /// Base URL of the server.
        #[arg(long)]
        url: String,
        /// Per-request timeout.
        #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
        timeout: Duration,
        /// Also write the report as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
    },
}

/// Runs the parsed command line; errors are one line on stderr and exit 2.
pub fn main(cli: Cli) -> ExitCode {
    let dir = cli.contracts.unwrap_or_else(contract::contracts_dir);
    match run(&dir, cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(contracts: &std::path::Path, command: Command) -> Result<ExitCode> {
    match command {
        Command::Verify {
            category,
            url,
            timeout,
            json,
        } => {
            let contract = contract::load_in(contracts, &category)?;
            let mut options = contract::VerifyOptions::new(url);
            options.timeout = timeout;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the runtime")?;
            let report = runtime.block_on(contract::verify(&contract, &options));
            print!("{}", report.table());
            if let Some(path) = json {
                std::fs::write(&path, serde_json::to_vec_pretty(&report)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            Ok(if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}
