//! The queue itself: one lock over the task table, a priority heap of ready
//! tasks, a timer map of delayed and backing-off ones, and a pool of worker
//! tasks that take the highest-priority ready task, run it with its timeout,
//! and record the outcome. A batch has at most its cap of tasks running or
//! in the heap; its other ready tasks wait in the batch's own heap, so a
//! saturated batch costs other picks nothing.

use super::index::{Filter, TaskIndex};
use super::model::{payload_bytes, BatchRef, Priority, Status, Task, TaskSpec, TaskType};
use super::stats::{priority_name, status_name, QueueStats, Window};
use crate::sync::lock;
use serde_json::Value;
use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Sizes and timings of a queue.
#[derive(Debug, Clone)]
pub struct QueueOptions {
    /// Tasks executed at once.
    pub workers: usize,
    /// Most unfinished tasks; submitting more is refused.
    pub capacity: usize,
    /// Finished records kept; older ones are dropped (and counted).
    pub retain_finished: usize,
    /// Backoff before the first retry; doubled for each further one.
    pub backoff_base: Duration,
    /// Longest backoff.
    pub backoff_max: Duration,
    /// Most bytes of payload (as compact JSON) held by unfinished tasks;
    /// submitting more is refused.
    pub max_queued_payload_bytes: usize,
}

/// Default of [`QueueOptions::max_queued_payload_bytes`]: 64 MiB.
pub const MAX_QUEUED_PAYLOAD_BYTES: usize = 64 * 1024 * 1024;

impl Default for QueueOptions {
    fn default() -> Self {
        Self {
            workers: std::thread::available_parallelism().map_or(2, usize::from),
            capacity: 10_000,
            retain_finished: 10_000,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            max_queued_payload_bytes: MAX_QUEUED_PAYLOAD_BYTES,
        }
    }
}

/// A task's cancellation flag, for executors to check while they work:
/// set when a client cancels the task, or when the attempt's time is up
/// (its future is dropped then, but blocking work it started runs on until
/// it looks at the flag).
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    /// Asked by a client, for the task's current life (a manual retry
    /// starts a new one).
    asked: Arc<AtomicBool>,
    /// The attempt's time is up.
    expired: Arc<AtomicBool>,
}

impl Cancel {
    /// Whether the task should stop.
    pub fn is_cancelled(&self) -> bool {
        self.asked.load(AtomicOrdering::Relaxed) || self.expired.load(AtomicOrdering::Relaxed)
    }

    fn cancel(&self) {
        self.asked.store(true, AtomicOrdering::Relaxed);
    }

    /// Whether a client cancelled the task (a timeout is not a cancel).
    fn asked(&self) -> bool {
        self.asked.load(AtomicOrdering::Relaxed)
    }

    /// The flag of one attempt: cancelled with its task, expired on its
    /// own, so a timed-out attempt leaves the next one's flag clear.
    fn for_attempt(&self) -> Self {
        Self {
            asked: self.asked.clone(),
            expired: Arc::default(),
        }
    }

    fn expire(&self) {
        self.expired.store(true, AtomicOrdering::Relaxed);
    }
}

/// What an executor gets for one attempt.
#[derive(Debug, Clone)]
pub struct TaskInput {
    /// Task id.
    pub id: String,
    /// Kind of work.
    pub task_type: TaskType,
    /// Its input.
    pub payload: Value,
    /// Attempts made before this one (0 for the first), manual retries
    /// included.
    pub attempt: u32,
}

/// The future an executor returns.
pub type Work = Pin<Box<dyn Future<Output = Result<Value, String>> + Send>>;

/// Does the work of tasks. CPU-heavy work belongs on a blocking pool.
pub trait Executor: Send + Sync + 'static {
    /// Runs one attempt; `Err` is a failure (retried while retries last).
    fn execute(&self, input: TaskInput, cancel: Cancel) -> Work;
}

impl<F> Executor for F
where
    F: Fn(TaskInput, Cancel) -> Work + Send + Sync + 'static,
{
    fn execute(&self, input: TaskInput, cancel: Cancel) -> Work {
        self(input, cancel)
    }
}

/// Why a queue operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// The queue holds as many unfinished tasks as it may.
    #[error("the queue is full ({capacity} unfinished tasks)")]
    Full {
        /// The capacity.
        capacity: usize,
    },
    /// The unfinished tasks' payloads would take more bytes than allowed.
    #[error("the queued payloads would exceed {limit} bytes")]
    PayloadBytes {
        /// The budget, in bytes.
        limit: usize,
    },
    /// No task with that id (or its record was dropped).
    #[error("no task with id {0:?}")]
    NotFound(String),
    /// Cancel of a task that already finished.
    #[error("task {0:?} already finished ({1})")]
    AlreadyFinished(String, Status),
    /// Retry of a task that is not failed or cancelled.
    #[error("task {0:?} is {1}; only failed or cancelled tasks can be retried")]
    NotRetryable(String, Status),
    /// The queue is shutting down.
    #[error("the queue is shutting down")]
    Closed,
}

/// Where a task waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Nowhere,
    /// In the ready heap.
    Ready,
    /// Ready, in its batch's heap until the batch has a free slot.
    Held,
    Timed,
}

struct Entry {
    task: Task,
    cancel: Cancel,
    /// Changes whenever the task is queued again; stale heap and timer
    /// entries carry an old one.
    seq: u64,
    slot: Slot,
    created_seq: u64,
    ready_at: Instant,
    timeout: Duration,
    /// Never dropped by retention (seeded fixtures).
    pinned: bool,
    /// Payload size, counted against the byte budget while unfinished.
    bytes: usize,
    /// The batch it belongs to.
    batch: Option<Arc<BatchRef>>,
}

#[derive(PartialEq, Eq)]
struct Ready {
    priority: Priority,
    seq: Reverse<u64>,
    id: String,
}

impl Ord for Ready {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.priority, self.seq).cmp(&(other.priority, other.seq))
    }
}

impl PartialOrd for Ready {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A batch with unfinished tasks.
struct Group {
    batch: Arc<BatchRef>,
    /// Tasks running or in the ready heap (at most the batch's limit).
    admitted: usize,
    /// Its other ready tasks, best first.
    held: BinaryHeap<Ready>,
    /// Its tasks not finished; the group goes when none are left.
    unfinished: usize,
}

#[derive(Default)]
struct Inner {
    next_seq: u64,
    tasks: HashMap<String, Entry>,
    by_creation: BTreeMap<u64, String>,
    ready: BinaryHeap<Ready>,
    timed: BTreeMap<(Instant, u64), String>,
    depth: [usize; 4],
    by_status: HashMap<Status, usize>,
    /// Creation numbers by status × type × priority, for listings.
    index: TaskIndex,
    finished_order: VecDeque<(String, u64)>,
    groups: HashMap<String, Group>,
    /// Payload bytes of unfinished tasks.
    queued_bytes: usize,
    submitted: u64,
    rejected: u64,
    finished: u64,
    evicted: u64,
    wait: Window,
    run: Window,
    closed: bool,
    /// Heap entries looked at while picking (a test probe).
    examined: u64,
}

/// What happened to a task, as an [`Observer`] is told.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// Accepted by a submit, before it can run.
    Accepted {
        /// Its record.
        task: &'a Task,
        /// Its batch.
        batch: Option<&'a BatchRef>,
    },
    /// Queued again by a manual retry, before it can run.
    Requeued {
        /// Its record.
        task: &'a Task,
        /// Its batch.
        batch: Option<&'a BatchRef>,
    },
    /// Finished (completed, failed or cancelled).
    Finished(&'a Task),
}

/// Told (under the queue's lock, so in the order things happen; keep it
/// short) of every accepted, requeued and finished task; a journal records
/// them. Tasks brought back by [`Queue::restore`] or seeded by
/// [`Queue::submit_as`] are not told.
pub type Observer = Box<dyn Fn(Event<'_>) + Send + Sync>;

/// The queue. Start it with [`Queue::start`] inside a Tokio runtime.
pub struct Queue {
    opts: QueueOptions,
    observer: Option<Observer>,
    inner: Mutex<Inner>,
    work: Notify,
    idle: Notify,
    executor: Arc<dyn Executor>,
    started: Instant,
}

struct Job {
    id: String,
    input: TaskInput,
    cancel: Cancel,
    timeout: Duration,
    batch: Option<String>,
}

/// How a task comes in: fresh ones are checked against the limits and
/// told to the observer; seeded ones are checked only; restored ones
/// neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admission {
    Fresh,
    Seeded,
    Restored,
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn task_id() -> String {
    use rand::Rng;
    format!("task-{:016x}", rand::rng().random::<u64>())
}

impl Inner {
    /// Records with status `s`.
    fn with_status(&self, s: Status) -> usize {
        self.by_status.get(&s).copied().unwrap_or(0)
    }

    /// Unfinished tasks (what counts against the capacity).
    fn active(&self) -> usize {
        self.with_status(Status::Pending)
            + self.with_status(Status::Running)
            + self.with_status(Status::Retrying)
    }

    fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// Counts and files `id` as having gone from `from` (`None`: new) to
    /// `to`.
    fn count(&mut self, id: &str, from: Option<Status>, to: Status) {
        if let Some(from) = from {
            if let Some(n) = self.by_status.get_mut(&from) {
                *n = n.saturating_sub(1);
            }
        }
        *self.by_status.entry(to).or_default() += 1;
        if let Some(e) = self.tasks.get(id) {
            let (kind, priority, seq) = (e.task.task_type, e.task.priority, e.created_seq);
            match from {
                Some(from) => self
                    .index
                    .refile((from, kind, priority), (to, kind, priority), seq),
                None => self.index.insert((to, kind, priority), seq),
            }
        }
    }

    /// Makes `id` ready: into the ready heap, or into its batch's heap when
    /// the batch has no free slot.
    fn push_ready(&mut self, id: &str, now: Instant) {
        let seq = self.seq();
        let Some(e) = self.tasks.get_mut(id) else {
            return;
        };
        e.seq = seq;
        e.ready_at = now;
        let priority = e.task.priority;
        self.depth[priority as usize] += 1;
        let ready = Ready {
            priority,
            seq: Reverse(seq),
            id: id.to_owned(),
        };
        let group = e.batch.as_ref().and_then(|b| self.groups.get_mut(&b.id));
        match group {
            Some(g) if g.admitted >= g.batch.limit() => {
                e.slot = Slot::Held;
                g.held.push(ready);
            }
            Some(g) => {
                g.admitted += 1;
                e.slot = Slot::Ready;
                self.ready.push(ready);
            }
            None => {
                e.slot = Slot::Ready;
                self.ready.push(ready);
            }
        }
    }

    /// Moves `batch`'s best held tasks to the ready heap while it has free
    /// slots.
    fn admit(&mut self, batch: &str) {
        let Some(g) = self.groups.get_mut(batch) else {
            return;
        };
        while g.admitted < g.batch.limit() {
            let Some(r) = g.held.pop() else {
                break;
            };
            self.examined += 1;
            let Some(e) = self
                .tasks
                .get_mut(&r.id)
                .filter(|e| e.seq == r.seq.0 && e.slot == Slot::Held)
            else {
                continue;
            };
            e.slot = Slot::Ready;
            g.admitted += 1;
            self.ready.push(r);
        }
    }

    /// Frees a slot of `batch` (a task of it left the heap or stopped
    /// running) and fills it.
    fn release_slot(&mut self, batch: &str) {
        if let Some(g) = self.groups.get_mut(batch) {
            g.admitted = g.admitted.saturating_sub(1);
        }
        self.admit(batch);
    }

    /// Counts `n` more unfinished tasks of `batch`, opening its group.
    fn join_group(&mut self, batch: &Arc<BatchRef>, n: usize) {
        self.groups
            .entry(batch.id.clone())
            .or_insert_with(|| Group {
                batch: batch.clone(),
                admitted: 0,
                held: BinaryHeap::new(),
                unfinished: 0,
            })
            .unfinished += n;
    }

    fn push_timed(&mut self, id: &str, at: Instant) {
        let seq = self.seq();
        if let Some(e) = self.tasks.get_mut(id) {
            e.seq = seq;
            e.slot = Slot::Timed;
            self.timed.insert((at, seq), id.to_owned());
        }
    }

    /// Takes `id` out of wherever it waits.
    fn unqueue(&mut self, id: &str) {
        let seq = self.seq();
        let Some(e) = self.tasks.get_mut(id) else {
            return;
        };
        let was = e.slot;
        if matches!(was, Slot::Ready | Slot::Held) {
            self.depth[e.task.priority as usize] -= 1;
        }
        e.slot = Slot::Nowhere;
        e.seq = seq;
        if was == Slot::Ready {
            if let Some(b) = e.batch.clone() {
                self.release_slot(&b.id);
            }
        }
    }
}

impl Queue {
    /// A queue with its workers running on the current Tokio runtime.
    pub fn start(opts: QueueOptions, executor: impl Executor) -> Arc<Self> {
        Self::start_with(opts, executor, None)
    }

    /// [`Queue::start`] with an observer told of every finished task.
    pub fn start_with(
        opts: QueueOptions,
        executor: impl Executor,
        observer: Option<Observer>,
    ) -> Arc<Self> {
        let queue = Arc::new(Self {
            opts,
            observer,
            inner: Mutex::default(),
            work: Notify::new(),
            idle: Notify::new(),
            executor: Arc::new(executor),
            started: Instant::now(),
        });
        for _ in 0..queue.opts.workers.max(1) {
            tokio::spawn(queue.clone().worker());
        }
        queue
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    /// Accepts a task, or refuses it when the queue is full or closing.
    pub fn submit(&self, spec: TaskSpec) -> Result<Task, QueueError> {
        self.submit_all(vec![(task_id(), spec)], None, Admission::Fresh)
            .map(|mut v| v.remove(0))
    }

    /// Accepts a task under a given id (seeded fixtures); an id already
    /// present is left as it is and returned. The observer is not told.
    pub fn submit_as(&self, id: &str, spec: TaskSpec) -> Result<Task, QueueError> {
        if let Some(t) = self.get(id) {
            return Ok(t);
        }
        self.submit_all(vec![(id.to_owned(), spec)], None, Admission::Seeded)
            .map(|mut v| v.remove(0))
    }

    /// Brings back a task accepted before a restart (journal replay), in
    /// its batch, whatever the capacity and byte budget; an id already
    /// present is left as it is. The observer is not told.
    pub fn restore(
        &self,
        id: &str,
        spec: TaskSpec,
        batch: Option<BatchRef>,
    ) -> Result<Task, QueueError> {
        if let Some(t) = self.get(id) {
            return Ok(t);
        }
        self.submit_all(vec![(id.to_owned(), spec)], batch, Admission::Restored)
            .map(|mut v| v.remove(0))
    }

    /// Accepts a batch as a whole (or none of it): at most `max_concurrent`
    /// of its tasks run at once (1 when not `parallel`, so they run one by
    /// one in order). Returns the batch id and the tasks.
    pub fn submit_batch(
        &self,
        specs: Vec<TaskSpec>,
        parallel: bool,
        max_concurrent: usize,
    ) -> Result<(String, Vec<Task>), QueueError> {
        let batch = BatchRef {
            id: format!("batch-{}", &task_id()[5..]),
            parallel,
            max_concurrent,
        };
        let id = batch.id.clone();
        let specs = specs.into_iter().map(|s| (task_id(), s)).collect();
        let tasks = self.submit_all(specs, Some(batch), Admission::Fresh)?;
        Ok((id, tasks))
    }

    /// Refuses what would exceed the capacity or the byte budget.
    fn check_room(&self, inner: &mut Inner, tasks: usize, bytes: usize) -> Result<(), QueueError> {
        let refused = if inner.active() + tasks > self.opts.capacity {
            QueueError::Full {
                capacity: self.opts.capacity,
            }
        } else if inner.queued_bytes.saturating_add(bytes) > self.opts.max_queued_payload_bytes {
            QueueError::PayloadBytes {
                limit: self.opts.max_queued_payload_bytes,
            }
        } else {
            return Ok(());
        };
        inner.rejected += tasks as u64;
        Err(refused)
    }

    fn submit_all(
        &self,
        specs: Vec<(String, TaskSpec)>,
        batch: Option<BatchRef>,
        admission: Admission,
    ) -> Result<Vec<Task>, QueueError> {
        let now = Instant::now();
        let sizes: Vec<usize> = specs
            .iter()
            .map(|(_, s)| payload_bytes(&s.payload))
            .collect();
        let mut inner = self.lock();
        if inner.closed {
            return Err(QueueError::Closed);
        }
        if admission != Admission::Restored {
            self.check_room(&mut inner, specs.len(), sizes.iter().sum())?;
        }
        let batch = batch.map(Arc::new);
        if let Some(b) = &batch {
            inner.join_group(b, specs.len());
        }
        let mut out = Vec::with_capacity(specs.len());
        for ((id, spec), bytes) in specs.into_iter().zip(sizes) {
            let task = Task {
                id: id.clone(),
                task_type: spec.task_type,
                priority: spec.priority,
                payload: spec.payload,
                status: Status::Pending,
                created_at: now_rfc3339(),
                started_at: None,
                completed_at: None,
                progress: 0.0,
                result: None,
                error: None,
                retry_count: 0,
                attempts: 0,
                max_retries: spec.max_retries,
                timeout_seconds: spec.timeout_seconds,
                delay_seconds: spec.delay_seconds,
                cancel_requested: false,
                batch_id: batch.as_ref().map(|b| b.id.clone()),
            };
            if let (Some(observe), Admission::Fresh) = (&self.observer, admission) {
                observe(Event::Accepted {
                    task: &task,
                    batch: batch.as_deref(),
                });
            }
            out.push(task.clone());
            let created_seq = inner.seq();
            inner.tasks.insert(
                id.clone(),
                Entry {
                    task,
                    cancel: Cancel::default(),
                    seq: 0,
                    slot: Slot::Nowhere,
                    created_seq,
                    ready_at: now,
                    timeout: Duration::from_secs(spec.timeout_seconds.max(1)),
                    pinned: false,
                    bytes,
                    batch: batch.clone(),
                },
            );
            inner.queued_bytes += bytes;
            inner.by_creation.insert(created_seq, id.clone());
            inner.count(&id, None, Status::Pending);
            inner.submitted += 1;
            if spec.delay_seconds > 0 {
                inner.push_timed(&id, now + Duration::from_secs(spec.delay_seconds));
            } else {
                inner.push_ready(&id, now);
            }
        }
        drop(inner);
        for _ in 0..out.len().min(self.opts.workers.max(1)) {
            self.work.notify_one();
        }
        Ok(out)
    }

    /// The task's current record.
    pub fn get(&self, id: &str) -> Option<Task> {
        self.lock().tasks.get(id).map(|e| e.task.clone())
    }

    /// Newest first, filtered: the number of matches and one page of them.
    /// Both come from the index: only the page's records are looked at,
    /// whatever the table holds.
    pub fn list(
        &self,
        status: Option<Status>,
        task_type: Option<TaskType>,
        priority: Option<Priority>,
        limit: usize,
        offset: usize,
    ) -> (usize, Vec<Task>) {
        let inner = self.lock();
        let filter = Filter {
            status,
            task_type,
            priority,
        };
        let page = inner
            .index
            .page(&filter, offset, limit)
            .into_iter()
            .filter_map(|seq| inner.by_creation.get(&seq))
            .filter_map(|id| inner.tasks.get(id))
            .map(|e| e.task.clone())
            .collect();
        (inner.index.count(&filter), page)
    }

    /// Cancels a task: at once when it waits, cooperatively when it runs
    /// (it then ends as cancelled when its executor returns).
    pub fn cancel(&self, id: &str) -> Result<Task, QueueError> {
        let mut inner = self.lock();
        let entry = inner
            .tasks
            .get_mut(id)
            .ok_or_else(|| QueueError::NotFound(id.to_owned()))?;
        entry.cancel.cancel();
        match entry.task.status {
            s if s.is_finished() => Err(QueueError::AlreadyFinished(id.to_owned(), s)),
            Status::Running => {
                entry.task.cancel_requested = true;
                Ok(entry.task.clone())
            }
            _ => {
                inner.unqueue(id);
                self.finish(&mut inner, id, Status::Cancelled, None, None);
                let task = inner.tasks.get(id).map(|e| e.task.clone());
                drop(inner);
                // A batch's held task may have taken the freed slot.
                self.work.notify_one();
                task.ok_or_else(|| QueueError::NotFound(id.to_owned()))
            }
        }
    }

    /// Queues a failed or cancelled task again, with its retries reset.
    pub fn retry(&self, id: &str) -> Result<Task, QueueError> {
        let now = Instant::now();
        let mut inner = self.lock();
        let (status, bytes, batch) = inner
            .tasks
            .get(id)
            .map(|e| (e.task.status, e.bytes, e.batch.clone()))
            .ok_or_else(|| QueueError::NotFound(id.to_owned()))?;
        if !matches!(status, Status::Failed | Status::Cancelled) {
            return Err(QueueError::NotRetryable(id.to_owned(), status));
        }
        if inner.closed {
            return Err(QueueError::Closed);
        }
        self.check_room(&mut inner, 1, bytes)?;
        inner.queued_bytes += bytes;
        if let Some(b) = &batch {
            inner.join_group(b, 1);
        }
        if let Some(e) = inner.tasks.get_mut(id) {
            e.cancel = Cancel::default();
            let t = &mut e.task;
            t.status = Status::Pending;
            t.retry_count = 0;
            t.progress = 0.0;
            t.result = None;
            t.error = None;
            t.started_at = None;
            t.completed_at = None;
            t.cancel_requested = false;
            if let Some(observe) = &self.observer {
                observe(Event::Requeued {
                    task: t,
                    batch: batch.as_deref(),
                });
            }
        }
        inner.count(id, Some(status), Status::Pending);
        inner.push_ready(id, now);
        let task = inner.tasks.get(id).map(|e| e.task.clone());
        drop(inner);
        self.work.notify_one();
        task.ok_or_else(|| QueueError::NotFound(id.to_owned()))
    }

    /// Ends a task's current life: status, time, counters, its payload
    /// bytes and batch membership, retention.
    fn finish(
        &self,
        inner: &mut Inner,
        id: &str,
        status: Status,
        result: Option<Value>,
        error: Option<String>,
    ) {
        let Some(e) = inner.tasks.get_mut(id) else {
            return;
        };
        let from = e.task.status;
        e.task.status = status;
        e.task.completed_at = Some(now_rfc3339());
        if status == Status::Completed {
            e.task.progress = 1.0;
        }
        e.task.result = result;
        if error.is_some() {
            e.task.error = error;
        }
        let seq = e.seq;
        if let Some(observe) = &self.observer {
            observe(Event::Finished(&e.task));
        }
        inner.queued_bytes = inner.queued_bytes.saturating_sub(e.bytes);
        if let Some(b) = e.batch.clone() {
            let done = inner.groups.get_mut(&b.id).is_some_and(|g| {
                g.unfinished = g.unfinished.saturating_sub(1);
                g.unfinished == 0
            });
            if done {
                inner.groups.remove(&b.id);
            }
        }
        inner.count(id, Some(from), status);
        inner.finished += 1;
        inner.finished_order.push_back((id.to_owned(), seq));
        while inner.finished_order.len() > self.opts.retain_finished {
            let Some((old, seq)) = inner.finished_order.pop_front() else {
                break;
            };
            let stale = inner
                .tasks
                .get(&old)
                .is_none_or(|e| e.seq != seq || !e.task.status.is_finished() || e.pinned);
            if stale {
                continue;
            }
            if let Some(e) = inner.tasks.remove(&old) {
                inner.by_creation.remove(&e.created_seq);
                let t = &e.task;
                inner
                    .index
                    .remove((t.status, t.task_type, t.priority), e.created_seq);
                if let Some(n) = inner.by_status.get_mut(&e.task.status) {
                    *n = n.saturating_sub(1);
                }
                inner.evicted += 1;
            }
        }
    }

    /// Moves due timers to the ready heap.
    fn promote_due(inner: &mut Inner, now: Instant) {
        while let Some((&(at, seq), _)) = inner.timed.iter().next() {
            if at > now {
                break;
            }
            let Some(id) = inner.timed.remove(&(at, seq)) else {
                break;
            };
            let current = inner
                .tasks
                .get(&id)
                .filter(|e| e.seq == seq && e.slot == Slot::Timed)
                .map(|e| e.task.status);
            if let Some(status) = current {
                if status == Status::Retrying {
                    inner.count(&id, Some(Status::Retrying), Status::Pending);
                    if let Some(e) = inner.tasks.get_mut(&id) {
                        e.task.status = Status::Pending;
                    }
                }
                inner.push_ready(&id, now);
            }
        }
    }

    /// The highest-priority ready task (batches only ever have tasks with
    /// a free slot in the heap).
    fn take_ready(inner: &mut Inner, now: Instant) -> Option<Job> {
        let r = loop {
            let r = inner.ready.pop()?;
            inner.examined += 1;
            let valid = inner
                .tasks
                .get(&r.id)
                .is_some_and(|e| e.seq == r.seq.0 && e.slot == Slot::Ready);
            if valid {
                break r;
            }
        };
        inner.count(&r.id, Some(Status::Pending), Status::Running);
        let e = inner.tasks.get_mut(&r.id)?;
        inner.depth[e.task.priority as usize] -= 1;
        e.slot = Slot::Nowhere;
        e.task.status = Status::Running;
        e.task.attempts += 1;
        e.task.started_at = Some(now_rfc3339());
        let waited = now.saturating_duration_since(e.ready_at);
        let job = Job {
            id: r.id.clone(),
            input: TaskInput {
                id: r.id,
                task_type: e.task.task_type,
                payload: e.task.payload.clone(),
                attempt: e.task.attempts - 1,
            },
            cancel: e.cancel.for_attempt(),
            timeout: e.timeout,
            batch: e.batch.as_ref().map(|b| b.id.clone()),
        };
        inner.wait.push(waited);
        Some(job)
    }

    async fn worker(self: Arc<Self>) {
        loop {
            let notified = self.work.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (job, next_timer) = {
                let mut inner = self.lock();
                if inner.closed {
                    return;
                }
                let now = Instant::now();
                Self::promote_due(&mut inner, now);
                let job = Self::take_ready(&mut inner, now);
                (job, inner.timed.keys().next().map(|(at, _)| *at))
            };
            match (job, next_timer) {
                (Some(job), _) => self.run(job).await,
                (None, Some(at)) => {
                    tokio::select! {
                        () = &mut notified => {}
                        () = tokio::time::sleep_until(at) => {}
                    }
                }
                (None, None) => notified.await,
            }
        }
    }

    fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        self.opts
            .backoff_base
            .saturating_mul(factor)
            .min(self.opts.backoff_max)
    }

    async fn run(&self, job: Job) {
        let started = Instant::now();
        let work = self.executor.execute(job.input, job.cancel.clone());
        let outcome = match tokio::time::timeout(job.timeout, work).await {
            Ok(outcome) => outcome,
            Err(_) => {
                // The future is dropped; blocking work it started stops at
                // its next look at the flag instead of running on.
                job.cancel.expire();
                Err(format!("timed out after {} s", job.timeout.as_secs_f64()))
            }
        };
        let now = Instant::now();
        let mut inner = self.lock();
        inner.run.push(now - started);
        if let Some(b) = &job.batch {
            inner.release_slot(b);
        }
        let (retries, max) = inner
            .tasks
            .get(&job.id)
            .map_or((0, 0), |e| (e.task.retry_count, e.task.max_retries));
        match outcome {
            _ if job.cancel.asked() => self.finish(
                &mut inner,
                &job.id,
                Status::Cancelled,
                None,
                Some("cancelled while running".into()),
            ),
            Ok(value) => self.finish(&mut inner, &job.id, Status::Completed, Some(value), None),
            Err(error) if retries < max => {
                if let Some(e) = inner.tasks.get_mut(&job.id) {
                    e.task.retry_count += 1;
                    e.task.status = Status::Retrying;
                    e.task.error = Some(error);
                }
                inner.count(&job.id, Some(Status::Running), Status::Retrying);
                let at = now + self.backoff(retries + 1);
                inner.push_timed(&job.id, at);
            }
            Err(error) => self.finish(&mut inner, &job.id, Status::Failed, None, Some(error)),
        }
        drop(inner);
        self.work.notify_one();
        self.idle.notify_waiters();
    }

    /// A snapshot of counts, depths, throughput and timings.
    pub fn stats(&self) -> QueueStats {
        let inner = self.lock();
        let elapsed = self.started.elapsed().as_secs_f64();
        QueueStats {
            by_status: Status::ALL
                .iter()
                .map(|s| {
                    (
                        status_name(*s),
                        inner.by_status.get(s).copied().unwrap_or(0),
                    )
                })
                .collect(),
            queue_depth: Priority::ALL
                .iter()
                .map(|p| (priority_name(*p), inner.depth[*p as usize]))
                .collect(),
            submitted: inner.submitted,
            rejected: inner.rejected,
            finished: inner.finished,
            throughput_per_second: if elapsed > 0.0 {
                inner.finished as f64 / elapsed
            } else {
                0.0
            },
            evicted: inner.evicted,
            active: inner.active(),
            capacity: self.opts.capacity,
            queued_payload_bytes: inner.queued_bytes,
            workers: self.opts.workers.max(1),
            wait_time: inner.wait.percentiles(),
            run_time: inner.run.percentiles(),
        }
    }

    /// Stops taking tasks: submits are refused and idle workers exit;
    /// running tasks finish. Returns how many unfinished tasks remain
    /// waiting.
    pub fn close(&self) -> usize {
        let mut inner = self.lock();
        inner.closed = true;
        let waiting = inner.active() - inner.with_status(Status::Running);
        drop(inner);
        self.work.notify_waiters();
        waiting
    }

    /// Keeps `id`'s record however many tasks finish after it (seeded
    /// fixtures that clients and load tests name).
    pub fn pin(&self, id: &str) {
        if let Some(e) = self.lock().tasks.get_mut(id) {
            e.pinned = true;
        }
    }

    /// Open batch groups and heap entries looked at while picking.
    #[cfg(test)]
    pub(crate) fn probe(&self) -> (usize, u64) {
        let inner = self.lock();
        (inner.groups.len(), inner.examined)
    }

    /// Unfinished tasks (cheap; for health checks).
    pub fn active(&self) -> usize {
        self.lock().active()
    }

    /// Ids of the tasks not finished yet (waiting, delayed, retrying or
    /// running), oldest first.
    pub fn unfinished(&self) -> Vec<String> {
        let inner = self.lock();
        inner
            .by_creation
            .values()
            .filter(|id| {
                inner
                    .tasks
                    .get(*id)
                    .is_some_and(|e| !e.task.status.is_finished())
            })
            .cloned()
            .collect()
    }

    /// Waits up to `grace` for running tasks to finish; returns how many
    /// are still running.
    pub async fn drain(&self, grace: Duration) -> usize {
        let deadline = Instant::now() + grace;
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            let running = self.lock().with_status(Status::Running);
            if running == 0 || Instant::now() >= deadline {
                return running;
            }
            let _ = tokio::time::timeout_at(deadline, idle).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::atomic::AtomicUsize;

    /// Blocking work that runs until its flag is set (20 s at most), and
    /// counts the attempts that saw it; later attempts complete at once,
    /// saying whether their flag was clear.
    fn stubborn(stopped: Arc<AtomicUsize>) -> impl Executor {
        move |input: TaskInput, cancel: Cancel| -> Work {
            let stopped = stopped.clone();
            Box::pin(async move {
                if input.attempt > 0 {
                    return Ok(json!({ "clear": !cancel.is_cancelled() }));
                }
                tokio::task::spawn_blocking(move || {
                    let t0 = std::time::Instant::now();
                    while !cancel.is_cancelled() {
                        if t0.elapsed() > Duration::from_secs(20) {
                            return Err("never told to stop".to_owned());
                        }
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    stopped.fetch_add(1, AtomicOrdering::SeqCst);
                    Err("stopped".to_owned())
                })
                .await
                .unwrap_or_else(|e| Err(e.to_string()))
            })
        }
    }

    fn stubborn_spec(max_retries: u32) -> TaskSpec {
        TaskSpec {
            task_type: TaskType::Computation,
            priority: Priority::Normal,
            payload: json!({}),
            delay_seconds: 0,
            max_retries,
            timeout_seconds: 1,
        }
    }

    async fn finished(q: &Queue, id: &str) -> Task {
        loop {
            let t = q.get(id).unwrap();
            if t.status.is_finished() {
                return t;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A timed-out attempt's blocking work is told to stop, as a cancel
    /// would, but the task ends as a timeout (failed, or retried with a
    /// clear flag), never as cancelled.
    #[tokio::test]
    async fn a_timed_out_attempt_is_told_to_stop() {
        let stopped = Arc::new(AtomicUsize::new(0));
        let opts = QueueOptions {
            workers: 2,
            backoff_base: Duration::from_millis(10),
            ..QueueOptions::default()
        };
        let q = Queue::start(opts, stubborn(stopped.clone()));
        let failing = q.submit(stubborn_spec(0)).unwrap();
        let retried = q.submit(stubborn_spec(1)).unwrap();
        let failed = finished(&q, &failing.id).await;
        assert_eq!(failed.status, Status::Failed);
        assert_eq!(failed.error.as_deref(), Some("timed out after 1 s"));
        assert!(!failed.cancel_requested);
        let done = finished(&q, &retried.id).await;
        assert_eq!((done.status, done.retry_count), (Status::Completed, 1));
        assert_eq!(done.result, Some(json!({ "clear": true })));
        let t0 = std::time::Instant::now();
        while stopped.load(AtomicOrdering::SeqCst) < 2 {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "timed-out work still runs"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
