//! The `database` category server.

use clap::Parser;
use database::DatabaseArgs;
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Benchmark server for the `database` category (default port 8500).
#[derive(Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: server_kit::ServeArgs,
    #[command(flatten)]
    database: DatabaseArgs,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Drops every table of `--database` and seeds it again, then exits
    /// (a fresh database for each framework of a run).
    Seed {
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Seed { database }) = &cli.command {
        if database.database.is_none() {
            eprintln!("database seed: --database (or BENCH_DATABASE_URL) names the database");
            return ExitCode::FAILURE;
        }
        return match database.service(true) {
            Ok(service) => {
                println!("seeded {}", service.database().engine());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("database seed: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let service = match cli.database.service(false) {
        Ok(service) => service,
        Err(e) => {
            eprintln!("database: {e}");
            return ExitCode::FAILURE;
        }
    };
    server_kit::run(
        database::SERVER_NAME,
        database::DEFAULT_PORT,
        &cli.serve,
        || database::router(&service),
    )
}
