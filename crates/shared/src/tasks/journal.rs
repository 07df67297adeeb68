//! An append-only journal of accepted tasks (with their batch), of manual
//! retries and of ends, so a restarted server resumes what was accepted
//! and not finished.
//!
//! Lines are appended (written, not synced) as the queue tells of events,
//! under its lock: in the order things happen, so a submit line always
//! precedes its task's finish line, and every line is in the operating
//! system's hands before anyone can see its effect (a killed process loses
//! none). Syncing is a writer thread's: whoever must be durable (a submit
//! before its 201, a retry before its answer) awaits [`Journal::sync`], and
//! the thread syncs once for every waiter that came meanwhile (group
//! commit); neither a reactor nor the queue's lock ever waits for a sync.
//! Finish lines are only synced along with others (a power loss can at
//! worst run a finished task again: at-least-once). At open, the journal
//! is read (unreadable lines, such as a torn last one, are skipped) and
//! rewritten with only the unfinished tasks.

use super::model::{BatchRef, Priority, Status, Task, TaskSpec, TaskType};
use super::queue::{Event, Observer};
use crate::sync::lock;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use tokio::sync::oneshot;

/// A line as read back.
#[derive(Debug, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Line {
    /// Accepted.
    Submit(Accepted),
    /// Queued again by hand after it finished.
    Retry(Accepted),
    /// Finished.
    Finish { id: String },
}

#[derive(Debug, Deserialize)]
struct Accepted {
    id: String,
    spec: TaskSpec,
    /// When, in ms since the epoch (delays resume from it).
    at_ms: u64,
    #[serde(default)]
    batch: Option<BatchRef>,
}

/// A line as written, borrowing from the task.
#[derive(Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum LineOut<'a> {
    Submit(AcceptedOut<'a>),
    Retry(AcceptedOut<'a>),
    Finish { id: &'a str, status: Status },
}

#[derive(Serialize)]
struct AcceptedOut<'a> {
    id: &'a str,
    spec: SpecOut<'a>,
    at_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    batch: Option<&'a BatchRef>,
}

/// [`TaskSpec`]'s fields, borrowed.
#[derive(Serialize)]
struct SpecOut<'a> {
    task_type: TaskType,
    priority: Priority,
    payload: &'a Value,
    delay_seconds: u64,
    max_retries: u32,
    timeout_seconds: u64,
}

impl<'a> AcceptedOut<'a> {
    fn new(task: &'a Task, batch: Option<&'a BatchRef>, delay_seconds: u64) -> Self {
        Self {
            id: &task.id,
            spec: SpecOut {
                task_type: task.task_type,
                priority: task.priority,
                payload: &task.payload,
                delay_seconds,
                max_retries: task.max_retries,
                timeout_seconds: task.timeout_seconds,
            },
            at_ms: now_ms(),
            batch,
        }
    }
}

/// A task to resume: its id, spec (delay shortened by the time passed) and
/// batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Resumed {
    /// Id.
    pub id: String,
    /// What to run.
    pub spec: TaskSpec,
    /// Its batch, with the batch's cap.
    pub batch: Option<BatchRef>,
}

/// Someone waiting for the next sync.
type Waiter = oneshot::Sender<Result<(), String>>;

/// The journal file.
pub struct Journal {
    path: PathBuf,
    /// Appends one whole line at a time.
    appender: Mutex<File>,
    /// A write failed: the file may end in a torn line, so nothing more is
    /// appended and every sync fails.
    broken: AtomicBool,
    waiters: Option<mpsc::Sender<Waiter>>,
    syncer: Option<JoinHandle<()>>,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Reads a journal: the unfinished tasks, oldest first (by their latest
/// submit or retry line), each with that line's text.
fn replay(path: &Path) -> io::Result<Vec<(String, Resumed, u64)>> {
    let mut pending: HashMap<String, (usize, String, Accepted)> = HashMap::new();
    // A finished id stays finished whatever submit line comes after it
    // (journals of older versions wrote a submit line after the task could
    // already run); only a retry line brings it back.
    let mut finished: HashSet<String> = HashSet::new();
    let Ok(f) = File::open(path) else {
        return Ok(Vec::new());
    };
    for (n, text) in BufReader::new(f).lines().enumerate() {
        let text = text?;
        let Ok(line) = serde_json::from_str::<Line>(&text) else {
            continue;
        };
        match line {
            Line::Submit(a) if !finished.contains(&a.id) => {
                pending.insert(a.id.clone(), (n, text, a));
            }
            Line::Submit(_) => {}
            Line::Retry(a) => {
                finished.remove(&a.id);
                pending.insert(a.id.clone(), (n, text, a));
            }
            Line::Finish { id } => {
                pending.remove(&id);
                finished.insert(id);
            }
        }
    }
    let mut pending: Vec<_> = pending.into_values().collect();
    pending.sort_by_key(|(n, _, _)| *n);
    Ok(pending
        .into_iter()
        .map(|(_, text, a)| {
            let resumed = Resumed {
                id: a.id,
                spec: a.spec,
                batch: a.batch,
            };
            (text, resumed, a.at_ms)
        })
        .collect())
}

impl Journal {
    /// Opens (or creates) the journal at `path`, compacts it, starts its
    /// sync thread and returns the tasks it holds that never finished,
    /// oldest first.
    pub fn open(path: impl AsRef<Path>) -> io::Result<(Self, Vec<Resumed>)> {
        let path = path.as_ref().to_path_buf();
        let pending = replay(&path)?;
        // Compact: only what is still to do survives, line for line.
        let tmp = path.with_extension("compacting");
        {
            let mut out = File::create(&tmp)?;
            for (text, _, _) in &pending {
                out.write_all(text.as_bytes())?;
                out.write_all(b"\n")?;
            }
            out.sync_all()?;
        }
        fs::rename(&tmp, &path)?;
        let file = OpenOptions::new().append(true).open(&path)?;
        let synced = file.try_clone()?;
        let (waiters, rx) = mpsc::channel();
        let syncer = std::thread::Builder::new()
            .name("tasks-journal".into())
            .spawn(move || sync_loop(&synced, &rx))?;
        let now = now_ms();
        let resumed = pending
            .into_iter()
            .map(|(_, mut r, at_ms)| {
                let passed = now.saturating_sub(at_ms) / 1000;
                r.spec.delay_seconds = r.spec.delay_seconds.saturating_sub(passed);
                r
            })
            .collect();
        let journal = Self {
            path,
            appender: Mutex::new(file),
            broken: AtomicBool::new(false),
            waiters: Some(waiters),
            syncer: Some(syncer),
        };
        Ok((journal, resumed))
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends the line of a queue event (not synced; see
    /// [`Journal::sync`]).
    pub fn record(&self, event: Event<'_>) {
        let line = match event {
            Event::Accepted { task, batch } => {
                LineOut::Submit(AcceptedOut::new(task, batch, task.delay_seconds))
            }
            // Queued again now: no delay left.
            Event::Requeued { task, batch } => LineOut::Retry(AcceptedOut::new(task, batch, 0)),
            Event::Finished(task) => LineOut::Finish {
                id: &task.id,
                status: task.status,
            },
        };
        let mut bytes = match serde_json::to_vec(&line) {
            Ok(b) => b,
            Err(e) => return self.fail(&e.to_string()),
        };
        bytes.push(b'\n');
        let mut file = lock(&self.appender);
        if self.broken.load(Ordering::Acquire) {
            return;
        }
        if let Err(e) = file.write_all(&bytes) {
            self.fail(&e.to_string());
        }
    }

    fn fail(&self, error: &str) {
        if !self.broken.swap(true, Ordering::AcqRel) {
            tracing::error!(
                "journal {}: {error}; nothing more is recorded",
                self.path.display()
            );
        }
    }

    /// An observer for [`super::Queue::start_with`] that records every
    /// event.
    pub fn observer(self: &Arc<Self>) -> Observer {
        let journal = self.clone();
        Box::new(move |event| journal.record(event))
    }

    /// Waits until every line appended so far is synced to disk (without
    /// blocking: the sync thread acknowledges).
    pub async fn sync(&self) -> io::Result<()> {
        let stopped = || io::Error::other("the journal's sync thread stopped");
        if self.broken.load(Ordering::Acquire) {
            return Err(io::Error::other("an earlier write to the journal failed"));
        }
        let (tx, rx) = oneshot::channel();
        self.waiters
            .as_ref()
            .ok_or_else(stopped)?
            .send(tx)
            .map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?.map_err(io::Error::other)
    }
}

/// Syncs once for all the waiters that queued up, then acknowledges them.
fn sync_loop(file: &File, waiters: &mpsc::Receiver<Waiter>) {
    while let Ok(first) = waiters.recv() {
        let mut group = vec![first];
        group.extend(waiters.try_iter());
        let synced = file.sync_data().map_err(|e| e.to_string());
        for w in group {
            let _ = w.send(synced.clone());
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        drop(self.waiters.take());
        if let Some(t) = self.syncer.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::tasks::{Priority, TaskType};

    fn task(id: &str, delay: u64, status: Status) -> Task {
        Task {
            id: id.into(),
            task_type: TaskType::Computation,
            priority: Priority::High,
            payload: serde_json::json!({"iterations": 10}),
            status,
            created_at: String::new(),
            started_at: None,
            completed_at: None,
            progress: 0.0,
            result: None,
            error: None,
            retry_count: 0,
            attempts: 0,
            max_retries: 1,
            timeout_seconds: 5,
            delay_seconds: delay,
            cancel_requested: false,
            batch_id: None,
        }
    }

    fn accept(j: &Journal, t: &Task, batch: Option<&BatchRef>) {
        j.record(Event::Accepted { task: t, batch });
    }

    #[tokio::test]
    async fn unfinished_tasks_come_back_and_the_file_is_compacted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tasks.journal");
        let (j, resumed) = Journal::open(&path).unwrap();
        assert!(resumed.is_empty());
        let batch = BatchRef {
            id: "batch-1".into(),
            parallel: true,
            max_concurrent: 2,
        };
        accept(&j, &task("a", 0, Status::Pending), None);
        accept(&j, &task("b", 3600, Status::Pending), Some(&batch));
        accept(&j, &task("c", 0, Status::Pending), None);
        accept(&j, &task("r", 0, Status::Pending), None);
        j.record(Event::Finished(&task("a", 0, Status::Completed)));
        // An older journal's submit line after the finish: still finished.
        j.record(Event::Finished(&task("d", 0, Status::Completed)));
        accept(&j, &task("d", 0, Status::Pending), None);
        // A manual retry brings a finished task back, at the end.
        j.record(Event::Finished(&task("r", 0, Status::Failed)));
        j.record(Event::Requeued {
            task: &task("r", 0, Status::Pending),
            batch: None,
        });
        j.sync().await.unwrap();
        drop(j);
        // A crash mid-line leaves a torn tail.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"op":"finish","id":"c"#).unwrap();
        drop(f);
        let (_, resumed) = Journal::open(&path).unwrap();
        let ids: Vec<&str> = resumed.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["b", "c", "r"]);
        assert_eq!(resumed[0].spec.delay_seconds, 3600);
        assert_eq!(resumed[0].spec.priority, Priority::High);
        assert_eq!(resumed[0].batch.as_ref(), Some(&batch));
        let lines = fs::read_to_string(&path).unwrap();
        assert_eq!(lines.lines().count(), 3, "compacted: {lines}");
        // Compaction keeps what it keeps as it was.
        let (_, again) = Journal::open(&path).unwrap();
        let batches = |r: &[Resumed]| -> Vec<(String, Option<BatchRef>)> {
            r.iter().map(|r| (r.id.clone(), r.batch.clone())).collect()
        };
        assert_eq!(batches(&again), batches(&resumed));
    }

    #[tokio::test]
    async fn syncs_are_shared_by_whoever_waits() {
        let dir = tempfile::tempdir().unwrap();
        let (j, _) = Journal::open(dir.path().join("j")).unwrap();
        let j = Arc::new(j);
        let waits: Vec<_> = (0..20)
            .map(|i| {
                let j = j.clone();
                tokio::spawn(async move {
                    accept(&j, &task(&format!("t{i}"), 0, Status::Pending), None);
                    j.sync().await
                })
            })
            .collect();
        for w in waits {
            w.await.unwrap().unwrap();
        }
        let text = fs::read_to_string(j.path()).unwrap();
        assert_eq!(text.lines().count(), 20);
    }
}
