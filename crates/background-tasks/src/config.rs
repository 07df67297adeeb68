//! The category's own flags.

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
            journal: self.journal.clone(),
        }
    }
}
