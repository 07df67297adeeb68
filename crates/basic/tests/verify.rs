//! The basic server, started on an ephemeral port, passes its contract.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use contract::process::ServerProcess;
use std::time::Duration;

#[tokio::test]
async fn basic_server_passes_verify() {
    let server = ServerProcess::start(
        env!("CARGO_BIN_EXE_basic"),
        &["--port", "0", "--threads", "2"],
        Duration::from_secs(20),
    )
    .expect("server starts");
    let contract = contract::load("basic").expect("contract loads");
    let report = contract::verify(&contract, &contract::VerifyOptions::new(&server.url)).await;
    assert!(report.passed(), "\n{}", report.table());
    // Every endpoint, negative case and flow was checked, plus the Date check.
    assert_eq!(
        report.checks.len(),
        contract.endpoints.len() + contract.negative_cases.len() + contract.flows.len() + 1
    );
}

#[tokio::test]
async fn the_per_core_runtime_passes_too() {
    let server = ServerProcess::start(
        env!("CARGO_BIN_EXE_basic"),
        &["--port", "0", "--threads", "2", "--runtime", "per-core"],
        Duration::from_secs(20),
    )
    .expect("server starts");
    let contract = contract::load("basic").expect("contract loads");
    let report = contract::verify(&contract, &contract::VerifyOptions::new(&server.url)).await;
    assert!(report.passed(), "\n{}", report.table());
}

#[tokio::test]
async fn a_busy_port_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_basic"))
        .args(["--port", &port])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot listen on"), "{stderr}");
}
