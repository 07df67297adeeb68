//! The `background_tasks` category server.

use background_tasks::config::TaskArgs;
use clap::Parser;
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Benchmark server for the `background_tasks` category (default port 8300).
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    serve: server_kit::ServeArgs,
    #[command(flatten)]
    tasks: TaskArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let temp;
    let work_dir = match &cli.tasks.work_dir {
        Some(dir) => dir.clone(),
        None => match tempfile::Builder::new()
            .prefix("background-tasks-")
            .tempdir()
        {
            Ok(t) => {
                temp = t;
                temp.path().to_path_buf()
            }
            Err(e) => {
                eprintln!("background-tasks: cannot create a work directory: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let options = cli.tasks.options();
    let prepared = match shared::tasks::service::prepare(&options, &work_dir) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("background-tasks: cannot open the journal or work directory: {e}");
            return ExitCode::FAILURE;
        }
    };
    let grace = cli.tasks.drain_timeout;
    server_kit::run_with(
        background_tasks::SERVER_NAME,
        background_tasks::DEFAULT_PORT,
        &cli.serve,
        |addr| {
            let service = shared::tasks::Service::start(prepared, &options, addr);
            let router = background_tasks::router(&service);
            (router, async move {
                eprintln!("background-tasks: {}", service.shutdown(grace).await);
            })
        },
    )
}
