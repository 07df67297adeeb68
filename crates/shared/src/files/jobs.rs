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
            this.record(&id, running);
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
                Err(e) => JobRecord {
                    status: "failed",
                    operation: "analyze",
                    result: None,
                    error: Some(e.message),
                },
            };
            this.record(&id, record);
        });
        queued
    }

    fn record(&self, id: &str, record: JobRecord) {
        lock(&self.records).put(id, record, MAX_RECORDS);
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
}
