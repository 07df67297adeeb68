//! What a task is: its kind, priority, limits and lifecycle record.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Scheduling priority; higher runs first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Runs last.
    Low,
    /// The default.
    Normal,
    /// Before normal.
    High,
    /// First.
    Urgent,
}

impl Priority {
    /// All priorities, lowest first.
    pub const ALL: [Priority; 4] = [Self::Low, Self::Normal, Self::High, Self::Urgent];
}

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for a worker (or for its delay).
    Pending,
    /// Being executed.
    Running,
    /// Finished with a result.
    Completed,
    /// Finished with an error, retries used up.
    Failed,
    /// Cancelled before or while running.
    Cancelled,
    /// Failed an attempt; waiting for its backoff before the next.
    Retrying,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(super::stats::status_name(*self))
    }
}

impl Status {
    /// All statuses.
    pub const ALL: [Status; 6] = [
        Self::Pending,
        Self::Running,
        Self::Completed,
        Self::Failed,
        Self::Cancelled,
        Self::Retrying,
    ];

    /// Whether the task is done for good (until retried by hand).
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

/// Kinds of work a server offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskType {
    /// A deterministic CPU loop.
    Computation,
    /// Write, sync, read back and delete a file.
    IoOperation,
    /// An HTTP GET to loopback.
    NetworkRequest,
    /// Generate and aggregate rows.
    DataProcessing,
    /// Render a message into an outbox.
    EmailSending,
    /// Write a report of the queue's statistics.
    ReportGeneration,
}

/// A task as submitted, already validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSpec {
    /// Kind of work.
    pub task_type: TaskType,
    /// Priority.
    pub priority: Priority,
    /// Input of the work.
    pub payload: Value,
    /// Seconds to wait before it may start.
    pub delay_seconds: u64,
    /// Retries after a failed attempt.
    pub max_retries: u32,
    /// Seconds an attempt may take before it fails with a timeout.
    pub timeout_seconds: u64,
}

/// The lifecycle record of a task, as shown to clients.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    /// Id.
    pub id: String,
    /// Kind of work.
    pub task_type: TaskType,
    /// Priority.
    pub priority: Priority,
    /// Input.
    pub payload: Value,
    /// Current status.
    pub status: Status,
    /// Submission time (RFC 3339).
    pub created_at: String,
    /// Start of the latest attempt.
    pub started_at: Option<String>,
    /// When it finished.
    pub completed_at: Option<String>,
    /// 0 until it finishes, then 1.
    pub progress: f64,
    /// The result, when completed.
    pub result: Option<Value>,
    /// The last error.
    pub error: Option<String>,
    /// Automatic retries made in the current run of the task.
    pub retry_count: u32,
    /// Attempts made in all, including manual retries.
    pub attempts: u32,
    /// Retry limit.
    pub max_retries: u32,
    /// Attempt time limit.
    pub timeout_seconds: u64,
    /// Start delay.
    pub delay_seconds: u64,
    /// Whether cancellation was asked while it ran.
    pub cancel_requested: bool,
    /// The batch it came in, if any.
    pub batch_id: Option<String>,
}

/// A batch as submitted: its id and how its tasks may run (kept with each
/// of its tasks, journaled, and brought back with them after a restart).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRef {
    /// Id of the batch.
    pub id: String,
    /// Concurrently (up to `max_concurrent`) or one by one in order.
    pub parallel: bool,
    /// Cap of concurrently running tasks when parallel.
    pub max_concurrent: usize,
}

impl BatchRef {
    /// Tasks of the batch that may run at once.
    pub fn limit(&self) -> usize {
        if self.parallel {
            self.max_concurrent.max(1)
        } else {
            1
        }
    }
}

/// The size of a payload as compact JSON, which is what task payloads are
/// bounded and accounted by.
pub fn payload_bytes(payload: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing a `Value` into a sink that never fails cannot fail.
    let _ = serde_json::to_writer(&mut count, payload);
    count.0
}
