//! Deadlines after the headers, on raw sockets with sub-second timeouts: a
//! stalled or trickled request body (buffered or streamed) gets a 408, a
//! peer that stops reading is cut, an idle keep-alive connection is closed
//! (but never one whose request is still being served), and an oversized
//! `Expect: 100-continue` request gets its 413 without being invited to
//! send the body.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use bytes::Bytes;
use futures_util::StreamExt;
use server_kit::{serve, stream, text, ApiError, Limits, Req, Router, ServeOptions};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const LIMIT: usize = 64 * 1024;

fn options() -> ServeOptions {
    ServeOptions {
        limits: Limits {
            max_body_bytes: LIMIT,
            body_idle_timeout: Duration::from_millis(300),
            body_timeout: Duration::from_millis(900),
            upload_timeout: Duration::from_millis(1500),
        },
        // Long, so that hyper's own header timer is never what closes.
        header_timeout: Duration::from_secs(20),
        write_timeout: Duration::from_millis(300),
        keep_alive_timeout: Duration::from_millis(300),
        max_header_bytes: server_kit::DEFAULT_MAX_HEADER_BYTES,
        max_connections: 10,
        shutdown_timeout: Duration::from_secs(5),
        server_name: "kit-test",
    }
}

static CHUNK: [u8; 64 * 1024] = [b'x'; 64 * 1024];

fn router() -> Router {
    Router::new()
        .get("/", |_req: Req| async { Ok(text("text/plain", "hi")) })
        .get("/slow", |_req: Req| async {
            tokio::time::sleep(Duration::from_millis(800)).await;
            Ok(text("text/plain", "slow"))
        })
        // A response produced slowly: a pause longer than the keep-alive
        // timeout between two chunks.
        .get("/pause", |_req: Req| async {
            let chunks = futures_util::stream::unfold(0, |i| async move {
                if i == 1 {
                    tokio::time::sleep(Duration::from_millis(800)).await;
                }
                (i < 2).then(|| (Ok(Bytes::from_static(b"part\n")), i + 1))
            });
            Ok(stream("text/plain", chunks))
        })
        // An endless response, for a peer that never reads it.
        .get("/big", |_req: Req| async {
            let chunks = futures_util::stream::repeat_with(|| Ok(Bytes::from_static(&CHUNK)));
            Ok(stream("application/octet-stream", chunks))
        })
        .post("/echo", |req: Req| async move {
            let body = req.bytes().await?;
            Ok(text("text/plain", body.len().to_string()))
        })
        // As an upload service does: a failed read becomes its own error
        // (400 `body_read_error`); the server must still answer 408.
        .post("/upload", |req: Req| async move {
            let (_, mut body) = req.into_stream();
            let mut n = 0;
            while let Some(chunk) = body.next().await {
                n += chunk.map_err(ApiError::body_read)?.len();
            }
            Ok(text("text/plain", n.to_string()))
        })
        // Refuses by `Content-Length` before reading, then drains.
        .post("/upload-limited", |req: Req| async move {
            let declared = req.header(http::header::CONTENT_LENGTH).map(str::to_owned);
            let (_, mut body) = req.into_stream();
            if let Err(e) = shared::api::check_declared_length(declared.as_deref(), LIMIT as u64) {
                body.drain().await;
                return Err(e);
            }
            let mut n = 0;
            while let Some(chunk) = body.next().await {
                n += chunk.map_err(ApiError::body_read)?.len();
            }
            Ok(text("text/plain", n.to_string()))
        })
}

async fn start(options: ServeOptions) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(serve(listener, router(), options, std::future::pending()));
    addr
}

/// Everything the server sends until it closes (or `within` passes: then
/// the test fails).
async fn read_until_closed(s: &mut TcpStream, within: Duration) -> String {
    let mut answer = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    assert!(
        read.is_ok(),
        "connection still open after {within:?}; got {text:?}"
    );
    text
}

fn assert_408(answer: &str) {
    let lower = answer.to_ascii_lowercase();
    assert!(lower.starts_with("http/1.1 408"), "{answer}");
    assert!(lower.contains("content-type: application/json"), "{answer}");
    assert!(lower.contains("connection: close"), "{answer}");
    assert!(answer.contains(r#""error":"request_timeout""#), "{answer}");
}

#[tokio::test]
async fn a_stalled_body_gets_a_408_after_the_idle_timeout() {
    let addr = start(options()).await;
    for path in ["/echo", "/upload"] {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        let head = format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n");
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(b"0123456789").await.unwrap();
        let started = Instant::now();
        let answer = read_until_closed(&mut s, Duration::from_secs(5)).await;
        assert_408(&answer);
        assert!(answer.contains("no data for"), "{answer}");
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(250),
            "{path}: cut after {took:?}"
        );
    }
}

/// One byte every 100 ms: never idle long enough, cut by the total.
async fn trickle(addr: &str, path: &str) -> (String, Duration) {
    let s = TcpStream::connect(addr).await.unwrap();
    let (mut rx, mut tx) = s.into_split();
    let head = format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n");
    tx.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let writer = tokio::spawn(async move {
        for _ in 0..100 {
            if tx.write_all(b"x").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(6), async {
        let mut buf = [0u8; 4096];
        loop {
            match rx.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    let took = started.elapsed();
    writer.abort();
    let text = String::from_utf8_lossy(&answer).into_owned();
    assert!(read.is_ok(), "{path}: still open after 6 s; got {text:?}");
    (text, took)
}

#[tokio::test]
async fn a_trickled_body_is_cut_at_the_total_timeout() {
    let addr = start(options()).await;
    // Buffered: --body-timeout (900 ms).
    let (answer, took) = trickle(&addr, "/echo").await;
    assert_408(&answer);
    assert!(answer.contains("not complete within"), "{answer}");
    assert!(took >= Duration::from_millis(850), "cut after {took:?}");
    // Streamed: --upload-timeout (1.5 s), not the buffered one.
    let (answer, took) = trickle(&addr, "/upload").await;
    assert_408(&answer);
    assert!(took >= Duration::from_millis(1400), "cut after {took:?}");
}

#[tokio::test]
async fn a_peer_that_stops_reading_is_cut_after_the_write_timeout() {
    let addr = start(ServeOptions {
        max_connections: 1,
        ..options()
    })
    .await;
    // Asks for an endless body and never reads it: the server blocks
    // writing, holding the only connection slot.
    let mut stuck = TcpStream::connect(&addr).await.unwrap();
    stuck
        .write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    // The slot frees once the server gives up on the stuck peer.
    let mut next = TcpStream::connect(&addr).await.unwrap();
    next.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), next.read(&mut buf))
        .await
        .expect("the stuck connection is cut and the slot freed")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    assert!(started.elapsed() >= Duration::from_millis(150));
    // And the stuck one was closed: what was buffered, then the end.
    read_until_closed(&mut stuck, Duration::from_secs(5)).await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let addr = start(options()).await;
    let mut s = TcpStream::connect(&addr).await.unwrap();
    let mut buf = [0u8; 1024];
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let started = Instant::now();
    let rest = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(rest.is_empty(), "{rest}");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(250), "closed after {took:?}");
}

#[tokio::test]
async fn a_request_in_flight_is_not_idle() {
    let addr = start(options()).await;
    // A handler and a response body that each take longer than the
    // keep-alive timeout, on one connection.
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with("slow"),
        "{answer}"
    );
    s.write_all(b"GET /pause HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("0\r\n\r\n"), "cut short: {answer:?}");
    assert_eq!(answer.matches("part\n").count(), 2, "{answer}");
}

#[tokio::test]
async fn an_oversized_expect_continue_request_gets_413_without_100() {
    let addr = start(options()).await;
    for path in ["/echo", "/upload-limited"] {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n"
        );
        s.write_all(head.as_bytes()).await.unwrap();
        let started = Instant::now();
        // The client sends nothing more: it waits for a go-ahead.
        let answer = read_until_closed(&mut s, Duration::from_secs(5)).await;
        assert!(
            !answer.contains("100 Continue"),
            "{path}: body invited: {answer}"
        );
        assert!(answer.starts_with("HTTP/1.1 413"), "{path}: {answer}");
        assert!(answer.contains("payload_too_large"), "{path}: {answer}");
        // At once, not after a drain.
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(1),
            "{path}: answered after {took:?}"
        );
    }
    // Within the limit the body is still invited and read.
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 100"));
    s.write_all(b"hello").await.unwrap();
    let answer = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with('5'),
        "{answer}"
    );
}
