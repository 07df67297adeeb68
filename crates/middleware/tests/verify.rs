//! The middleware server, started on an ephemeral port, passes its
//! contract and the checks beyond it; and those checks can fail.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use contract::middleware_checks::{access_log_matches, client, rate_limit_holds};
use contract::process::ServerProcess;

const BASE: &[&str] = &["--port", "0", "--threads", "2"];

fn start(extra: &[&str]) -> anyhow::Result<ServerProcess> {
    ServerProcess::starter(env!("CARGO_BIN_EXE_middleware"), BASE)(extra)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn middleware_server_passes_verify() {
    contract::middleware_checks::server_passes(start)
        .await
        .unwrap();
}

/// Controls: no limit is no 429, and a log missing a line is caught.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checks_beyond_the_contract_can_fail() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let server = start(&["--access-log", log.to_str().unwrap()]).unwrap();
    let c = client();
    let e = rate_limit_holds(&c, &server.url).await.unwrap_err();
    assert!(e.to_string().contains("answered 200"), "{e}");
    access_log_matches(&c, &server.url, &log).await.unwrap();
    // A line missing: the count no longer matches.
    let text = std::fs::read_to_string(&log).unwrap();
    let shorter: Vec<&str> = text.lines().skip(1).collect();
    std::fs::write(&log, shorter.join("\n") + "\n").unwrap();
    let e = access_log_matches(&c, &server.url, &log).await.unwrap_err();
    assert!(e.to_string().contains("access-log lines"), "{e}");
}

#[tokio::test]
async fn an_access_log_that_cannot_be_opened_stops_the_start() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_middleware"))
        .args(["--port", "0", "--access-log", "/nonexistent-dir/x.log"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open the access log"));
}
