//! Task submissions as clients send them, validated into [`TaskSpec`]s:
//! every failing field is reported with its path (`tasks[3].priority`,
//! `payload.iterations`), and payloads are checked per task type so no
//! task can ask for unbounded work or a non-loopback address. Payloads are
//! bounded in bytes too ([`Limits`]), and a network task's URL is parsed
//! once, by [`parse_target`], for the validator and the fetcher alike.

use super::model::{payload_bytes, Priority, TaskSpec, TaskType};
use crate::{FieldError, ValidationFailure};
use serde::Deserialize;
use serde_json::{Map, Value};
use url::{Host, Position, Url};

/// Longest start delay, retry count and timeout a task may ask for.
pub const MAX_DELAY_SECONDS: i64 = 3600;
/// Most retries.
pub const MAX_RETRIES: i64 = 10;
/// Longest attempt.
pub const MAX_TIMEOUT_SECONDS: i64 = 3600;
/// Most tasks in a batch.
pub const MAX_BATCH: usize = 100;
/// Largest `max_concurrent` of a batch.
pub const MAX_CONCURRENT: i64 = 20;
/// Largest payload of one task, as compact JSON, by default: a hundred
/// times what the largest legitimate payload (50 recipients and a few
/// template fields) needs, and small enough that a full queue of them stays
/// within the queued-bytes budget's order of magnitude.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;
/// Longest `url` of a network task by default (what browsers, proxies and
/// CDNs commonly accept).
pub const MAX_URL_BYTES: usize = 2048;

/// Size bounds of a task's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest payload, in bytes of compact JSON (422 on `payload` beyond).
    pub max_payload_bytes: usize,
    /// Longest `payload.url` (422 on `payload.url` beyond).
    pub max_url_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_payload_bytes: MAX_PAYLOAD_BYTES,
            max_url_bytes: MAX_URL_BYTES,
        }
    }
}

/// `POST /tasks` as sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskRequest {
    /// One of the task types.
    pub task_type: String,
    /// `low`, `normal` (default), `high`, `urgent`.
    #[serde(default)]
    pub priority: Option<String>,
    /// Type-specific input (an object).
    #[serde(default)]
    pub payload: Option<Value>,
    /// 0–3600.
    #[serde(default)]
    pub delay_seconds: Option<i64>,
    /// 0–10 (default 3).
    #[serde(default)]
    pub max_retries: Option<i64>,
    /// 1–3600 (default 300).
    #[serde(default)]
    pub timeout_seconds: Option<i64>,
}

/// `POST /tasks/batch` as sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// 1–100 tasks.
    pub tasks: Vec<TaskRequest>,
    /// Run them concurrently (default) or one by one in order.
    #[serde(default)]
    pub execute_parallel: Option<bool>,
    /// 1–20 at once (default 5).
    #[serde(default)]
    pub max_concurrent: Option<i64>,
}

/// A validated batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchSpec {
    /// The tasks.
    pub tasks: Vec<TaskSpec>,
    /// Concurrently or one by one.
    pub parallel: bool,
    /// Cap when concurrent.
    pub max_concurrent: usize,
}

/// Collects failures under a path prefix.
struct Errors<'a> {
    prefix: &'a str,
    list: Vec<FieldError>,
}

impl Errors<'_> {
    fn add(&mut self, field: &str, code: &str, message: impl Into<String>) {
        let path = if self.prefix.is_empty() {
            field.to_owned()
        } else {
            format!("{}.{field}", self.prefix)
        };
        self.list.push(FieldError::new(path, code, message));
    }

    fn range(&mut self, field: &str, v: Option<i64>, lo: i64, hi: i64, default: i64) -> i64 {
        match v {
            None => default,
            Some(n) if (lo..=hi).contains(&n) => n,
            Some(_) => {
                self.add(field, "range", format!("must be from {lo} to {hi}"));
                default
            }
        }
    }
}

fn parse_type(s: &str) -> Option<TaskType> {
    serde_json::from_value(Value::String(s.to_owned())).ok()
}

fn parse_priority(s: &str) -> Option<Priority> {
    serde_json::from_value(Value::String(s.to_owned())).ok()
}

const TYPES: &str =
    "computation, io_operation, network_request, data_processing, email_sending, report_generation";

/// An integer payload field in `lo..=hi`.
fn payload_int(p: &Map<String, Value>, name: &str, lo: u64, hi: u64, e: &mut Errors<'_>) {
    if let Some(v) = p.get(name) {
        if !v.as_u64().is_some_and(|n| (lo..=hi).contains(&n)) {
            e.add(
                &format!("payload.{name}"),
                "range",
                format!("must be an integer from {lo} to {hi}"),
            );
        }
    }
}

/// Where a network task's URL leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A path and query of this server (`/health?x=1`), normalized.
    OwnPath(String),
    /// An `http://` URL of `localhost`, `127.0.0.0/8` or `[::1]`, without
    /// its fragment (never sent).
    Loopback(Url),
}

/// Why a URL was refused: a machine code and a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlRefused {
    /// `invalid_url` or `loopback_only`.
    pub code: &'static str,
    /// For people.
    pub message: &'static str,
}

const LOOPBACK_ONLY: UrlRefused = UrlRefused {
    code: "loopback_only",
    message: "network tasks may only reach this machine (http://127.0.0.1, http://localhost, http://[::1] or a /path of this server)",
};

/// Parses a network task's URL: `/path` (the server itself) or
/// `http://localhost`, `http://127.x.x.x`, `http://[::1]` with any port.
/// One parser (the WHATWG one of the `url` crate) decides both what is
/// allowed and what is fetched, so the two cannot disagree; spaces and
/// control characters (which that parser would strip or encode) are
/// refused outright.
pub fn parse_target(raw: &str) -> Result<Target, UrlRefused> {
    let invalid = |message| UrlRefused {
        code: "invalid_url",
        message,
    };
    if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(invalid("must not contain spaces or control characters"));
    }
    if raw.starts_with('/') {
        // A path of this server; `//host/…` (and `/\host`, the same to a
        // WHATWG parser) would name another host.
        if raw.starts_with("//") || raw.contains('\\') {
            return Err(LOOPBACK_ONLY);
        }
        let url = Url::parse(&format!("http://127.0.0.1{raw}"))
            .map_err(|_| invalid("must be a path of this server"))?;
        if url.host() != Some(Host::Ipv4(std::net::Ipv4Addr::LOCALHOST)) || url.port().is_some() {
            return Err(LOOPBACK_ONLY);
        }
        return Ok(Target::OwnPath(
            url[Position::BeforePath..Position::AfterQuery].to_owned(),
        ));
    }
    let mut url =
        Url::parse(raw).map_err(|_| invalid("must be an http:// URL or a /path of this server"))?;
    if url.scheme() != "http" {
        return Err(LOOPBACK_ONLY);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not carry credentials"));
    }
    let loopback = match url.host() {
        Some(Host::Domain(d)) => d == "localhost",
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if !loopback {
        return Err(LOOPBACK_ONLY);
    }
    url.set_fragment(None);
    Ok(Target::Loopback(url))
}

/// Whether `url` is a network task's URL that [`parse_target`] accepts.
pub fn is_loopback_url(url: &str) -> bool {
    parse_target(url).is_ok()
}

fn check_payload(kind: TaskType, p: &Map<String, Value>, limits: &Limits, e: &mut Errors<'_>) {
    let allowed: &[&str] = match kind {
        TaskType::Computation => &["iterations"],
        TaskType::IoOperation => &["file_size"],
        TaskType::NetworkRequest => &["url"],
        TaskType::DataProcessing => &["records"],
        TaskType::EmailSending => &["recipients", "template", "data"],
        TaskType::ReportGeneration => &["type"],
    };
    for key in p.keys() {
        if !allowed.contains(&key.as_str()) && !["fail_times", "hold_ms"].contains(&key.as_str()) {
            e.add(
                &format!("payload.{key}"),
                "unknown_field",
                format!(
                    "not a parameter of this task type (allowed: {})",
                    allowed.join(", ")
                ),
            );
        }
    }
    payload_int(p, "fail_times", 0, 10, e);
    payload_int(p, "hold_ms", 0, 60_000, e);
    match kind {
        TaskType::Computation => payload_int(p, "iterations", 1, 10_000_000, e),
        TaskType::IoOperation => payload_int(p, "file_size", 1, 10 * 1024 * 1024, e),
        TaskType::DataProcessing => payload_int(p, "records", 1, 100_000, e),
        TaskType::NetworkRequest => match p.get("url").map(Value::as_str) {
            None => {}
            Some(Some(url)) if url.len() > limits.max_url_bytes => e.add(
                "payload.url",
                "too_long",
                format!("must be at most {} bytes long", limits.max_url_bytes),
            ),
            Some(Some(url)) => {
                if let Err(refused) = parse_target(url) {
                    e.add("payload.url", refused.code, refused.message);
                }
            }
            Some(None) => e.add("payload.url", "invalid_type", "must be a string"),
        },
        TaskType::EmailSending => {
            match p.get("recipients").map(Value::as_array) {
                None => {}
                Some(Some(list)) if (1..=50).contains(&list.len()) => {
                    for (i, r) in list.iter().enumerate() {
                        let ok = r.as_str().is_some_and(|s| {
                            s.split_once('@')
                                .is_some_and(|(u, d)| !u.is_empty() && d.contains('.'))
                        });
                        if !ok {
                            e.add(
                                &format!("payload.recipients[{i}]"),
                                "email",
                                "must be an e-mail address",
                            );
                        }
                    }
                }
                Some(_) => e.add(
                    "payload.recipients",
                    "length",
                    "must be a list of 1 to 50 addresses",
                ),
            }
            if let Some(t) = p.get("template") {
                if !matches!(t.as_str(), Some("welcome" | "notification" | "report")) {
                    e.add(
                        "payload.template",
                        "one_of",
                        "must be one of welcome, notification, report",
                    );
                }
            }
            if p.get("data").is_some_and(|d| !d.is_object()) {
                e.add("payload.data", "invalid_type", "must be an object");
            }
        }
        TaskType::ReportGeneration => {
            if let Some(t) = p.get("type") {
                if !matches!(t.as_str(), Some("summary" | "detailed")) {
                    e.add("payload.type", "one_of", "must be one of summary, detailed");
                }
            }
        }
    }
}

fn validate_in(
    req: &TaskRequest,
    prefix: &str,
    limits: &Limits,
    errors: &mut Vec<FieldError>,
) -> Option<TaskSpec> {
    let mut e = Errors {
        prefix,
        list: Vec::new(),
    };
    let kind = parse_type(&req.task_type);
    if kind.is_none() {
        e.add("task_type", "one_of", format!("must be one of {TYPES}"));
    }
    let priority = match req.priority.as_deref() {
        None => Some(Priority::Normal),
        Some(p) => parse_priority(p),
    };
    if priority.is_none() {
        e.add(
            "priority",
            "one_of",
            "must be one of low, normal, high, urgent",
        );
    }
    let payload = req
        .payload
        .clone()
        .unwrap_or_else(|| Value::Object(Map::new()));
    match (&payload, kind) {
        (Value::Object(p), Some(k)) => check_payload(k, p, limits, &mut e),
        (Value::Object(_), None) => {}
        _ => e.add("payload", "invalid_type", "must be an object"),
    }
    if let Value::Object(p) = &payload {
        let size = payload_bytes(&payload);
        if size > limits.max_payload_bytes {
            let largest = p
                .iter()
                .max_by_key(|(_, v)| payload_bytes(v))
                .map_or("", |(k, _)| k.as_str());
            e.add(
                "payload",
                "too_large",
                format!(
                    "must be at most {} bytes as JSON (is {size}, most of it in `{largest}`)",
                    limits.max_payload_bytes
                ),
            );
        }
    }
    let delay = e.range("delay_seconds", req.delay_seconds, 0, MAX_DELAY_SECONDS, 0);
    let retries = e.range("max_retries", req.max_retries, 0, MAX_RETRIES, 3);
    let timeout = e.range(
        "timeout_seconds",
        req.timeout_seconds,
        1,
        MAX_TIMEOUT_SECONDS,
        300,
    );
    let ok = e.list.is_empty();
    errors.extend(e.list);
    if !ok {
        return None;
    }
    Some(TaskSpec {
        task_type: kind?,
        priority: priority?,
        payload,
        delay_seconds: delay as u64,
        max_retries: retries as u32,
        timeout_seconds: timeout as u64,
    })
}

impl TaskRequest {
    /// The validated task under the default [`Limits`], or every failing
    /// field.
    pub fn validate(&self) -> Result<TaskSpec, ValidationFailure> {
        self.validate_with(&Limits::default())
    }

    /// The validated task, or every failing field.
    pub fn validate_with(&self, limits: &Limits) -> Result<TaskSpec, ValidationFailure> {
        let mut errors = Vec::new();
        validate_in(self, "", limits, &mut errors).ok_or(ValidationFailure { errors })
    }
}

impl BatchRequest {
    /// The validated batch under the default [`Limits`], or every failing
    /// field (`tasks[i].…`).
    pub fn validate(&self) -> Result<BatchSpec, ValidationFailure> {
        self.validate_with(&Limits::default())
    }

    /// The validated batch, or every failing field (`tasks[i].…`).
    pub fn validate_with(&self, limits: &Limits) -> Result<BatchSpec, ValidationFailure> {
        let mut errors = Vec::new();
        if self.tasks.is_empty() || self.tasks.len() > MAX_BATCH {
            errors.push(FieldError::new(
                "tasks",
                "length",
                format!("must hold 1 to {MAX_BATCH} tasks"),
            ));
        }
        let mut e = Errors {
            prefix: "",
            list: Vec::new(),
        };
        let max_concurrent = e.range("max_concurrent", self.max_concurrent, 1, MAX_CONCURRENT, 5);
        errors.extend(e.list);
        let tasks: Vec<Option<TaskSpec>> = self
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| validate_in(t, &format!("tasks[{i}]"), limits, &mut errors))
            .collect();
        ValidationFailure::check(errors)?;
        Ok(BatchSpec {
            tasks: tasks.into_iter().flatten().collect(),
            parallel: self.execute_parallel.unwrap_or(true),
            max_concurrent: max_concurrent as usize,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn task(v: Value) -> Result<TaskSpec, Vec<String>> {
        serde_json::from_value::<TaskRequest>(v)
            .unwrap()
            .validate()
            .map_err(|f| {
                f.errors
                    .into_iter()
                    .map(|e| format!("{}:{}", e.field, e.code))
                    .collect()
            })
    }

    #[test]
    fn defaults_and_limits() {
        let t = task(serde_json::json!({"task_type": "computation"})).unwrap();
        assert_eq!(
            (
                t.priority,
                t.max_retries,
                t.timeout_seconds,
                t.delay_seconds
            ),
            (Priority::Normal, 3, 300, 0)
        );
        assert_eq!(
            task(
                serde_json::json!({"task_type": "mining", "priority": "asap", "delay_seconds": -1,
                "max_retries": 11, "timeout_seconds": 0})
            )
            .unwrap_err(),
            [
                "task_type:one_of",
                "priority:one_of",
                "delay_seconds:range",
                "max_retries:range",
                "timeout_seconds:range"
            ]
        );
        assert_eq!(
            task(serde_json::json!({"task_type": "computation", "payload": {"iterations": 0, "x": 1}})).unwrap_err(),
            ["payload.x:unknown_field", "payload.iterations:range"]
        );
        assert_eq!(
            task(serde_json::json!({"task_type": "io_operation", "payload": [1]})).unwrap_err(),
            ["payload:invalid_type"]
        );
    }

    #[test]
    fn network_tasks_stay_on_this_machine() {
        for ok in [
            "/health",
            "http://127.0.0.1:8300/health",
            "http://localhost/x",
            "http://[::1]:80/",
            "http://127.1.2.3",
        ] {
            assert!(is_loopback_url(ok), "{ok}");
        }
        for bad in [
            "https://example.com",
            "http://example.com",
            "http://10.0.0.1/",
            "http://127.0.0.1@evil.com/",
            "http://localhost.evil.com/",
            "ftp://127.0.0.1/",
            "//evil.com/x",
            "/\\evil.com",
            "http://[::2]/",
        ] {
            assert!(!is_loopback_url(bad), "{bad}");
        }
        assert_eq!(
            task(serde_json::json!({"task_type": "network_request", "payload": {"url": "https://example.com"}})).unwrap_err(),
            ["payload.url:loopback_only"]
        );
    }

    #[test]
    fn payload_bytes_and_url_length_are_bounded() {
        let blob = "x".repeat(100 * 1024);
        assert_eq!(
            task(serde_json::json!({"task_type": "email_sending",
                "payload": {"recipients": ["a@b.org"], "data": {"blob": blob}}}))
            .unwrap_err(),
            ["payload:too_large"]
        );
        let long = format!("/{}", "a".repeat(5000));
        assert_eq!(
            task(serde_json::json!({"task_type": "network_request", "payload": {"url": long}}))
                .unwrap_err(),
            ["payload.url:too_long"]
        );
        let small = serde_json::json!({"task_type": "email_sending",
            "payload": {"data": {"name": "x".repeat(1000)}}});
        assert!(task(small).is_ok());
    }

    #[test]
    fn urls_with_control_characters_or_spaces_are_refused() {
        for bad in [
            "/health\r\nX-Injected: 1",
            "/health HTTP/1.1",
            "/a\tb",
            "http://localhost/a\nb",
            "http://127.0.0.1/\u{7f}",
            " /health",
            "/health ",
            "http://localhost:99999/",
            "http://user@localhost/",
        ] {
            assert!(!is_loopback_url(bad), "{bad:?}");
        }
    }

    #[test]
    fn batches() {
        let b = |v: Value| {
            serde_json::from_value::<BatchRequest>(v)
                .unwrap()
                .validate()
        };
        let ok = b(
            serde_json::json!({"tasks": [{"task_type": "computation"}], "execute_parallel": false}),
        )
        .unwrap();
        assert_eq!(
            (ok.tasks.len(), ok.parallel, ok.max_concurrent),
            (1, false, 5)
        );
        let empty = b(serde_json::json!({"tasks": []})).unwrap_err();
        assert_eq!(empty.errors[0].field, "tasks");
        let many: Vec<Value> = (0..101)
            .map(|_| serde_json::json!({"task_type": "computation"}))
            .collect();
        assert_eq!(
            b(serde_json::json!({"tasks": many})).unwrap_err().errors[0].code,
            "length"
        );
        let bad = b(serde_json::json!({"tasks": [{"task_type": "computation"}, {"task_type": "x"}], "max_concurrent": 21})).unwrap_err();
        let fields: Vec<&str> = bad.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["max_concurrent", "tasks[1].task_type"]);
    }
}
