//! Black-box checks of an `async_operations` server beyond its contract,
//! for any framework's server: `/async/upstream` really calls the upstream
//! (a [`Canned`] server counts what reaches it), an upstream that is gone
//! is a 502 JSON error, and timer waits overlap instead of queueing.
//! Each gives the first problem found.

use anyhow::{ensure, Context, Result};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub use crate::db_checks::{client, get_json};

/// A keep-alive HTTP/1.1 server on loopback answering every request with
/// the same body, counting the requests that reach it: an upstream whose
/// calls can be counted, or a server that only pretends.
pub struct Canned {
    url: String,
    requests: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Canned {
    /// Starts on an ephemeral port, answering 200 with `body` of
    /// `content_type` (on the current Tokio runtime).
    pub async fn start(body: &str, content_type: &str) -> Result<Self> {
        Self::start_with(body, content_type, None).await
    }

    /// The same, but answering one request at a time, each after `delay`,
    /// and closing each connection: a server that waits by blocking.
    pub async fn serial(body: &str, content_type: &str, delay: Duration) -> Result<Self> {
        Self::start_with(body, content_type, Some(delay)).await
    }

    async fn start_with(body: &str, content_type: &str, serial: Option<Duration>) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/", listener.local_addr()?);
        let answer: Arc<[u8]> = format!(
            "HTTP/1.1 200 OK\r\nServer: canned\r\nDate: Mon, 07 Dec 2026 00:00:00 GMT\r\n\
             Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
        .into();
        let requests = Arc::new(AtomicU64::new(0));
        let counter = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                match serial {
                    None => {
                        tokio::spawn(serve(stream, answer.clone(), counter.clone()));
                    }
                    Some(delay) => {
                        tokio::time::sleep(delay).await;
                        counter.fetch_add(1, Ordering::SeqCst);
                        let _ = stream.write_all(&answer).await;
                        let _ = stream.shutdown().await;
                    }
                }
            }
        });
        Ok(Self {
            url,
            requests,
            task,
        })
    }

    /// Its URL (`http://127.0.0.1:PORT/`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Canned {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Answers each request head (bodiless requests) on one connection.
async fn serve(mut stream: TcpStream, answer: Arc<[u8]>, counter: Arc<AtomicU64>) {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            buf.drain(..end + 4);
            counter.fetch_add(1, Ordering::SeqCst);
            if stream.write_all(&answer).await.is_err() {
                return;
            }
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// `GET /async/upstream?n=K` for K = 1, 5 and 16: each reaches `upstream`
/// exactly K times, and the answer lists K answers.
pub async fn upstream_calls_are_real(
    c: &reqwest::Client,
    base: &str,
    upstream: &Canned,
) -> Result<()> {
    for n in [1u64, 5, 16] {
        let before = upstream.requests();
        let v = get_json(c, &format!("{base}/async/upstream?n={n}")).await?;
        let reached = upstream.requests() - before;
        ensure!(
            reached == n,
            "/async/upstream?n={n} reached the upstream {reached} times (expected {n})"
        );
        let answers = v["answers"].as_array().map_or(0, Vec::len) as u64;
        ensure!(
            answers == n,
            "/async/upstream?n={n} listed {answers} answers: {v}"
        );
    }
    Ok(())
}

/// With its upstream gone, `/async/upstream` is a 502 JSON error
/// `upstream_unavailable`, and the server goes on serving.
pub async fn unreachable_upstream_gives_502(c: &reqwest::Client, base: &str) -> Result<()> {
    let url = format!("{base}/async/upstream?n=2");
    let r = c
        .get(&url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = r.status().as_u16();
    let is_json = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    let body = r.text().await.unwrap_or_default();
    ensure!(status == 502, "GET {url} answered {status}: {body}");
    ensure!(is_json, "GET {url}: the 502 is not JSON: {body}");
    let v: serde_json::Value = serde_json::from_str(&body).context("the 502's body")?;
    ensure!(v["error"] == "upstream_unavailable", "GET {url}: {v}");
    get_json(c, &format!("{base}/async/raw")).await.map(|_| ())
}

/// `waits` requests of `/async/sleep?ms=200` at once all answer, no
/// sooner than 200 ms, and within half the time they would take one after
/// another: waits overlap.
pub async fn waits_overlap(c: &reqwest::Client, base: &str, waits: u32) -> Result<()> {
    let url = format!("{base}/async/sleep?ms=200");
    let start = Instant::now();
    let all = (0..waits).map(|_| get_json(c, &url));
    for r in futures_util::future::join_all(all).await {
        r?;
    }
    let took = start.elapsed();
    let wait = Duration::from_millis(200);
    ensure!(
        took >= wait,
        "{waits} waits of 200 ms took {took:?}: they did not wait"
    );
    let serial = wait * waits;
    ensure!(
        took < serial / 2,
        "{waits} waits of 200 ms took {took:?}: they did not overlap (one after another: {serial:?})"
    );
    Ok(())
}

/// A loopback URL where nothing listens (a port just released).
pub fn dead_upstream() -> Result<String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    Ok(format!("http://127.0.0.1:{port}/"))
}

/// Everything asked of an `async_operations` server: `start(upstream_url)`
/// starts it; it must pass its contract with a counting upstream, reach
/// that upstream exactly as often as asked, overlap `waits` timer waits,
/// and, started again with its upstream gone, answer 502. Gives the
/// contract's failures or the first problem found.
pub async fn server_passes(
    start: impl Fn(&str) -> Result<crate::process::ServerProcess>,
    waits: u32,
) -> Result<()> {
    let upstream = Canned::start("Hello, World!", "text/plain").await?;
    let server = start(upstream.url())?;
    let contract = crate::load("async_operations")?;
    let report = crate::verify(&contract, &crate::VerifyOptions::new(&server.url)).await;
    ensure!(report.passed(), "\n{}", report.table());
    let c = client();
    upstream_calls_are_real(&c, &server.url, &upstream).await?;
    waits_overlap(&c, &server.url, waits).await?;
    drop(server);
    let server = start(&dead_upstream()?)?;
    unreachable_upstream_gives_502(&c, &server.url).await
}
