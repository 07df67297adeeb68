//! SIGTERM stops accepting, lets in-flight requests finish, and exits 0
//! (after draining the task queue and removing temporary directories).

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use contract::process::ServerProcess;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn start(category: &str) -> ServerProcess {
    ServerProcess::start(
        env!("CARGO_BIN_EXE_actix-web-peer"),
        &[category, "--port", "0", "--threads", "2"],
        Duration::from_secs(120),
    )
    .expect("server starts")
}

#[test]
fn sigterm_lets_an_in_flight_stream_complete() {
    let mut server = start("basic");
    let addr = server.url.trim_start_matches("http://").to_owned();
    let mut download = TcpStream::connect(&addr).unwrap();
    download
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    download
        .write_all(b"GET /stream/csv?count=100000 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut reader = BufReader::new(download);
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");

    server.terminate().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(&addr).is_ok() {
        assert!(Instant::now() < deadline, "still accepting after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }

    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).unwrap();
    let rest = String::from_utf8_lossy(&rest);
    assert!(rest.contains("\n100000,"), "the last row is missing");
    assert!(
        rest.ends_with("0\r\n\r\n"),
        "the stream did not end cleanly"
    );
    let exit = server.wait_exit(Duration::from_secs(10)).unwrap();
    assert!(exit.success(), "exit status {exit}");
}

#[test]
fn sigterm_drains_the_task_queue_and_exits_zero() {
    let mut server = start("background_tasks");
    server.terminate().unwrap();
    let exit = server.wait_exit(Duration::from_secs(20)).unwrap();
    assert!(exit.success(), "exit status {exit}");
}
