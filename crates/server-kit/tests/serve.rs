//! The connection loop in-process: header timeout, connection cap, headers
//! on every response, and shutdown draining.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use server_kit::{serve, text, Limits, Req, Router, ServeOptions};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

fn options(max_connections: usize) -> ServeOptions {
    ServeOptions {
        limits: Limits {
            max_body_bytes: 64 * 1024,
            ..Limits::default()
        },
        header_timeout: Duration::from_millis(300),
        write_timeout: Duration::from_secs(30),
        keep_alive_timeout: Duration::from_secs(5),
        max_header_bytes: server_kit::DEFAULT_MAX_HEADER_BYTES,
        max_connections,
        shutdown_timeout: Duration::from_secs(5),
        server_name: "kit-test",
    }
}

async fn start(
    max_connections: usize,
) -> (String, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let router = Router::new()
        .get("/", |_req: Req| async { Ok(text("text/plain", "hi")) })
        .post("/upload", |req: Req| async move {
            let body = req.bytes().await?;
            Ok(text("text/plain", body.len().to_string()))
        });
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(serve(listener, router, options(max_connections), async {
        let _ = rx.await;
    }));
    (addr, tx, task)
}

async fn get(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn every_response_has_server_date_type_and_length() {
    let (addr, stop, task) = start(10).await;
    let mut s = TcpStream::connect(&addr).await.unwrap();
    let answer = get(&mut s).await.to_ascii_lowercase();
    for h in [
        "server: kit-test",
        "date: ",
        "content-type: text/plain",
        "content-length: 2",
    ] {
        assert!(answer.contains(h), "{h} missing in {answer}");
    }
    stop.send(()).unwrap();
    task.await.unwrap();
}

#[tokio::test]
async fn silent_clients_are_dropped_after_the_header_timeout() {
    let (addr, _stop, _task) = start(10).await;
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .expect("the server closes the connection")
        .unwrap_or(0);
    // hyper may answer 408 before closing; either way the connection ends.
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(n == 0 || text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(started.elapsed() >= Duration::from_millis(250));
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let (addr, _stop, _task) = start(1).await;
    let mut first = TcpStream::connect(&addr).await.unwrap();
    assert!(get(&mut first).await.starts_with("HTTP/1.1 200"));
    // The second connection sits in the backlog while the first is open.
    let mut second = TcpStream::connect(&addr).await.unwrap();
    second
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 1024];
    let early = tokio::time::timeout(Duration::from_millis(150), second.read(&mut buf)).await;
    assert!(early.is_err(), "served beyond the connection cap");
    drop(first);
    let n = tokio::time::timeout(Duration::from_secs(5), second.read(&mut buf))
        .await
        .expect("served once a slot frees")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn an_oversized_body_gets_a_readable_413() {
    let (addr, _stop, _task) = start(10).await;
    for chunked in [false, true] {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        let body = vec![b'x'; 300 * 1024];
        let head = if chunked {
            "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_owned()
        } else {
            format!(
                "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
        };
        s.write_all(head.as_bytes()).await.unwrap();
        if chunked {
            for part in body.chunks(16 * 1024) {
                s.write_all(format!("{:x}\r\n", part.len()).as_bytes())
                    .await
                    .unwrap();
                s.write_all(part).await.unwrap();
                s.write_all(b"\r\n").await.unwrap();
            }
            s.write_all(b"0\r\n\r\n").await.unwrap();
        } else {
            // The whole body goes through: the server reads and drops it.
            s.write_all(&body).await.unwrap();
        }
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut answer))
            .await
            .expect("an answer")
            .unwrap();
        let text = String::from_utf8_lossy(&answer).to_ascii_lowercase();
        assert!(text.starts_with("http/1.1 413"), "{text}");
        assert!(text.contains("connection: close"), "{text}");
        assert!(text.contains("payload_too_large"), "{text}");
    }
}
