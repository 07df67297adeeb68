//! The `real_world_scenarios` category server.

use clap::Parser;
use real_world::config::WorldArgs;
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Benchmark server for the `real_world_scenarios` category (default port 8400).
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    serve: server_kit::ServeArgs,
    #[command(flatten)]
    world: WorldArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let app = match cli.world.service() {
        Ok(app) => app,
        Err(e) => {
            eprintln!("real-world: {e}");
            return ExitCode::FAILURE;
        }
    };
    server_kit::run(
        real_world::SERVER_NAME,
        real_world::DEFAULT_PORT,
        &cli.serve,
        || real_world::router(&app),
    )
}
