//! A hostile client on raw sockets: malformed and ambiguous HTTP, oversized
//! heads, smuggling attempts, slow and short bodies, hostile paths and JSON,
//! an idle-connection flood. Every probe must get a 4xx or a closed
//! connection (never a 5xx, never a hang), and the server must still answer
//! `GET /health` after each one. The probes read the category's contract
//! only to find a JSON endpoint and the path templates to attack.

mod one_shot;

use crate::Contract;
use one_shot::one_shot_probes;
use std::fmt::Write as _;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long to wait, and how hard to push.
#[derive(Debug, Clone)]
pub struct HostileOptions {
    /// Longest the server may take to answer or close a slow client (set it
    /// above the server's header and body timeouts).
    pub slow_wait: Duration,
    /// Longest wait for an ordinary answer.
    pub answer_wait: Duration,
    /// Idle connections opened at once by the flood probe.
    pub flood: usize,
}

impl Default for HostileOptions {
    fn default() -> Self {
        Self {
            slow_wait: Duration::from_secs(20),
            answer_wait: Duration::from_secs(10),
            flood: 256,
        }
    }
}

/// What a connection got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// A response with this status.
    Answer(u16),
    /// Closed (or reset) without a response.
    Closed,
    /// Neither an answer nor a close within the wait.
    Open,
}

impl std::fmt::Display for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Answer(s) => write!(f, "{s}"),
            Self::Closed => f.write_str("closed"),
            Self::Open => f.write_str("still open"),
        }
    }
}

/// One probe's result.
#[derive(Debug, Clone)]
pub struct ProbeResult {
    /// Short name of the probe.
    pub name: String,
    /// What the connection(s) got, in order.
    pub seen: Vec<Seen>,
    /// Why it failed; `None` when it passed.
    pub failure: Option<String>,
}

/// Every probe's result.
#[derive(Debug, Clone, Default)]
pub struct HostileReport {
    /// In the order run.
    pub probes: Vec<ProbeResult>,
}

impl HostileReport {
    /// Whether every probe passed.
    pub fn passed(&self) -> bool {
        self.probes.iter().all(|p| p.failure.is_none())
    }

    /// One line per probe, failures explained.
    pub fn table(&self) -> String {
        let mut out = String::new();
        for p in &self.probes {
            let seen: Vec<String> = p.seen.iter().map(Seen::to_string).collect();
            let verdict = p.failure.as_deref().unwrap_or("ok");
            let _ = writeln!(out, "{:<34} {:<18} {verdict}", p.name, seen.join(","));
        }
        out
    }
}

/// What a probe requires of the first response.
#[derive(Debug, Clone, Copy)]
enum Rule {
    /// A 4xx or a close.
    Refused,
    /// Anything but a 5xx or a hang (for requests a server may serve).
    NoServerError,
    /// A 4xx, a close, or `505 HTTP Version Not Supported` (the one 5xx
    /// that blames the client).
    BadVersion,
    /// Refused, and never a second answer on the connection: the bytes
    /// after an ambiguous body must not be served as a request.
    NoSmuggling,
}

/// The first POST endpoint with a JSON body and no path parameter.
fn json_path(contract: &Contract) -> String {
    contract
        .endpoints
        .iter()
        .find(|e| e.method == "POST" && e.request.json.is_some() && !e.path.contains('{'))
        .map_or_else(|| "/health".to_owned(), |e| e.path.clone())
}

/// Reads one response's head and body; `None` if the connection closed
/// (or failed) before a status line.
async fn read_answer(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<u16> {
    let head_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i + 4;
        }
        if !fill(stream, buf).await {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let length = head.lines().find_map(|l| {
        l.strip_prefix("content-length:")
            .and_then(|v| v.trim().parse::<usize>().ok())
    });
    let chunked = head
        .lines()
        .any(|l| l.starts_with("transfer-encoding:") && l.contains("chunked"));
    if chunked {
        while find(&buf[head_end..], b"0\r\n\r\n").is_none() {
            if !fill(stream, buf).await {
                break;
            }
        }
        let end = find(&buf[head_end..], b"0\r\n\r\n").map_or(buf.len(), |i| head_end + i + 5);
        buf.drain(..end);
    } else {
        let end = head_end + length.unwrap_or(0);
        while buf.len() < end {
            if !fill(stream, buf).await {
                break;
            }
        }
        buf.drain(..end.min(buf.len()));
    }
    Some(status)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads more into `buf`; false on end or error.
async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 8192];
    match stream.read(&mut chunk).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
    }
}

/// Sends `bytes` (a write error is fine: the server may close early) and
/// reports up to `answers` responses, then whether it closed.
async fn exchange(authority: &str, bytes: &[u8], answers: usize, wait: Duration) -> Vec<Seen> {
    let Ok(Ok(mut stream)) = tokio::time::timeout(wait, TcpStream::connect(authority)).await else {
        return vec![Seen::Closed];
    };
    let _ = stream.write_all(bytes).await;
    see(&mut stream, answers, wait).await
}

/// Up to `answers` responses, then `Closed` if the server closed (an
/// `Open` first entry means nothing came at all).
async fn see(stream: &mut TcpStream, answers: usize, wait: Duration) -> Vec<Seen> {
    let mut seen = Vec::new();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(wait, async {
        for _ in 0..answers {
            match read_answer(stream, &mut buf).await {
                Some(status) => seen.push(Seen::Answer(status)),
                None => {
                    seen.push(Seen::Closed);
                    return;
                }
            }
        }
    })
    .await;
    if read.is_err() {
        seen.push(Seen::Open);
    }
    seen
}

/// Whether the server answers `GET /health` with 200.
async fn healthy(authority: &str, wait: Duration) -> bool {
    let seen = exchange(
        authority,
        b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        1,
        wait,
    )
    .await;
    seen.first() == Some(&Seen::Answer(200))
}

fn judge(rule: Rule, seen: &[Seen]) -> Option<String> {
    if matches!(rule, Rule::NoSmuggling)
        && seen.iter().filter(|s| matches!(s, Seen::Answer(_))).count() > 1
    {
        return Some("the bytes after the body were served as a second request".to_owned());
    }
    match (rule, seen.first()) {
        (Rule::BadVersion, Some(Seen::Answer(505))) => None,
        (_, Some(Seen::Answer(s))) if *s >= 500 => Some(format!("server error {s}")),
        (_, Some(Seen::Open) | None) => Some("neither answered nor closed".to_owned()),
        (Rule::Refused | Rule::BadVersion | Rule::NoSmuggling, Some(Seen::Answer(s)))
            if !(400..500).contains(s) =>
        {
            Some(format!("accepted with {s}, expected a 4xx or a close"))
        }
        _ => None,
    }
}

/// Runs every probe against the server at `base_url` (`http://host:port`).
pub async fn probe_server(
    base_url: &str,
    contract: &Contract,
    options: &HostileOptions,
) -> HostileReport {
    let authority = base_url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut report = HostileReport::default();
    let wait = options.answer_wait;
    let probes = one_shot_probes(contract);
    let total = probes.len() + SESSION_PROBES;
    for p in probes {
        let answers = if matches!(p.rule, Rule::NoSmuggling) {
            2
        } else {
            1
        };
        let seen = exchange(&authority, &p.bytes, answers, wait).await;
        let failure = judge(p.rule, &seen);
        let alive = healthy(&authority, wait).await;
        if !record(&mut report, p.name, seen, failure, alive, total) {
            return report;
        }
    }
    let json = json_path(contract);
    for session in 0..SESSION_PROBES {
        let (name, seen, failure) = match session {
            0 => pipelining(&authority, wait).await,
            1 => slow_headers(&authority, options.slow_wait).await,
            2 => slow_body(&authority, &json, options.slow_wait).await,
            3 => short_body(&authority, &json, options.slow_wait).await,
            _ => idle_flood(&authority, options.flood, wait).await,
        };
        let alive = healthy(&authority, wait).await;
        if !record(&mut report, name.into(), seen, failure, alive, total) {
            return report;
        }
    }
    report
}

/// Probes that hold a connection in a particular way (pipelining, slow
/// head, slow body, short body, idle flood).
const SESSION_PROBES: usize = 5;

/// Records a probe and whether `/health` answered after it; when it did
/// not, records that the remaining probes were not run and returns false.
fn record(
    report: &mut HostileReport,
    name: String,
    seen: Vec<Seen>,
    failure: Option<String>,
    alive: bool,
    total: usize,
) -> bool {
    let failure = failure.or_else(|| (!alive).then(|| "/health stopped answering".into()));
    report.probes.push(ProbeResult {
        name,
        seen,
        failure,
    });
    if !alive && total > report.probes.len() {
        let left = total - report.probes.len();
        report.probes.push(ProbeResult {
            name: format!("({left} more probes)"),
            seen: Vec::new(),
            failure: Some("not run: the server stopped answering /health".into()),
        });
    }
    alive
}

type Outcome = (&'static str, Vec<Seen>, Option<String>);

/// Three requests in one write: three answers, in order.
async fn pipelining(authority: &str, wait: Duration) -> Outcome {
    let one = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    let bytes = format!("{one}{one}GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let seen = exchange(authority, bytes.as_bytes(), 3, wait).await;
    let ok = seen == [Seen::Answer(200); 3];
    let failure = (!ok).then(|| "expected three 200 answers".to_owned());
    ("pipelined requests", seen, failure)
}

/// A head that never ends: closed (or a 408) by the header timeout.
async fn slow_headers(authority: &str, wait: Duration) -> Outcome {
    let seen = exchange(authority, b"GET /health HTTP/1.1\r\nHost: x\r\n", 1, wait).await;
    let failure = judge(Rule::Refused, &seen);
    ("slow headers", seen, failure)
}

/// A body that stops after a few bytes: a 408 or a close.
async fn slow_body(authority: &str, path: &str, wait: Duration) -> Outcome {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"a\":"
    );
    let seen = exchange(authority, head.as_bytes(), 1, wait).await;
    let failure = judge(Rule::Refused, &seen);
    ("slow body", seen, failure)
}

/// A body shorter than its `Content-Length`, then the client stops sending.
async fn short_body(authority: &str, path: &str, wait: Duration) -> Outcome {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{}}"
    );
    let seen = async {
        let mut stream = TcpStream::connect(authority).await.ok()?;
        stream.write_all(head.as_bytes()).await.ok()?;
        stream.shutdown().await.ok()?;
        Some(see(&mut stream, 1, wait).await)
    }
    .await
    .unwrap_or_else(|| vec![Seen::Closed]);
    let failure = judge(Rule::Refused, &seen);
    ("short body, then EOF", seen, failure)
}

/// Many idle connections at once: the server still answers others.
async fn idle_flood(authority: &str, count: usize, wait: Duration) -> Outcome {
    let mut idle = Vec::with_capacity(count);
    for _ in 0..count {
        match TcpStream::connect(authority).await {
            Ok(s) => idle.push(s),
            Err(_) => break,
        }
    }
    let opened = idle.len();
    let alive = healthy(authority, wait).await;
    drop(idle);
    let failure = if opened < count {
        Some(format!("only {opened} of {count} connections opened"))
    } else if !alive {
        Some(format!(
            "/health did not answer beside {count} idle connections"
        ))
    } else {
        None
    };
    let seen = vec![if alive { Seen::Answer(200) } else { Seen::Open }];
    ("idle-connection flood", seen, failure)
}

/// Server flags that make the slow-client probes quick: a 1 s header and
/// body-idle timeout and a 2 s keep-alive timeout (server-kit's flags).
pub const QUICK_TIMEOUT_FLAGS: [&str; 6] = [
    "--header-timeout",
    "1s",
    "--body-idle-timeout",
    "1s",
    "--keep-alive-timeout",
    "2s",
];

/// Starts `program` (a category server built on server-kit) on an
/// ephemeral port with [`QUICK_TIMEOUT_FLAGS`] and probes it with the
/// category's contract; the server is stopped when this returns.
pub async fn start_and_probe(program: &str, category: &str) -> anyhow::Result<HostileReport> {
    let mut args = vec!["--port", "0", "--threads", "2"];
    args.extend(QUICK_TIMEOUT_FLAGS);
    let server = crate::process::ServerProcess::start(program, &args, Duration::from_secs(30))?;
    let contract = crate::load(category)?;
    let options = HostileOptions {
        slow_wait: Duration::from_secs(6),
        ..HostileOptions::default()
    };
    let report = probe_server(&server.url, &contract, &options).await;
    drop(server);
    Ok(report)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A server that answers `/health` and nothing else well (a 500 for
    /// everything else, connections never closed): every probe but the
    /// idle flood must fail (the control for the category tests).
    #[tokio::test]
    async fn a_server_that_fails_is_caught() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        let answer: &[u8] = if buf[..n].starts_with(b"GET /health ") {
                            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
                        } else {
                            b"HTTP/1.1 500 Oops\r\ncontent-length: 0\r\n\r\n"
                        };
                        if s.write_all(answer).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let contract = crate::load("basic").unwrap();
        let options = HostileOptions {
            slow_wait: Duration::from_millis(500),
            answer_wait: Duration::from_millis(500),
            flood: 8,
        };
        let report = probe_server(&format!("http://{addr}"), &contract, &options).await;
        assert!(!report.passed());
        for p in &report.probes {
            let flood = p.name == "idle-connection flood";
            assert_eq!(p.failure.is_none(), flood, "{}", report.table());
        }
        assert!(report.probes.len() > 40, "{}", report.table());
    }

    #[test]
    fn judging() {
        assert!(judge(Rule::Refused, &[Seen::Answer(400)]).is_none());
        assert!(judge(Rule::Refused, &[Seen::Closed]).is_none());
        assert!(judge(Rule::Refused, &[Seen::Answer(200)]).is_some());
        assert!(judge(Rule::Refused, &[Seen::Answer(500)]).is_some());
        assert!(judge(Rule::Refused, &[Seen::Open]).is_some());
        assert!(judge(Rule::NoServerError, &[Seen::Answer(200)]).is_none());
        assert!(judge(Rule::NoServerError, &[Seen::Answer(502)]).is_some());
    }
}
