//! What the six task types do: real, bounded work on a blocking thread,
//! with results a caller can check. Two payload knobs work for every type:
//! `fail_times: n` fails the first n attempts (to exercise retries) and
//! `hold_ms` keeps the task busy that long first, checking for
//! cancellation (to exercise timeouts and cancel).

use super::model::TaskType;
use super::queue::{Cancel, Executor, Queue, TaskInput, Work};
use crate::mix::splitmix64;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

/// Where tasks do their work, and what they may reach.
pub struct Workbench {
    dir: PathBuf,
    own_addr: OnceLock<SocketAddr>,
    queue: OnceLock<Weak<Queue>>,
}

/// The deterministic result of `computation` for `iterations`: a SplitMix64
/// chain folded into a checksum. `None` when cancelled midway.
pub fn computation_checksum(iterations: u64, cancel: &Cancel) -> Option<u64> {
    let mut acc = 0u64;
    for i in 0..iterations {
        if i % 65_536 == 0 && cancel.is_cancelled() {
            return None;
        }
        acc = splitmix64(acc ^ i).rotate_left(7);
    }
    Some(acc)
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    crate::hex::hex(&sha2::Sha256::digest(bytes))
}

impl Workbench {
    /// Work in `dir` (files of `io_operation`, the `outbox/` of
    /// `email_sending`, `reports/`).
    pub fn new(dir: impl Into<PathBuf>) -> std::io::Result<Arc<Self>> {
        let dir = dir.into();
        for sub in ["io", "outbox", "reports"] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        Ok(Arc::new(Self {
            dir,
            own_addr: OnceLock::new(),
            queue: OnceLock::new(),
        }))
    }

    /// Where a `/path` URL of a network task goes (the server itself).
    pub fn set_own_addr(&self, addr: SocketAddr) {
        let _ = self.own_addr.set(addr);
    }

    /// Lets `report_generation` read the queue's statistics.
    pub fn attach(&self, queue: &Arc<Queue>) {
        let _ = self.queue.set(Arc::downgrade(queue));
    }

    /// An executor running tasks on this workbench.
    pub fn executor(self: &Arc<Self>) -> impl Executor {
        let bench = self.clone();
        move |input: TaskInput, cancel: Cancel| -> Work {
            let bench = bench.clone();
            Box::pin(async move { bench.run(input, cancel).await })
        }
    }

    async fn run(self: Arc<Self>, input: TaskInput, cancel: Cancel) -> Result<Value, String> {
        let p = &input.payload;
        let hold = p["hold_ms"].as_u64().unwrap_or(0);
        for _ in 0..hold.div_ceil(10) {
            if cancel.is_cancelled() {
                return Err("cancelled".into());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if u64::from(input.attempt) < p["fail_times"].as_u64().unwrap_or(0) {
            return Err(format!(
                "planned failure {} of {}",
                input.attempt + 1,
                p["fail_times"]
            ));
        }
        let bench = self.clone();
        tokio::task::spawn_blocking(move || bench.work(&input, &cancel))
            .await
            .map_err(|e| format!("the task crashed: {e}"))?
    }

    fn work(&self, input: &TaskInput, cancel: &Cancel) -> Result<Value, String> {
        let p = &input.payload;
        let n = |name: &str, default: u64| p[name].as_u64().unwrap_or(default);
        match input.task_type {
            TaskType::Computation => {
                let iterations = n("iterations", 100_000);
                let sum = computation_checksum(iterations, cancel).ok_or("cancelled")?;
                Ok(json!({ "iterations": iterations, "checksum": format!("{sum:016x}") }))
            }
            TaskType::IoOperation => self.io(&input.id, input.attempt, n("file_size", 1024)),
            TaskType::NetworkRequest => self.fetch(p["url"].as_str().unwrap_or("/health")),
            TaskType::DataProcessing => Ok(aggregate(n("records", 1000))),
            TaskType::EmailSending => self.email(&input.id, p),
            TaskType::ReportGeneration => {
                self.report(&input.id, p["type"].as_str().unwrap_or("summary"))
            }
        }
    }

    fn io(&self, id: &str, attempt: u32, size: u64) -> Result<Value, String> {
        let path = self.dir.join("io").join(format!("{id}-{attempt}.bin"));
        let data: Vec<u8> = (0..size).map(|i| (splitmix64(i) & 0xff) as u8).collect();
        let outcome = (|| -> std::io::Result<Vec<u8>> {
            let mut f = std::fs::File::create(&path)?;
            f.write_all(&data)?;
            f.sync_all()?;
            let mut back = Vec::with_capacity(data.len());
            std::fs::File::open(&path)?.read_to_end(&mut back)?;
            Ok(back)
        })();
        let _ = std::fs::remove_file(&path);
        let back = outcome.map_err(|e| format!("file I/O failed: {e}"))?;
        if back != data {
            return Err("the file read back differs from what was written".into());
        }
        Ok(json!({ "bytes": size, "sha256": sha256_hex(&back), "verified": true }))
    }

    fn fetch(&self, url: &str) -> Result<Value, String> {
        if !super::request::is_loopback_url(url) {
            return Err("network tasks may only reach this machine".into());
        }
        let (addr, host, path) = if url.starts_with('/') {
            let addr = *self
                .own_addr
                .get()
                .ok_or("no address of this server is known")?;
            (addr, addr.to_string(), url.to_owned())
        } else {
            let rest = url.trim_start_matches("http://");
            let (authority, path) = rest
                .split_once('/')
                .map_or((rest, "/".to_owned()), |(a, p)| (a, format!("/{p}")));
            let with_port = if authority
                .rsplit_once(':')
                .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
                && !authority.ends_with(']')
            {
                authority.to_owned()
            } else {
                format!("{authority}:80")
            };
            let addr = with_port
                .to_socket_addrs()
                .map_err(|e| format!("cannot resolve {authority}: {e}"))?
                .find(|a| a.ip().is_loopback())
                .ok_or("the host does not resolve to a loopback address")?;
            (addr, authority.to_owned(), path)
        };
        let timeout = Duration::from_secs(5);
        let mut s = TcpStream::connect_timeout(&addr, timeout)
            .map_err(|e| format!("connect {addr}: {e}"))?;
        s.set_read_timeout(Some(timeout))
            .map_err(|e| e.to_string())?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        s.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
        let mut answer = Vec::new();
        s.take(1024 * 1024)
            .read_to_end(&mut answer)
            .map_err(|e| format!("reading the answer: {e}"))?;
        let head = String::from_utf8_lossy(&answer[..answer.len().min(64)]).into_owned();
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or("not an HTTP answer")?;
        Ok(json!({ "url": url, "status": status, "bytes": answer.len() }))
    }

    fn email(&self, id: &str, p: &Value) -> Result<Value, String> {
        let recipients: Vec<&str> = p["recipients"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_else(|| vec!["user@example.com"]);
        let template = p["template"].as_str().unwrap_or("welcome");
        let data = p.get("data").cloned().unwrap_or_else(|| json!({}));
        let subject = match template {
            "notification" => "You have a new notification",
            "report" => "Your report is ready",
            _ => "Welcome aboard",
        };
        let mut body = format!(
            "To: {}\r\nSubject: {subject}\r\nX-Task: {id}\r\n\r\nHello,\r\n\r\nThis is the {template} message.\r\n",
            recipients.join(", ")
        );
        if let Some(fields) = data.as_object() {
            for (k, v) in fields {
                body.push_str(&format!("{k}: {v}\r\n"));
            }
        }
        let path = self.dir.join("outbox").join(format!("{id}.eml"));
        std::fs::write(&path, &body).map_err(|e| format!("writing the message: {e}"))?;
        Ok(json!({
            "file": format!("outbox/{id}.eml"),
            "bytes": body.len(),
            "recipients": recipients.len(),
            "sha256": sha256_hex(body.as_bytes()),
        }))
    }

    fn report(&self, id: &str, kind: &str) -> Result<Value, String> {
        let stats = self
            .queue
            .get()
            .and_then(Weak::upgrade)
            .map(|q| q.stats())
            .ok_or("the queue is gone")?;
        let doc = if kind == "detailed" {
            json!({ "kind": kind, "stats": stats })
        } else {
            json!({
                "kind": kind,
                "submitted": stats.submitted,
                "finished": stats.finished,
                "by_status": stats.by_status,
            })
        };
        let text = serde_json::to_vec_pretty(&doc).map_err(|e| e.to_string())?;
        let path = self.dir.join("reports").join(format!("{id}.json"));
        std::fs::write(&path, &text).map_err(|e| format!("writing the report: {e}"))?;
        Ok(json!({
            "file": format!("reports/{id}.json"),
            "bytes": text.len(),
            "type": kind,
            "submitted": stats.submitted,
        }))
    }
}

/// Generates `records` deterministic rows (category 0–7, value 0–9999) and
/// aggregates count, sum, min and max per category.
pub fn aggregate(records: u64) -> Value {
    let mut per: [(u64, u64, u64, u64); 8] = [(0, 0, u64::MAX, 0); 8];
    for i in 0..records {
        let r = splitmix64(i);
        let (cat, value) = ((r % 8) as usize, (r >> 8) % 10_000);
        let c = &mut per[cat];
        c.0 += 1;
        c.1 += value;
        c.2 = c.2.min(value);
        c.3 = c.3.max(value);
    }
    let categories: serde_json::Map<String, Value> = per
        .iter()
        .enumerate()
        .filter(|(_, c)| c.0 > 0)
        .map(|(i, c)| {
            (
                format!("category_{i}"),
                json!({ "count": c.0, "sum": c.1, "min": c.2, "max": c.3 }),
            )
        })
        .collect();
    json!({
        "records": records,
        "total": per.iter().map(|c| c.1).sum::<u64>(),
        "categories": categories,
    })
}
