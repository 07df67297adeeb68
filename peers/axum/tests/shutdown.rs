//! SIGTERM stops accepting, lets in-flight requests finish, exits 0 and
//! removes the temporary directories.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use contract::process::ServerProcess;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_axum-peer");

/// Reads one line (up to `\n`) from a buffered stream.
fn line(r: &mut BufReader<TcpStream>) -> String {
    let mut s = String::new();
    r.read_line(&mut s).unwrap();
    s
}

#[test]
fn sigterm_lets_in_flight_requests_complete() {
    let mut server =
        ServerProcess::start(BIN, &["basic", "--port", "0"], Duration::from_secs(20)).unwrap();
    let addr = server.url.trim_start_matches("http://").to_owned();

    // An upload in flight: the handler asked for the body (`100 Continue`),
    // which has not been sent yet.
    let body = br#"{"message":"in flight","values":[1,2,3]}"#;
    let mut upload = TcpStream::connect(&addr).unwrap();
    upload
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        upload,
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    let mut upload_reader = BufReader::new(upload.try_clone().unwrap());
    assert!(line(&mut upload_reader).starts_with("HTTP/1.1 100"));
    assert_eq!(line(&mut upload_reader), "\r\n");

    // A download in flight: a 100,000-row CSV stream barely read.
    let mut download = TcpStream::connect(&addr).unwrap();
    download
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    download
        .write_all(b"GET /stream/csv?count=100000 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut download_reader = BufReader::new(download);
    assert!(line(&mut download_reader).starts_with("HTTP/1.1 200"));

    server.terminate().unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(&addr).is_ok() {
        assert!(Instant::now() < deadline, "still accepting after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }

    upload.write_all(body).unwrap();
    let mut answer = String::new();
    upload_reader.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.contains(r#""echo":{"message":"in flight","values":[1,2,3]}"#),
        "{answer}"
    );

    let mut rest = Vec::new();
    download_reader.read_to_end(&mut rest).unwrap();
    let rest = String::from_utf8_lossy(&rest);
    assert!(rest.contains("\n100000,"), "the last row is missing");
    assert!(
        rest.ends_with("0\r\n\r\n"),
        "the stream did not end cleanly"
    );

    let status = server.wait_exit(Duration::from_secs(10)).unwrap();
    assert!(status.success(), "exit status {status}");
}

/// Starts `category` with its temporary directories under a directory of
/// its own, stops it with SIGTERM and checks it exits 0 leaving nothing.
fn leaves_no_directory(category: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args([category, "--port", "0", "--threads", "2"])
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("listening on http://"), "{first:?}");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    let stopped = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status}");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn file_operations_removes_its_storage() {
    leaves_no_directory("file_operations");
}

#[test]
fn background_tasks_removes_its_work_directory() {
    leaves_no_directory("background_tasks");
}
