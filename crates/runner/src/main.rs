//! `runner`: verify, probe and benchmark servers against the contracts, and
//! report, compare, export and import results (see `runner::Command`).

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    runner::main(runner::Cli::parse())
}
