//! SIGTERM stops accepting, lets in-flight requests finish, then exits 0.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use contract::process::ServerProcess;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Reads one line (up to `\n`) from a buffered stream.
fn line(r: &mut BufReader<TcpStream>) -> String {
    let mut s = String::new();
    r.read_line(&mut s).unwrap();
    s
}

#[test]
fn sigterm_lets_in_flight_requests_complete() {
    let mut server = ServerProcess::start(
        env!("CARGO_BIN_EXE_basic"),
        &["--port", "0"],
        Duration::from_secs(20),
    )
    .expect("server starts");
    let addr = server.url.trim_start_matches("http://").to_owned();

    // 1. An upload in flight: the handler has asked for the body (the server
    //    sent `100 Continue`), the body has not been sent yet.
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

    // 2. A download in flight: a 100,000-row CSV stream, of which only the
    //    first bytes have been read, so the server is blocked writing.
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

    // The listener closes: new connections are refused once shutdown began.
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(&addr).is_ok() {
        assert!(Instant::now() < deadline, "still accepting after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }

    // Both requests still complete with their own data.
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
        "the chunked stream did not end cleanly"
    );

    let status = server.wait_exit(Duration::from_secs(10)).unwrap();
    assert!(status.success(), "exit status {status}");
}

/// A second SIGTERM during the drain stops the server at once, with the
/// status of a process killed by SIGTERM (143), cutting what is in flight.
#[test]
fn a_second_sigterm_stops_at_once() {
    use std::os::unix::process::ExitStatusExt;
    let mut server = ServerProcess::start(
        env!("CARGO_BIN_EXE_basic"),
        &["--port", "0", "--shutdown-timeout", "60s"],
        Duration::from_secs(20),
    )
    .expect("server starts");
    let addr = server.url.trim_start_matches("http://").to_owned();
    // A request the drain would wait for: half its body, then nothing.
    let mut held = TcpStream::connect(&addr).unwrap();
    held.write_all(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":",
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    server.terminate().unwrap();
    // Still draining: the held request keeps it alive.
    assert!(
        server.wait_exit(Duration::from_millis(700)).is_err(),
        "exited with a request in flight after one SIGTERM"
    );
    let second = Instant::now();
    server.terminate().unwrap();
    let status = server.wait_exit(Duration::from_secs(5)).unwrap();
    assert!(
        second.elapsed() < Duration::from_secs(3),
        "{:?}",
        second.elapsed()
    );
    assert_eq!(status.code(), Some(143), "exit status {status:?}");
    assert_eq!(status.signal(), None);
}

/// The open-file limit is raised to the hard limit at start, so
/// `--max-connections` can be reached even from a shell with `ulimit -n 256`.
#[test]
fn the_open_file_limit_is_raised_at_start() {
    let server = ServerProcess::start(
        "sh",
        &[
            "-c",
            "ulimit -Sn 256 && exec \"$0\" --port 0",
            env!("CARGO_BIN_EXE_basic"),
        ],
        Duration::from_secs(20),
    )
    .expect("server starts");
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.pid())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (soft, hard) = (fields[3], fields[4]);
    assert_ne!(soft, "256", "{line}");
    // An unlimited hard limit raises the soft one to the kernel's ceiling.
    assert!(soft == hard || hard == "unlimited", "{line}");
}
