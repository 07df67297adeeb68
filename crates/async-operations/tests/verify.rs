//! The async_operations server, started on an ephemeral port with a
//! counting upstream, passes its contract and the checks beyond it.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use contract::process::ServerProcess;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_operations_server_passes_verify() {
    let base = ["--port", "0", "--threads", "2"];
    let start = ServerProcess::starter(env!("CARGO_BIN_EXE_async-operations"), &base);
    let start = |upstream: &str| start(&["--upstream", upstream]);
    contract::async_checks::server_passes(start, 64)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_upstream_that_is_not_a_url_is_refused_at_start() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_async-operations"))
        .args(["--port", "0", "--upstream", "ftp://x"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an http:// URL"));
}
