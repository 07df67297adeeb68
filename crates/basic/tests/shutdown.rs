//! SIGTERM stops accepting, lets in-flight requests finish, then exits 0.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use contract::process::ServerProcess;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn addr(url: &str) -> String {
    url.trim_start_matches("http://").to_owned()
}

#[test]
fn sigterm_lets_in_flight_requests_complete() {
    let mut server = ServerProcess::start(
        env!("CARGO_BIN_EXE_basic"),
        &["--port", "0"],
        Duration::from_secs(20),
    )
    .expect("server starts");
    let addr = addr(&server.url);

    // Two requests in flight: each has sent its headers and half its body.
    let body = br#"{"message":"in flight","values":[1,2,3]}"#;
    let (head, tail) = body.split_at(body.len() / 2);
    let mut in_flight: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut s = TcpStream::connect(&addr).unwrap();
            write!(
                s,
                "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .unwrap();
            s.write_all(head).unwrap();
            s
        })
        .collect();
    // Make sure the server has picked both up before the signal.
    std::thread::sleep(Duration::from_millis(200));

    server.terminate().unwrap();

    // The listener closes: new connections are refused once shutdown began.
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(&addr).is_ok() {
        assert!(Instant::now() < deadline, "still accepting after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }

    // The in-flight requests still complete with their own data.
    for s in &mut in_flight {
        s.write_all(tail).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(
            answer.contains(r#""echo":{"message":"in flight","values":[1,2,3]}"#),
            "{answer}"
        );
    }

    let status = server.wait_exit(Duration::from_secs(10)).unwrap();
    assert!(status.success(), "exit status {status}");
}
