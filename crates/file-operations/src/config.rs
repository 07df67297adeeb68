//! The category's own flags and the storage directory they name.

use bytesize::ByteSize;
use std::path::PathBuf;

/// Flags of the `file_operations` server (besides the common ones).
#[derive(Debug, Clone, clap::Args)]
pub struct FileArgs {
    /// Storage directory, kept across restarts [default: a fresh temporary
    /// directory, removed at exit].
    #[arg(long)]
    pub storage_dir: Option<PathBuf>,
    /// Largest accepted file (`128MiB`, `10MB`, `4096`).
    #[arg(long, default_value = "128MiB")]
    pub max_file_bytes: ByteSize,
    /// Largest accepted upload request (all its parts).
    #[arg(long, default_value = "256MiB")]
    pub max_request_bytes: ByteSize,
    /// Most files in one `/upload/multiple` request.
    #[arg(long, default_value_t = 20)]
    pub max_files_per_request: usize,
    /// Quota of uploaded and derived bytes; the oldest are evicted past it.
    #[arg(long, default_value = "4GiB")]
    pub max_stored_bytes: ByteSize,
    /// Quota of uploaded and derived files; the oldest are evicted past it.
    #[arg(long, default_value_t = 100_000)]
    pub max_stored_files: usize,
    /// Do not fsync files and directories before answering (faster, not
    /// crash-safe; the contract expects durable uploads).
    #[arg(long)]
    pub no_fsync: bool,
    /// Threads processing files at once [default: number of cores].
    #[arg(long)]
    pub process_workers: Option<usize>,
    /// Processing jobs allowed to wait; beyond it requests get 503.
    #[arg(long, default_value_t = 256)]
    pub process_queue: usize,
}

/// The storage directory: the one given, or a temporary one that is
/// removed when this value is dropped.
pub enum Storage {
    /// Kept across restarts.
    Kept(PathBuf),
    /// Removed at exit.
    Temporary(tempfile::TempDir),
}

impl Storage {
    /// The directory named by `--storage-dir`, or a new temporary one.
    pub fn from_args(args: &FileArgs) -> std::io::Result<Self> {
        match &args.storage_dir {
            Some(dir) => Ok(Self::Kept(dir.clone())),
            None => Ok(Self::Temporary(
                tempfile::Builder::new()
                    .prefix("file-operations-")
                    .tempdir()?,
            )),
        }
    }

    /// Its path.
    pub fn path(&self) -> &std::path::Path {
        match self {
            Self::Kept(p) => p,
            Self::Temporary(t) => t.path(),
        }
    }
}

impl FileArgs {
    /// The store's and the processing gate's limits.
    pub fn limits(&self) -> shared::files::service::Limits {
        shared::files::service::Limits {
            max_file_bytes: self.max_file_bytes.as_u64(),
            max_request_bytes: self.max_request_bytes.as_u64(),
            max_files_per_request: self.max_files_per_request,
            max_stored_bytes: self.max_stored_bytes.as_u64(),
            max_stored_files: self.max_stored_files,
            fsync: !self.no_fsync,
            process_workers: self.process_workers,
            process_queue: self.process_queue,
        }
    }
}
