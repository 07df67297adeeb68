//! `runner`: verify (and, later, benchmark) servers against the contracts.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    runner::main(runner::Cli::parse())
}
