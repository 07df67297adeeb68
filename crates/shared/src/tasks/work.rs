//! What the six task types do: real, bounded work on a blocking thread (a
//! network request is async, with one shared HTTP client; the bytes an
//! I/O task writes are a constant pattern, kept once and grown to the
//! largest size asked), with results a caller can check. Two payload knobs
//! work for every type:
//! `fail_times: n` fails the first n attempts (to exercise retries) and
//! `hold_ms` keeps the task busy that long first, checking for
//! cancellation (to exercise timeouts and cancel).

use super::model::TaskType;
use super::queue::{Cancel, Executor, Queue, TaskInput, Work};
use super::request::{parse_target, Target};
use crate::mix::splitmix64;
use crate::sync::{read, write};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock, RwLock, Weak};
use std::time::Duration;

/// Largest answer a network task reads.
pub const MAX_RESPONSE_BYTES: u64 = 1024 * 1024;
/// How long a network task may take to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a network task's whole exchange may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Most pattern bytes kept: the largest `file_size` a task may ask for.
const PATTERN_CAP: usize = 10 * 1024 * 1024;

/// Where tasks do their work, and what they may reach.
pub struct Workbench {
    dir: PathBuf,
    own_addr: OnceLock<SocketAddr>,
    queue: OnceLock<Weak<Queue>>,
    /// Network tasks' client: no redirects followed, no proxy, `localhost`
    /// pinned to loopback, bounded times.
    http: reqwest::Client,
    pattern: Pattern,
}

/// The bytes every `io_operation` writes: byte i is `splitmix64(i) & 0xff`.
/// The pattern is a constant, so the longest prefix any task has needed is
/// kept (up to a cap: [`PATTERN_CAP`]) and shared: a task's work is
/// writing, syncing, reading back, comparing and hashing it, not deriving
/// its input again byte by byte. Nobody waits for another task's
/// generation: a task missing bytes makes them itself.
struct Pattern {
    kept: RwLock<Arc<[u8]>>,
    cap: usize,
}

impl Pattern {
    fn new(cap: usize) -> Self {
        Self {
            kept: RwLock::new(Arc::from(Vec::new())),
            cap,
        }
    }

    /// At least the first `size` bytes.
    fn prefix(&self, size: usize) -> Arc<[u8]> {
        let kept = read(&self.kept).clone();
        if kept.len() >= size {
            return kept;
        }
        let mut grown = Vec::with_capacity(size);
        grown.extend_from_slice(&kept);
        grown.extend((kept.len() as u64..size as u64).map(|i| (splitmix64(i) & 0xff) as u8));
        let grown: Arc<[u8]> = grown.into();
        if size <= self.cap {
            let mut kept = write(&self.kept);
            if kept.len() < grown.len() {
                *kept = grown.clone();
            }
        }
        grown
    }
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
        let loopback = [
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 0),
        ];
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .resolve_to_addrs("localhost", &loopback)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(FETCH_TIMEOUT)
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Arc::new(Self {
            dir,
            own_addr: OnceLock::new(),
            queue: OnceLock::new(),
            http,
            pattern: Pattern::new(PATTERN_CAP),
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
        if input.task_type == TaskType::NetworkRequest {
            return self.fetch(p["url"].as_str().unwrap_or("/health")).await;
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
            TaskType::IoOperation => {
                let size = usize::try_from(n("file_size", 1024)).map_err(|e| e.to_string())?;
                self.io(&input.id, input.attempt, size)
            }
            TaskType::NetworkRequest => Err("network tasks are not blocking work".into()),
            TaskType::DataProcessing => Ok(aggregate(n("records", 1000))),
            TaskType::EmailSending => self.email(&input.id, p),
            TaskType::ReportGeneration => {
                self.report(&input.id, p["type"].as_str().unwrap_or("summary"))
            }
        }
    }

    /// Writes `size` pattern bytes, syncs, reads them back, deletes the
    /// file, compares and hashes.
    fn io(&self, id: &str, attempt: u32, size: usize) -> Result<Value, String> {
        let path = self.dir.join("io").join(format!("{id}-{attempt}.bin"));
        let pattern = self.pattern.prefix(size);
        let data = &pattern[..size];
        let outcome = (|| -> std::io::Result<Vec<u8>> {
            let mut f = std::fs::File::create(&path)?;
            f.write_all(data)?;
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

    /// GET of a URL [`parse_target`] accepts, its answer read up to
    /// [`MAX_RESPONSE_BYTES`].
    async fn fetch(&self, url: &str) -> Result<Value, String> {
        let target = match parse_target(url).map_err(|r| r.message.to_owned())? {
            Target::Loopback(u) => u,
            Target::OwnPath(path) => {
                let mut addr = *self
                    .own_addr
                    .get()
                    .ok_or("no address of this server is known")?;
                if addr.ip().is_unspecified() {
                    addr.set_ip(match addr {
                        SocketAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                        SocketAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
                    });
                }
                reqwest::Url::parse(&format!("http://{addr}{path}")).map_err(|e| e.to_string())?
            }
        };
        let too_large = || format!("the answer is larger than {MAX_RESPONSE_BYTES} bytes");
        let mut answer = self
            .http
            .get(target)
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        if answer
            .content_length()
            .is_some_and(|n| n > MAX_RESPONSE_BYTES)
        {
            return Err(too_large());
        }
        let status = answer.status().as_u16();
        let mut bytes = 0u64;
        while let Some(chunk) = answer
            .chunk()
            .await
            .map_err(|e| format!("reading the answer: {e}"))?
        {
            bytes += chunk.len() as u64;
            if bytes > MAX_RESPONSE_BYTES {
                return Err(too_large());
            }
        }
        Ok(json!({ "url": url, "status": status, "bytes": bytes }))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn formula(n: usize) -> Vec<u8> {
        (0..n as u64)
            .map(|i| (splitmix64(i) & 0xff) as u8)
            .collect()
    }

    /// The kept pattern is the formula's bytes, grown to the largest size
    /// asked within the cap; beyond it a task gets its bytes unkept.
    #[test]
    fn the_pattern_grows_to_the_largest_size_asked_within_its_cap() {
        let p = Pattern::new(1000);
        assert_eq!(&p.prefix(100)[..], &formula(100)[..]);
        assert_eq!(p.prefix(40).len(), 100, "a shorter prefix is the kept one");
        assert_eq!(&p.prefix(1000)[..], &formula(1000)[..]);
        let beyond = p.prefix(1500);
        assert_eq!(&beyond[..], &formula(1500)[..]);
        assert_eq!(read(&p.kept).len(), 1000, "nothing beyond the cap is kept");
        assert_eq!(p.prefix(0).len(), 1000);
    }

    #[tokio::test]
    async fn io_tasks_write_the_pattern_and_read_it_back() {
        use sha2::Digest;
        let dir = tempfile::tempdir().unwrap();
        let bench = Workbench::new(dir.path()).unwrap();
        for size in [70_000, 3, 70_001] {
            let done = bench.io("t", 0, size).unwrap();
            let want = crate::hex::hex(&sha2::Sha256::digest(formula(size)));
            assert_eq!(
                done,
                json!({ "bytes": size, "sha256": want, "verified": true })
            );
        }
        assert_eq!(read(&bench.pattern.kept).len(), 70_001);
        assert_eq!(std::fs::read_dir(dir.path().join("io")).unwrap().count(), 0);
    }
}
