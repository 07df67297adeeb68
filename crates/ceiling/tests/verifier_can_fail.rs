//! The ceiling answers everything with one static text: verifying it against
//! the basic contract must fail, which proves the verifier can fail.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use contract::process::ServerProcess;
use std::time::Duration;

#[tokio::test]
async fn ceiling_fails_the_basic_contract() {
    let server = ServerProcess::start(
        env!("CARGO_BIN_EXE_ceiling"),
        &["--port", "0", "--threads", "1"],
        Duration::from_secs(20),
    )
    .expect("ceiling starts");
    let contract = contract::load("basic").expect("contract loads");
    let mut options = contract::VerifyOptions::new(&server.url);
    options.check_date = false;
    let report = contract::verify(&contract, &options).await;
    assert!(!report.passed());
    let passed = report.passed_endpoints();
    // Its one static answer is right for `/` and nothing else.
    assert!(passed.contains("hello_world"), "\n{}", report.table());
    for name in [
        "json_response",
        "path_params",
        "json_echo",
        "validate_user_model",
        "stream_json",
    ] {
        assert!(!passed.contains(name), "{name} passed:\n{}", report.table());
    }
    assert!(report.failures().any(|c| c.name == "unknown_route"));
}
