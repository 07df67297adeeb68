//! Routes of the `file_operations` category: multipart uploads streamed to
//! the shared file store, ranged downloads, chunked streaming, listing,
//! info, delete, stats, and processing on blocking threads.

pub mod config;
pub mod download;
pub mod errors;
pub mod manage;
pub mod processing;
pub mod upload;

use processing::Processor;
use server_kit::{with_state, Router};
use shared::files::{Store, StoreOptions};
use std::sync::Arc;
use std::time::Instant;

/// Port the server listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 8200;

/// Value of the `Server` header.
pub const SERVER_NAME: &str = "feature-bench";

/// Shared state of the routes.
pub struct App {
    /// The file store.
    pub store: Arc<Store>,
    /// The processing gate.
    pub processor: Arc<Processor>,
    /// Largest upload request.
    pub max_request_bytes: u64,
    /// Most files per `/upload/multiple`.
    pub max_files_per_request: usize,
    /// Start time.
    pub started: Instant,
}

impl App {
    /// Opens the store in `dir` with the flags' limits. Must run inside a
    /// Tokio runtime only for processing, not for opening.
    pub fn open(args: &config::FileArgs, dir: &std::path::Path) -> std::io::Result<Arc<Self>> {
        let mut opts = StoreOptions::new(dir);
        opts.fsync = !args.no_fsync;
        opts.max_file_bytes = args.max_file_bytes.as_u64();
        opts.max_stored_bytes = args.max_stored_bytes.as_u64();
        opts.max_stored_files = args.max_stored_files;
        let store = Arc::new(Store::open(opts)?);
        let workers = args.process_workers.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        });
        Ok(Arc::new(Self {
            processor: Arc::new(Processor::new(store.clone(), workers, args.process_queue)),
            store,
            max_request_bytes: args.max_request_bytes.as_u64(),
            max_files_per_request: args.max_files_per_request.max(1),
            started: Instant::now(),
        }))
    }
}

/// The route table of the category.
pub fn router(app: &Arc<App>) -> Router {
    Router::new()
        .get("/health", with_state(app, |a, _| manage::health(a)))
        .get("/stats", with_state(app, |a, _| manage::stats(a)))
        .post("/upload/single", with_state(app, upload::single))
        .post("/upload/multiple", with_state(app, upload::multiple))
        .get("/download/{id}", with_state(app, download::download))
        .get("/stream/{id}", with_state(app, download::stream))
        .get("/files", with_state(app, manage::list))
        .get("/files/{id}/info", with_state(app, manage::info))
        .delete("/files/{id}", with_state(app, manage::delete))
        .post("/process/{id}", with_state(app, processing::process))
}
