//! The category's own flags.

use bytesize::ByteSize;
use shared::tasks::request::{Limits, MAX_URL_BYTES};
use std::path::PathBuf;
use std::time::Duration;

/// Flags of the `background_tasks` server (besides the common ones).
#[derive(Debug, Clone, clap::Args)]
pub struct TaskArgs {
    /// Tasks executed at once [default: 4 × cores, so blocking hand-offs
    /// overlap].
    #[arg(long)]
    pub workers: Option<usize>,
    /// Most unfinished tasks; further submits get 429.
    #[arg(long, default_value_t = 10_000)]
    pub capacity: usize,
    /// Finished task records kept; the oldest are dropped (and counted).
    #[arg(long, default_value_t = 10_000)]
    pub retain_finished: usize,
    /// Most payload bytes (as compact JSON) held by unfinished tasks;
    /// further submits get 429.
    #[arg(long, default_value = "64MiB")]
    pub max_queued_payload_bytes: ByteSize,
    /// Largest payload of one task, as compact JSON; larger gets 422.
    #[arg(long, default_value = "64KiB")]
    pub max_payload_bytes: ByteSize,
    /// Longest `url` of a network task, in bytes; longer gets 422.
    #[arg(long, default_value_t = MAX_URL_BYTES)]
    pub max_url_bytes: usize,
    /// Where tasks write files (I/O tasks, outbox, reports) [default: a
    /// temporary directory, removed at exit].
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Journal file: accepted tasks are recorded before the 201 and
    /// unfinished ones resume after a restart [default: memory only].
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// How long running tasks may take to finish at shutdown.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub drain_timeout: Duration,
}

impl TaskArgs {
    /// The queue's options.
    pub fn options(&self) -> shared::tasks::service::Options {
        shared::tasks::service::Options {
            workers: self.workers,
            capacity: self.capacity,
            retain_finished: self.retain_finished,
            max_queued_payload_bytes: bytes(self.max_queued_payload_bytes),
            limits: Limits {
                max_payload_bytes: bytes(self.max_payload_bytes),
                max_url_bytes: self.max_url_bytes,
            },
            journal: self.journal.clone(),
        }
    }
}

fn bytes(size: ByteSize) -> usize {
    usize::try_from(size.as_u64()).unwrap_or(usize::MAX)
}
