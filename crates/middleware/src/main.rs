//! The `middleware` category server.

use clap::Parser;
use middleware::MiddlewareArgs;
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Benchmark server for the `middleware` category (default port 8700).
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    serve: server_kit::ServeArgs,
    #[command(flatten)]
    stacks: MiddlewareArgs,
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    cli.serve
        .max_body_bytes
        .get_or_insert(middleware::MAX_BODY_BYTES);
    let resolved = match cli.stacks.resolve() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("middleware: cannot make the access log's directory: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stacks = match shared::middleware::Stacks::open(resolved.config.clone()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("middleware: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = server_kit::run(
        middleware::SERVER_NAME,
        middleware::DEFAULT_PORT,
        &cli.serve,
        || middleware::router(stacks),
    );
    drop(resolved.temp_dir);
    code
}
