//! Processing off the reactor threads: a bounded number of jobs run on
//! blocking threads, a bounded number wait; past that, 503. Automatic
//! processing of uploads goes through the same gate and records its
//! outcome per file for `info`.

use super::{Analysis, Operation, Processed, Store};
use crate::api::Error;
use crate::gate::Gate;
use crate::sync::lock;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Most per-file job records kept for `info`; past it the oldest go.
const MAX_RECORDS: usize = 20_000;

/// What happened to a file's automatic processing.
#[derive(Debug, Clone, Serialize)]
pub struct JobRecord {
    /// `queued`, `running`, `done` or `failed`.
    pub status: &'static str,
    /// The operation.
    pub operation: &'static str,
    /// Its result when done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Analysis>,
    /// Why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The gate and the records.
pub struct Processor {
    store: Arc<Store>,
    gate: Gate,
    records: Mutex<Records>,
}

/// Job records by file id, oldest first out.
#[derive(Default)]
struct Records {
    by_id: HashMap<String, JobRecord>,
    order: VecDeque<String>,
}

/// A processing result as JSON: an analysis, or the derived file and what
/// was done.
pub fn result_json(processed: &Processed) -> Value {
    match processed {
        Processed::Analysis(a) => json!({ "analysis": a }),
        Processed::Derived { file, details } => json!({
            "derived_file": super::views::summary(file),
            "details": details,
        }),
    }
}

impl Records {
    /// Sets the record of `id`, dropping the oldest past `cap` records.
    fn put(&mut self, id: &str, record: JobRecord, cap: usize) {
        if self.by_id.insert(id.to_owned(), record).is_none() {
            self.order.push_back(id.to_owned());
        }
        while self.by_id.len() > cap {
            match self.order.pop_front() {
                Some(old) => {
                    self.by_id.remove(&old);
                }
                None => break,
            }
        }
        // Ids of forgotten records pile up in `order`; drop them now and then.
        if self.order.len() > 2 * cap {
            let by_id = &self.by_id;
            self.order.retain(|id| by_id.contains_key(id));
        }
    }
}

impl Processor {
    /// A gate of `workers` running and `max_waiting` waiting jobs.
    pub fn new(store: Arc<Store>, workers: usize, max_waiting: usize) -> Self {
        Self {
            store,
            gate: Gate::new(workers, max_waiting),
            records: Mutex::default(),
        }
    }

    /// Runs `op` on `id` on a blocking thread once a worker is free.
    pub async fn run(&self, id: &str, op: Operation) -> Result<(Processed, u64), Error> {
        let store = self.store.clone();
        let id = id.to_owned();
        let started = Instant::now();
        let result = self.gate.run(move || store.process(&id, op)).await?;
        let micros = started.elapsed().as_micros() as u64;
        result.map(|p| (p, micros)).map_err(Error::from)
    }

    /// Queues `analyze` of a new upload; its outcome shows in `info`.
    /// Returns the record as queued, or `rejected` when the queue is full
    /// (the upload itself stands).
    pub fn analyze_later(self: &Arc<Self>, id: &str) -> JobRecord {
        let queued = JobRecord {
            status: "queued",
            operation: "analyze",
            result: None,
            error: None,
        };
        if self.gate.is_full() {
            return JobRecord {
                status: "rejected",
                error: Some("the processing queue is full".into()),
                ..queued
            };
        }
        self.store.stats().auto_processed(1);
        self.record(id, queued.clone());
        let this = self.clone();
        let id = id.to_owned();
        let running = JobRecord {
            status: "running",
            ..queued.clone()
        };
        tokio::spawn(async move {
            // A file deleted meanwhile was forgotten: its record stays gone.
            this.update(&id, running);
            let record = match this.run(&id, Operation::Analyze).await {
                Ok((Processed::Analysis(a), _)) => JobRecord {
                    status: "done",
                    operation: "analyze",
                    result: Some(a),
                    error: None,
                },
                Ok((Processed::Derived { .. }, _)) => JobRecord {
                    status: "failed",
                    operation: "analyze",
                    result: None,
                    error: Some("analysis produced a file".into()),
                },
                Err(e) if e.status == 404 => {
                    this.forget(std::slice::from_ref(&id));
                    return;
                }
                Err(e) => JobRecord {
                    status: "failed",
                    operation: "analyze",
                    result: None,
                    error: Some(e.message),
                },
            };
            this.update(&id, record);
        });
        queued
    }

    fn record(&self, id: &str, record: JobRecord) {
        lock(&self.records).put(id, record, MAX_RECORDS);
    }

    /// Replaces the record of `id`, if it still has one.
    fn update(&self, id: &str, record: JobRecord) {
        if let Some(r) = lock(&self.records).by_id.get_mut(id) {
            *r = record;
        }
    }

    /// The automatic processing record of `id`.
    pub fn job(&self, id: &str) -> Option<JobRecord> {
        lock(&self.records).by_id.get(id).cloned()
    }

    /// Forgets the records of deleted files.
    pub fn forget(&self, ids: &[String]) {
        let mut records = lock(&self.records);
        for id in ids {
            records.by_id.remove(id);
        }
    }

    /// Workers, jobs running or waiting, and the waiting bound.
    pub fn load(&self) -> Value {
        json!({
            "workers": self.gate.workers(),
            "in_progress": self.gate.load(),
            "max_waiting": self.gate.max_waiting(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_bounded_oldest_first() {
        let job = |status| JobRecord {
            status,
            operation: "analyze",
            result: None,
            error: None,
        };
        let mut r = Records::default();
        for i in 0..5 {
            r.put(&format!("f{i}"), job("queued"), 3);
        }
        r.put("f3", job("done"), 3);
        let mut kept: Vec<&String> = r.by_id.keys().collect();
        kept.sort();
        assert_eq!(kept, ["f2", "f3", "f4"]);
        assert_eq!(r.by_id["f3"].status, "done");
        for i in 0..20 {
            r.by_id.remove(&format!("f{i}"));
            r.put(&format!("g{i}"), job("queued"), 3);
        }
        assert!(r.order.len() <= 6, "forgotten ids do not pile up");
    }

    fn stored(store: &Arc<Store>, bytes: &[u8]) -> String {
        let mut up = store.begin_upload().unwrap();
        up.write(bytes).unwrap();
        store
            .commit(up.finish().unwrap(), crate::files::NewFile::default())
            .unwrap()
            .id
            .clone()
    }

    fn open(dir: &std::path::Path) -> Arc<Store> {
        let mut o = crate::files::StoreOptions::new(dir);
        o.fsync = false;
        Arc::new(Store::open(o).unwrap())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_file_deleted_while_its_automatic_job_waited_leaves_no_record() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let id = stored(&store, b"some text");
        let processor = Arc::new(Processor::new(store.clone(), 1, 4));
        let weak = Arc::downgrade(&processor);
        let target = id.clone();
        // The file goes (as `DELETE` does it) once the job has looked it up.
        *lock(&store.hooks.before_open) = Some(Box::new(move |s: &Store| {
            let gone = s.delete(&target).unwrap();
            if let Some(p) = weak.upgrade() {
                p.forget(&gone);
            }
        }));
        assert_eq!(processor.analyze_later(&id).status, "queued");
        let deadline = Instant::now() + std::time::Duration::from_secs(20);
        while processor
            .job(&id)
            .is_some_and(|r| matches!(r.status, "queued" | "running"))
        {
            assert!(Instant::now() < deadline, "the job never ended");
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert!(
            processor.job(&id).is_none(),
            "a deleted file keeps a record: {:?}",
            processor.job(&id)
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn processing_a_file_deleted_while_its_job_waited_is_a_404() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let id = stored(&store, b"some text");
        let processor = Arc::new(Processor::new(store.clone(), 1, 4));
        // A first job holds the only worker until released.
        let (release, hold) = std::sync::mpsc::channel::<()>();
        *lock(&store.hooks.before_open) = Some(Box::new(move |_: &Store| {
            let _ = hold.recv();
        }));
        let first = {
            let p = processor.clone();
            tokio::spawn(async move { p.run("test-file-1", Operation::Analyze).await })
        };
        while lock(&store.hooks.before_open).is_some() {
            tokio::task::yield_now().await;
        }
        let second = {
            let (p, id) = (processor.clone(), id.clone());
            tokio::spawn(async move { p.run(&id, Operation::Analyze).await })
        };
        while processor.gate.load() < 2 {
            tokio::task::yield_now().await;
        }
        store.delete(&id).unwrap();
        release.send(()).unwrap();
        assert!(first.await.unwrap().is_ok());
        let err = second.await.unwrap().unwrap_err();
        assert_eq!((err.status, err.code), (404, "not_found"));
    }
}
