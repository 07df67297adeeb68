//! The `file_operations` category server.

use clap::Parser;
use file_operations::config::{FileArgs, Storage};
use std::process::ExitCode;

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Benchmark server for the `file_operations` category (default port 8200).
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    serve: server_kit::ServeArgs,
    #[command(flatten)]
    files: FileArgs,
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    // Oversized uploads are drained up to a multiple of this before the 413.
    cli.serve
        .max_body_bytes
        .get_or_insert(usize::try_from(cli.files.max_request_bytes.as_u64()).unwrap_or(usize::MAX));
    let storage = match Storage::from_args(&cli.files) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("file-operations: cannot create a storage directory: {e}");
            return ExitCode::FAILURE;
        }
    };
    let app = match shared::files::Service::open(storage.path(), &cli.files.limits()) {
        Ok(app) => app,
        Err(e) => {
            eprintln!(
                "file-operations: cannot open the store in {}: {e}",
                storage.path().display()
            );
            return ExitCode::FAILURE;
        }
    };
    let code = server_kit::run(
        file_operations::SERVER_NAME,
        file_operations::DEFAULT_PORT,
        &cli.serve,
        || file_operations::router(&app),
    );
    // A temporary storage directory goes away with the server.
    drop(app);
    drop(storage);
    code
}
