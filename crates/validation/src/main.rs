//! The `validation` category server.

use clap::Parser;
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Benchmark server for the `validation` category (default port 8100).
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    serve: server_kit::ServeArgs,
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    // Payloads carry 1 MB strings; the contract's limit is 2 MiB.
    cli.serve
        .max_body_bytes
        .get_or_insert(validation::MAX_BODY_BYTES);
    server_kit::run(
        validation::SERVER_NAME,
        validation::DEFAULT_PORT,
        &cli.serve,
        validation::router,
    )
}
