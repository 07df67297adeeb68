//! `axum-peer CATEGORY [--host H] [--port N] [--threads N] [--room N]`: the suite's
//! categories served by axum.

use axum_peer::Category;
use clap::Parser;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Benchmark server of one category in axum.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Category to serve.
    category: Category,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on; 0 picks a free one [default: the category's].
    #[arg(long)]
    port: Option<u16>,
    /// Tokio worker threads [default: number of cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Records the store may hold: the task queue's capacity and retained
    /// finished tasks, the file quota, raised to at least this (for scaling
    /// runs) [default: the reference server's bounds].
    #[arg(long, default_value_t = 0)]
    room: usize,
    /// `database` only: `sqlite://PATH` or `postgres://USER@HOST:PORT/DB`
    /// [default: a new SQLite file in a fresh temporary directory].
    #[arg(long, env = "BENCH_DATABASE_URL")]
    database: Option<String>,
    /// `async_operations` only: the HTTP server `/async/upstream` calls.
    #[arg(long, env = "BENCH_UPSTREAM_URL", default_value = shared::asyncops::DEFAULT_UPSTREAM)]
    upstream: String,
    /// `middleware` only: the stacks' settings.
    #[command(flatten)]
    stacks: shared::middleware::MiddlewareArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = cli.threads {
        builder.worker_threads(n.max(1));
    }
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("axum-peer: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let port = cli.port.unwrap_or(cli.category.default_port());
    // The middleware category's access log defaults to a temporary
    // directory, removed when the server stops.
    let stacks = match cli.category {
        axum_peer::Category::Middleware => match cli.stacks.resolve() {
            Ok(r) => Some(r),
            Err(e) => {
                eprintln!("axum-peer: cannot make the access log's directory: {e}");
                return ExitCode::FAILURE;
            }
        },
        _ => None,
    };
    let addr = SocketAddr::new(cli.host, port);
    match axum_peer::run(
        cli.category,
        addr,
        runtime,
        cli.room,
        cli.database.as_deref(),
        &cli.upstream,
        stacks.as_ref().map(|r| r.config.clone()),
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("axum-peer: {e}");
            ExitCode::FAILURE
        }
    }
}
