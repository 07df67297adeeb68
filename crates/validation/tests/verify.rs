//! The validation server, started on an ephemeral port, passes its contract.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use contract::process::ServerProcess;
use std::time::Duration;

#[tokio::test]
async fn validation_server_passes_verify() {
    let server = ServerProcess::start(
        env!("CARGO_BIN_EXE_validation"),
        &["--port", "0", "--threads", "2"],
        Duration::from_secs(20),
    )
    .expect("server starts");
    let contract = contract::load("validation").expect("contract loads");
    assert!(contract.negative_cases.len() >= 30);
    let report = contract::verify(&contract, &contract::VerifyOptions::new(&server.url)).await;
    assert!(report.passed(), "\n{}", report.table());
}

#[tokio::test]
async fn the_basic_server_fails_the_validation_contract() {
    let server = ServerProcess::start(
        env!("CARGO_BIN_EXE_validation"),
        &["--port", "0", "--threads", "1"],
        Duration::from_secs(20),
    )
    .expect("server starts");
    // A contract for another category must fail: the checks are specific.
    let contract = contract::load("basic").unwrap();
    let mut options = contract::VerifyOptions::new(&server.url);
    options.check_date = false;
    let report = contract::verify(&contract, &options).await;
    assert!(!report.passed());
}
