//! The `basic` category server.

use clap::Parser;
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Benchmark server for the `basic` category (default port 8000).
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    serve: server_kit::ServeArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    server_kit::run(
        basic::SERVER_NAME,
        basic::DEFAULT_PORT,
        &cli.serve,
        basic::router,
    )
}
