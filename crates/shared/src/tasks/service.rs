//! The background_tasks category's endpoints for any server: the queue with
//! its work, seeded fixtures, the optional journal, the request rules
//! (bodies, list filters, ids) and the answers.
//!
//! The queue's workers are Tokio tasks of the runtime [`Service::start`] is
//! called on, and the work itself runs on that runtime's blocking threads.
//! A server whose own runtime is not a good home for them — actix-web runs
//! one single-threaded runtime per HTTP worker — starts the service on a
//! runtime of its own (enter it, call `start`, keep it alive); every other
//! method is plain synchronous code under the queue's lock, or awaits a
//! blocking hand-off, and can be called from any thread or runtime.

use super::journal::Resumed;
use super::queue::MAX_QUEUED_PAYLOAD_BYTES;
use super::request::Limits;
use super::{
    BatchRequest, Journal, Priority, Queue, QueueError, QueueOptions, Status, Task, TaskRequest,
    TaskSpec, TaskType, Workbench,
};
use crate::api::{parse_json, Error, Query};
use crate::{FieldError, ValidationFailure};
use serde::Serialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Largest `limit` of a listing.
pub const MAX_LIMIT: usize = 100;

/// How long running tasks may take to finish at shutdown, by default.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// How the queue is sized and where it keeps what it keeps.
#[derive(Debug, Clone)]
pub struct Options {
    /// Tasks executed at once [default: 4 × cores, so blocking hand-offs
    /// overlap].
    pub workers: Option<usize>,
    /// Most unfinished tasks; further submits get 429.
    pub capacity: usize,
    /// Finished task records kept; the oldest are dropped (and counted).
    pub retain_finished: usize,
    /// Most payload bytes held by unfinished tasks; further submits get
    /// 429.
    pub max_queued_payload_bytes: usize,
    /// Size bounds of one task's payload and URL (422 beyond).
    pub limits: Limits,
    /// Journal file, when accepted tasks must survive a restart.
    pub journal: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            workers: None,
            capacity: 10_000,
            retain_finished: 10_000,
            max_queued_payload_bytes: MAX_QUEUED_PAYLOAD_BYTES,
            limits: Limits::default(),
            journal: None,
        }
    }
}

impl Options {
    /// Room for `records` task records: the capacity for unfinished tasks
    /// and the finished ones retained raised to at least that (a scaling
    /// run measures listings on that many records, not on evictions).
    pub fn with_room(mut self, records: usize) -> Self {
        self.capacity = self.capacity.max(records);
        self.retain_finished = self.retain_finished.max(records);
        self
    }
}

impl From<QueueError> for Error {
    fn from(e: QueueError) -> Self {
        let message = e.to_string();
        match e {
            QueueError::Full { .. } => Self::too_many_requests("queue_full", message),
            QueueError::PayloadBytes { .. } => Self::too_many_requests("queue_bytes_full", message),
            QueueError::NotFound(_) => Self::not_found(message),
            QueueError::AlreadyFinished(..) => Self::conflict("already_finished", message),
            QueueError::NotRetryable(..) => Self::conflict("not_retryable", message),
            QueueError::Closed => Self::unavailable("shutting_down", message),
        }
    }
}

/// The seeded tasks: ids and specs (they run at start like any task, and
/// stay listed: their records are pinned).
pub fn fixtures() -> [(&'static str, TaskSpec); 3] {
    let spec = |task_type, payload: serde_json::Value| TaskSpec {
        task_type,
        priority: Priority::Normal,
        payload,
        delay_seconds: 0,
        max_retries: 0,
        timeout_seconds: 60,
    };
    [
        (
            "test-task-1",
            spec(
                TaskType::Computation,
                serde_json::json!({"iterations": 1000}),
            ),
        ),
        (
            "test-task-2",
            spec(
                TaskType::DataProcessing,
                serde_json::json!({"records": 100}),
            ),
        ),
        (
            "test-task-3",
            spec(
                TaskType::Computation,
                serde_json::json!({"iterations": 10, "fail_times": 1_000_000}),
            ),
        ),
    ]
}

/// What is opened before the server starts (failures end the process).
pub struct Prepared {
    bench: Arc<Workbench>,
    journal: Option<Arc<Journal>>,
    resumed: Vec<Resumed>,
}

/// Opens the workbench in `work_dir` and the journal, if any (blocking).
pub fn prepare(opts: &Options, work_dir: &Path) -> std::io::Result<Prepared> {
    let bench = Workbench::new(work_dir)?;
    let (journal, resumed) = match &opts.journal {
        Some(path) => {
            let (j, resumed) = Journal::open(path)?;
            (Some(Arc::new(j)), resumed)
        }
        None => (None, Vec::new()),
    };
    Ok(Prepared {
        bench,
        journal,
        resumed,
    })
}

/// The category's state.
pub struct Service {
    /// The queue.
    pub queue: Arc<Queue>,
    /// The journal, when durable.
    pub journal: Option<Arc<Journal>>,
    limits: Limits,
    started: Instant,
}

/// The answer of `POST /tasks/batch`.
#[derive(Debug, Serialize)]
pub struct BatchAccepted {
    /// Id of the batch.
    pub batch_id: String,
    /// Tasks accepted.
    pub count: usize,
    /// Whether they run concurrently.
    pub execute_parallel: bool,
    /// Cap of concurrently running tasks.
    pub max_concurrent: usize,
    /// Their records.
    pub tasks: Vec<Task>,
}

/// The answer of `GET /tasks`.
#[derive(Debug, Serialize)]
pub struct Listing {
    /// The page, newest first.
    pub tasks: Vec<Task>,
    /// Tasks matching the filters.
    pub total: usize,
    /// Page size.
    pub limit: usize,
    /// Offset.
    pub offset: usize,
}

fn enum_param<T: serde::de::DeserializeOwned>(
    value: Option<&str>,
    name: &str,
    choices: &str,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let v = value.filter(|v| !v.is_empty())?;
    let parsed = serde_json::from_value(serde_json::Value::String(v.to_owned())).ok();
    if parsed.is_none() {
        errors.push(FieldError::new(
            name,
            "one_of",
            format!("must be one of {choices}"),
        ));
    }
    parsed
}

/// The filters and page of `GET /tasks?status&task_type&priority&limit&offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListParams {
    /// Only tasks in this status.
    pub status: Option<Status>,
    /// Only tasks of this type.
    pub task_type: Option<TaskType>,
    /// Only tasks of this priority.
    pub priority: Option<Priority>,
    /// Page size (1–100, default 20).
    pub limit: usize,
    /// Offset (default 0).
    pub offset: usize,
}

impl ListParams {
    /// Reads and checks the parameters, reporting every bad one.
    pub fn from_query(q: &Query<'_>) -> Result<Self, Error> {
        let limit = q.get::<usize>("limit")?.unwrap_or(20);
        let offset = q.get::<usize>("offset")?.unwrap_or(0);
        let mut errors = Vec::new();
        let status = enum_param(
            q.str("status"),
            "status",
            "pending, running, completed, failed, cancelled, retrying",
            &mut errors,
        );
        let task_type = enum_param(
            q.str("task_type"),
            "task_type",
            "computation, io_operation, network_request, data_processing, email_sending, report_generation",
            &mut errors,
        );
        let priority = enum_param(
            q.str("priority"),
            "priority",
            "low, normal, high, urgent",
            &mut errors,
        );
        if !(1..=MAX_LIMIT).contains(&limit) {
            errors.push(FieldError::new(
                "limit",
                "range",
                format!("must be from 1 to {MAX_LIMIT}"),
            ));
        }
        ValidationFailure::check(errors)?;
        Ok(Self {
            status,
            task_type,
            priority,
            limit,
            offset,
        })
    }
}

fn journal_failed(e: std::io::Error) -> Error {
    Error::internal(format!("the journal could not record the task: {e}"))
}

impl Service {
    /// Starts the queue on the current Tokio runtime, resumes the journal's
    /// unfinished tasks and seeds the fixtures. `addr` is where network
    /// tasks' `/path` URLs go (the server's own address).
    pub fn start(prepared: Prepared, opts: &Options, addr: SocketAddr) -> Arc<Self> {
        let Prepared {
            bench,
            journal,
            resumed,
        } = prepared;
        bench.set_own_addr(addr);
        let observer = journal.as_ref().map(Journal::observer);
        let queue_opts = QueueOptions {
            workers: opts
                .workers
                .unwrap_or_else(|| 4 * std::thread::available_parallelism().map_or(2, usize::from)),
            // Room for the fixtures and what the journal brings back.
            capacity: opts.capacity.max(resumed.len() + fixtures().len()),
            retain_finished: opts.retain_finished,
            max_queued_payload_bytes: opts.max_queued_payload_bytes,
            ..QueueOptions::default()
        };
        let queue = Queue::start_with(queue_opts, bench.executor(), observer);
        bench.attach(&queue);
        if !resumed.is_empty() {
            tracing::info!(
                "resuming {} unfinished task(s) from the journal",
                resumed.len()
            );
        }
        for Resumed { id, spec, batch } in resumed {
            if let Err(e) = queue.restore(&id, spec, batch) {
                tracing::warn!("cannot resume {id}: {e}");
            }
        }
        for (id, spec) in fixtures() {
            match queue.submit_as(id, spec) {
                Ok(_) => queue.pin(id),
                Err(e) => tracing::warn!("cannot seed {id}: {e}"),
            }
        }
        Arc::new(Self {
            queue,
            journal,
            limits: opts.limits,
            started: Instant::now(),
        })
    }

    /// Waits until the journal has synced the lines of `ids` (appended as
    /// the queue accepted them, before they could run); a failed sync takes
    /// them back.
    async fn durable<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Result<(), Error> {
        let Some(j) = &self.journal else {
            return Ok(());
        };
        if let Err(e) = j.sync().await {
            for id in ids {
                let _ = self.queue.cancel(id);
            }
            return Err(journal_failed(e));
        }
        Ok(())
    }

    /// `POST /tasks`: the JSON body validated and queued (the 201's record).
    pub async fn submit(&self, body: &[u8]) -> Result<Task, Error> {
        let request: TaskRequest = parse_json(body)?;
        let spec = request.validate_with(&self.limits)?;
        let task = self.queue.submit(spec)?;
        self.durable([task.id.as_str()]).await?;
        Ok(task)
    }

    /// `POST /tasks/batch`: all the tasks queued, or none.
    pub async fn submit_batch(&self, body: &[u8]) -> Result<BatchAccepted, Error> {
        let request: BatchRequest = parse_json(body)?;
        let batch = request.validate_with(&self.limits)?;
        let (batch_id, tasks) =
            self.queue
                .submit_batch(batch.tasks, batch.parallel, batch.max_concurrent)?;
        self.durable(tasks.iter().map(|t| t.id.as_str())).await?;
        Ok(BatchAccepted {
            batch_id,
            count: tasks.len(),
            execute_parallel: batch.parallel,
            max_concurrent: if batch.parallel {
                batch.max_concurrent
            } else {
                1
            },
            tasks,
        })
    }

    /// `GET /tasks/{id}`.
    pub fn get(&self, id: &str) -> Result<Task, Error> {
        self.queue
            .get(id)
            .ok_or_else(|| QueueError::NotFound(id.to_owned()).into())
    }

    /// `DELETE /tasks/{id}`: cancels; 409 when already finished.
    pub fn cancel(&self, id: &str) -> Result<Task, Error> {
        Ok(self.queue.cancel(id)?)
    }

    /// `POST /tasks/{id}/retry`: 409 unless failed or cancelled; journaled
    /// (synced) before it is answered.
    pub async fn retry(&self, id: &str) -> Result<Task, Error> {
        let task = self.queue.retry(id)?;
        self.durable([id]).await?;
        Ok(task)
    }

    /// `GET /tasks?status&task_type&priority&limit&offset`: newest first.
    pub fn list(&self, q: &Query<'_>) -> Result<Listing, Error> {
        let p = ListParams::from_query(q)?;
        let (total, tasks) = self
            .queue
            .list(p.status, p.task_type, p.priority, p.limit, p.offset);
        Ok(Listing {
            tasks,
            total,
            limit: p.limit,
            offset: p.offset,
        })
    }

    /// `GET /stats`.
    pub fn stats(&self) -> impl Serialize {
        serde_json::json!({
            "queue": self.queue.stats(),
            "durable": self.journal.is_some(),
            "uptime_seconds": self.started.elapsed().as_secs(),
        })
    }

    /// `GET /health`: says whether accepted tasks survive a restart.
    pub fn health(&self) -> impl Serialize {
        serde_json::json!({
            "status": "ok",
            "category": "background_tasks",
            "durable": self.journal.is_some(),
            "storage": if self.journal.is_some() { "journal" } else { "memory only" },
            "active_tasks": self.queue.active(),
            "uptime_seconds": self.started.elapsed().as_secs(),
        })
    }

    /// Stops taking work, lets running tasks finish within `grace`, and
    /// says how many tasks were left (kept in the journal when there is
    /// one).
    pub async fn shutdown(&self, grace: Duration) -> String {
        let waiting = self.queue.close();
        let still_running = self.queue.drain(grace).await;
        let left = waiting + still_running;
        if let Some(j) = &self.journal {
            if let Err(e) = j.sync().await {
                tracing::warn!("journal: {e}");
            }
        }
        match &self.journal {
            Some(j) => format!(
                "stopped with {left} unfinished task(s), kept in {}",
                j.path().display()
            ),
            None => format!("stopped with {left} unfinished task(s), dropped (no journal)"),
        }
    }
}
