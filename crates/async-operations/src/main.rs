//! The `async_operations` category server.

use async_operations::UpstreamArgs;
use clap::Parser;
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Benchmark server for the `async_operations` category (default port 8600).
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    serve: server_kit::ServeArgs,
    #[command(flatten)]
    upstream: UpstreamArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let upstream = match cli.upstream.client() {
        Ok(upstream) => upstream,
        Err(e) => {
            eprintln!("async-operations: {e}");
            return ExitCode::FAILURE;
        }
    };
    server_kit::run(
        async_operations::SERVER_NAME,
        async_operations::DEFAULT_PORT,
        &cli.serve,
        || async_operations::router(upstream),
    )
}
