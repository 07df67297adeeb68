//! The Rust half of the equal-work test: replays a script of store and
//! queue operations on `shared` and prints what each one observed, as JSON.
//! `peers/python/tests/test_equal_work.py` runs the same script through
//! `bench_shared` (`peers/python/tests/replay.py`) and compares, so the
//! Python peers are held to the same listings, counts, statistics and
//! files on disk as the reference.
//!
//! ```text
//! cargo run -p shared --example equal_work < script.json
//! ```
//!
//! A script is `{"domain": "tasks" | "files" | "window" | "hash", "options": {…},
//! "ops": [{"op": …}, …]}`; the output is `{"observations": [one per op],
//! "disk": …}`. Ids are random on both sides, so records are named by
//! ordinals: the n-th task submitted, the n-th file uploaded (fixtures by
//! their fixed ids). Whatever depends on the clock (timestamps, waiting
//! and running times) is left out; the percentile algorithm is compared on
//! given durations (`window`). Work is observed too: a listing reports
//! the records it read (here its page, by construction of the indexes;
//! the Python replay counts what its listing looked up).

use serde_json::{json, Map, Value};
use shared::api::Error;
use shared::files::{NewFile, Store, StoreOptions};
use shared::tasks::{
    Cancel, Priority, Queue, QueueOptions, Task, TaskInput, TaskSpec, TaskType, Window,
};
use std::collections::HashMap;
use std::io::Read;
use std::time::Duration;

fn main() {
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        fail(&format!("reading the script: {e}"));
    }
    let script: Value = serde_json::from_str(&text).unwrap_or_else(|e| fail(&e.to_string()));
    let options = &script["options"];
    let ops = script["ops"].as_array().cloned().unwrap_or_default();
    let out = match script["domain"].as_str() {
        Some("tasks") => tasks(options, &ops),
        Some("files") => files(options, &ops),
        Some("window") => window(&ops),
        Some("hash") => hashes(options, &ops),
        other => fail(&format!("unknown domain {other:?}")),
    };
    println!("{out}");
}

fn fail(message: &str) -> ! {
    eprintln!("equal_work: {message}");
    std::process::exit(2)
}

fn refusal(e: impl Into<Error>) -> Value {
    let e = e.into();
    json!({"error": [e.status, e.code]})
}

fn uint(v: &Value, name: &str, default: u64) -> u64 {
    v[name].as_u64().unwrap_or(default)
}

fn parsed<T: serde::de::DeserializeOwned>(v: &Value) -> Option<T> {
    (!v.is_null())
        .then(|| serde_json::from_value(v.clone()).unwrap_or_else(|e| fail(&e.to_string())))
}

// --- the task queue -------------------------------------------------------

/// The executor both sides use: an attempt fails while its number is below
/// the payload's `fail`, else completes with the attempt's number.
fn executor(input: TaskInput, _cancel: Cancel) -> shared::tasks::queue::Work {
    Box::pin(async move {
        let fail = input.payload["fail"].as_u64().unwrap_or(0);
        if u64::from(input.attempt) < fail {
            Err(format!("planned failure {}", input.attempt + 1))
        } else {
            Ok(json!({ "attempt": input.attempt }))
        }
    })
}

fn spec(v: &Value) -> TaskSpec {
    TaskSpec {
        task_type: parsed(&v["type"]).unwrap_or(TaskType::Computation),
        priority: parsed(&v["priority"]).unwrap_or(Priority::Normal),
        payload: json!({ "fail": uint(v, "fail", 0), "pad": v["pad"].as_str().unwrap_or("") }),
        delay_seconds: uint(v, "delay", 0),
        max_retries: uint(v, "max_retries", 0) as u32,
        timeout_seconds: 60,
    }
}

/// Task ids and batch ids as ordinals.
#[derive(Default)]
struct Names {
    tasks: HashMap<String, usize>,
    by_ordinal: Vec<String>,
    batches: HashMap<String, usize>,
}

impl Names {
    fn task(&mut self, id: &str) -> usize {
        if let Some(&n) = self.tasks.get(id) {
            return n;
        }
        self.by_ordinal.push(id.to_owned());
        self.tasks.insert(id.to_owned(), self.by_ordinal.len() - 1);
        self.by_ordinal.len() - 1
    }

    fn batch(&mut self, id: &str) -> usize {
        let next = self.batches.len();
        *self.batches.entry(id.to_owned()).or_insert(next)
    }

    fn record(&mut self, t: &Task) -> Value {
        json!({
            "task": self.task(&t.id),
            "type": t.task_type,
            "priority": t.priority,
            "status": t.status,
            "retry_count": t.retry_count,
            "attempts": t.attempts,
            "max_retries": t.max_retries,
            "delay_seconds": t.delay_seconds,
            "result": t.result,
            "error": t.error,
            "cancel_requested": t.cancel_requested,
            "batch": t.batch_id.as_deref().map(|b| self.batch(b)),
        })
    }
}

/// Waits until nothing runs or waits for a worker (delayed tasks may wait
/// for their timers: the scripts give them hours).
async fn settle(queue: &Queue) {
    loop {
        let s = queue.stats();
        let busy = s.by_status["running"] + s.by_status["retrying"];
        if busy == 0 && s.queue_depth.values().sum::<usize>() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn tasks(options: &Value, ops: &[Value]) -> Value {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(&e.to_string()));
    runtime.block_on(async {
        let opts = QueueOptions {
            workers: 1,
            capacity: uint(options, "capacity", 10_000) as usize,
            retain_finished: uint(options, "retain_finished", 10_000) as usize,
            backoff_base: Duration::ZERO,
            backoff_max: Duration::ZERO,
            max_queued_payload_bytes: uint(options, "max_queued_payload_bytes", 64 << 20) as usize,
        };
        let queue = Queue::start(opts, executor);
        let mut names = Names::default();
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            let seen = task_op(&queue, &mut names, op);
            settle(&queue).await;
            out.push(seen);
        }
        json!({ "observations": out })
    })
}

fn task_op(queue: &Queue, names: &mut Names, op: &Value) -> Value {
    let named = |names: &Names| {
        let n = uint(op, "task", 0) as usize;
        names
            .by_ordinal
            .get(n)
            .cloned()
            .unwrap_or_else(|| format!("task-unknown-{n}"))
    };
    match op["op"].as_str().unwrap_or_default() {
        "submit" => match queue.submit(spec(op)) {
            Ok(t) => json!({ "ok": names.record(&t) }),
            Err(e) => refusal(e),
        },
        "batch" => {
            let specs = op["tasks"].as_array().into_iter().flatten().map(spec);
            let parallel = op["parallel"].as_bool().unwrap_or(true);
            let cap = uint(op, "max_concurrent", 1) as usize;
            match queue.submit_batch(specs.collect(), parallel, cap) {
                Ok((batch, tasks)) => json!({
                    "batch": names.batch(&batch),
                    "ok": tasks.iter().map(|t| names.record(t)).collect::<Vec<_>>(),
                }),
                Err(e) => refusal(e),
            }
        }
        "cancel" => match queue.cancel(&named(names)) {
            Ok(t) => json!({ "ok": names.record(&t) }),
            Err(e) => refusal(e),
        },
        "retry" => match queue.retry(&named(names)) {
            Ok(t) => json!({ "ok": names.record(&t) }),
            Err(e) => refusal(e),
        },
        "get" => match queue.get(&named(names)) {
            Some(t) => json!({ "ok": names.record(&t) }),
            None => json!({ "ok": null }),
        },
        "list" => {
            let (total, page) = queue.list(
                parsed(&op["status"]),
                parsed(&op["type"]),
                parsed(&op["priority"]),
                uint(op, "limit", 20) as usize,
                uint(op, "offset", 0) as usize,
            );
            let page: Vec<Value> = page.iter().map(|t| names.record(t)).collect();
            // `Queue::list` looks up the index's page only.
            json!({ "total": total, "records_read": page.len(), "tasks": page })
        }
        "stats" => {
            let s = queue.stats();
            json!({
                "by_status": s.by_status,
                "queue_depth": s.queue_depth,
                "submitted": s.submitted,
                "rejected": s.rejected,
                "finished": s.finished,
                "evicted": s.evicted,
                "active": s.active,
                "capacity": s.capacity,
                "queued_payload_bytes": s.queued_payload_bytes,
                "workers": s.workers,
                "wait_samples": s.wait_time.samples,
                "run_samples": s.run_time.samples,
            })
        }
        other => fail(&format!("unknown task op {other:?}")),
    }
}

// --- percentiles ------------------------------------------------------------

fn window(ops: &[Value]) -> Value {
    let mut w = Window::default();
    let out: Vec<Value> = ops
        .iter()
        .map(|op| {
            for us in op["push_micros"].as_array().into_iter().flatten() {
                w.push(Duration::from_micros(us.as_u64().unwrap_or(0)));
            }
            json!(w.percentiles())
        })
        .collect();
    json!({ "observations": out })
}

// --- password hashes --------------------------------------------------------

/// Each op's password hashed with its salt (`{"password", "salt_hex"}`), or
/// a stored hash checked (`{"verify": hash, "password"}`), at the options'
/// cost.
fn hashes(options: &Value, ops: &[Value]) -> Value {
    use shared::realworld::accounts::HashCost;
    let cost = HashCost {
        memory_kib: uint(options, "memory_kib", 64) as u32,
        iterations: uint(options, "iterations", 1) as u32,
        parallelism: uint(options, "parallelism", 1) as u32,
    };
    let hasher = cost.hasher(1).unwrap_or_else(|e| fail(&e));
    let out: Vec<Value> = ops
        .iter()
        .map(|op| {
            let password = op["password"].as_str().unwrap_or_default();
            if let Some(stored) = op["verify"].as_str() {
                return json!({ "verified": hasher.verify(stored, password) });
            }
            let hex = op["salt_hex"].as_str().unwrap_or_default();
            let salt: Vec<u8> = (0..hex.len() / 2)
                .filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
                .collect();
            match hasher.hash_with_salt(password, &salt) {
                Ok(h) => json!({ "hash": h }),
                Err(e) => json!({ "error": e }),
            }
        })
        .collect();
    json!({ "observations": out })
}

// --- the file store ---------------------------------------------------------

/// The content of an uploaded file: byte i is `(seed + 7 i) mod 256`.
fn content(seed: u64, size: u64) -> Vec<u8> {
    (0..size).map(|i| ((seed + 7 * i) % 256) as u8).collect()
}

#[derive(Default)]
struct FileNames {
    ids: HashMap<String, Value>,
    by_ordinal: Vec<String>,
}

impl FileNames {
    /// Uploads are ordinals; fixtures keep their fixed ids.
    fn name(&self, id: &str) -> Value {
        self.ids.get(id).cloned().unwrap_or_else(|| json!(id))
    }

    fn add(&mut self, id: &str) -> Value {
        self.by_ordinal.push(id.to_owned());
        let n = json!(self.by_ordinal.len() - 1);
        self.ids.insert(id.to_owned(), n.clone());
        n
    }

    fn id(&self, v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            v => v
                .as_u64()
                .and_then(|n| self.by_ordinal.get(n as usize).cloned())
                .unwrap_or_else(|| "f-unknown".to_owned()),
        }
    }
}

fn meta_view(names: &FileNames, m: &shared::files::FileMeta) -> Value {
    json!({
        "file": names.name(&m.id),
        "filename": m.filename,
        "content_type": m.content_type,
        "category": m.category,
        "description": m.description,
        "size": m.size,
        "sha256": m.sha256,
        "fixture": m.fixture,
    })
}

fn files(options: &Value, ops: &[Value]) -> Value {
    let dir = options["dir"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| fail("files need options.dir"));
    let mut opts = StoreOptions::new(&dir);
    opts.max_stored_files = uint(options, "max_stored_files", 100_000) as usize;
    opts.max_stored_bytes = uint(options, "max_stored_bytes", 4 << 30);
    opts.max_file_bytes = uint(options, "max_file_bytes", 128 << 20);
    let store = Store::open(opts).unwrap_or_else(|e| fail(&format!("opening the store: {e}")));
    let mut names = FileNames::default();
    let out: Vec<Value> = ops
        .iter()
        .map(|op| file_op(&store, &mut names, op))
        .collect();
    json!({ "observations": out, "disk": disk(std::path::Path::new(&dir)) })
}

fn file_op(store: &Store, names: &mut FileNames, op: &Value) -> Value {
    match op["op"].as_str().unwrap_or_default() {
        "upload" => {
            let mut staged = Vec::new();
            for f in op["files"].as_array().into_iter().flatten() {
                let mut upload = match store.begin_upload() {
                    Ok(u) => u,
                    Err(e) => return refusal(shared::files::StoreError::from(e)),
                };
                let bytes = content(uint(f, "seed", 0), uint(f, "size", 0));
                for chunk in bytes.chunks(4096) {
                    if let Err(e) = upload.write(chunk) {
                        return refusal(e);
                    }
                }
                let new = NewFile {
                    filename: f["name"].as_str().unwrap_or("f.bin").to_owned(),
                    content_type: f["type"].as_str().map(str::to_owned),
                    category: op["category"].as_str().unwrap_or("general").to_owned(),
                    description: op["description"].as_str().unwrap_or("").to_owned(),
                };
                match upload.finish() {
                    Ok(s) => staged.push((s, new)),
                    Err(e) => return refusal(e),
                }
            }
            match store.commit_all(staged) {
                Ok(stored) => {
                    let files: Vec<Value> = stored.iter().map(|m| names.add(&m.id)).collect();
                    json!({ "ok": files })
                }
                Err(e) => refusal(e),
            }
        }
        "delete" => match store.delete(&names.id(&op["file"])) {
            Ok(removed) => {
                json!({ "ok": removed.iter().map(|id| names.name(id)).collect::<Vec<_>>() })
            }
            Err(e) => refusal(e),
        },
        "info" => match store.get(&names.id(&op["file"])) {
            Some(m) => {
                let derived: Vec<Value> = store
                    .derived_of(&m.id)
                    .iter()
                    .map(|d| names.name(&d.id))
                    .collect();
                json!({ "ok": meta_view(names, &m), "derived": derived })
            }
            None => json!({ "ok": null }),
        },
        "list" => {
            let category = op["category"].as_str();
            let (total, page) = store.list(
                category,
                uint(op, "limit", 20) as usize,
                uint(op, "offset", 0) as usize,
            );
            let page: Vec<Value> = page.iter().map(|m| meta_view(names, m)).collect();
            // `Store::list` looks up the page's files only.
            json!({ "total": total, "records_read": page.len(), "files": page })
        }
        "snapshot" => {
            let mut s = serde_json::to_value(store.snapshot()).unwrap_or_default();
            if let Some(m) = s.as_object_mut() {
                m.remove("bytes_out");
            }
            s
        }
        other => fail(&format!("unknown file op {other:?}")),
    }
}

/// Entries per directory of the store, and the content bytes under
/// `files/` (metadata is JSON each side writes its own way).
fn disk(dir: &std::path::Path) -> Value {
    let mut out = Map::new();
    for sub in ["files", "meta", "tmp", "batches"] {
        let entries: Vec<std::fs::DirEntry> = std::fs::read_dir(dir.join(sub))
            .map(|r| r.filter_map(Result::ok).collect())
            .unwrap_or_default();
        out.insert(format!("{sub}_entries"), json!(entries.len()));
        if sub == "files" {
            let bytes: u64 = entries
                .iter()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum();
            out.insert("files_bytes".to_owned(), json!(bytes));
        }
    }
    Value::Object(out)
}
