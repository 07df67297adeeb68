//! The task queue of the `background_tasks` category: priorities (urgent >
//! high > normal > low, FIFO within one), delayed start, per-task timeouts,
//! retries with exponential backoff, cancellation (at once when waiting,
//! cooperative when running), retry of failed or cancelled tasks, batches
//! with a concurrency cap, bounded capacity, bounded retention of finished
//! records, and statistics. It runs on Tokio (timers and workers) and has
//! no HTTP types; what a task *does* is an [`Executor`] given by the user.

mod index;
pub mod journal;
pub mod model;
pub mod queue;
pub mod request;
pub mod service;
mod stats;
pub mod work;

pub use journal::Journal;
pub use model::{BatchRef, Priority, Status, Task, TaskSpec, TaskType};
pub use queue::{Cancel, Event, Executor, Observer, Queue, QueueError, QueueOptions, TaskInput};
pub use request::{BatchRequest, BatchSpec, TaskRequest};
pub use service::Service;
pub use stats::{Percentiles, QueueStats, Window};
pub use work::Workbench;

#[cfg(test)]
mod tests;
