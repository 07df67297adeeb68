//! Every category served by the axum peer, started on an ephemeral port,
//! passes its contract.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use contract::process::ServerProcess;
use std::time::Duration;

async fn passes(category: &str) {
    passes_with(category, &[]).await;
}

/// The same, with `extra` arguments.
async fn passes_with(category: &str, extra: &[&str]) {
    let mut args = vec![category, "--port", "0", "--threads", "2"];
    args.extend_from_slice(extra);
    let server = ServerProcess::start(
        env!("CARGO_BIN_EXE_axum-peer"),
        &args,
        Duration::from_secs(60),
    )
    .expect("server starts");
    let contract = contract::load(category).expect("contract loads");
    let report = contract::verify(&contract, &contract::VerifyOptions::new(&server.url)).await;
    assert!(report.passed(), "\n{}", report.table());
    // Every endpoint, negative case and flow was checked, plus the Date check.
    assert_eq!(
        report.checks.len(),
        contract.endpoints.len() + contract.negative_cases.len() + contract.flows.len() + 1
    );
}

#[tokio::test]
async fn basic_passes_verify() {
    passes("basic").await;
}

#[tokio::test]
async fn validation_passes_verify() {
    passes("validation").await;
}

#[tokio::test]
async fn file_operations_passes_verify() {
    passes("file_operations").await;
}

#[tokio::test]
async fn background_tasks_passes_verify() {
    passes("background_tasks").await;
}

#[tokio::test]
async fn real_world_scenarios_passes_verify() {
    passes("real_world_scenarios").await;
}

#[tokio::test]
async fn database_passes_verify() {
    passes("database").await;
}

/// The same on PostgreSQL (skipped with a reason when it cannot be started
/// here and `BENCH_REQUIRE_POSTGRES` is unset).
#[tokio::test]
async fn database_passes_verify_on_postgres() {
    let Some(url) = contract::postgres::for_test("axum_peer") else {
        return;
    };
    passes_with("database", &["--database", &url]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_operations_passes_verify() {
    let base = ["async_operations", "--port", "0", "--threads", "2"];
    let start = ServerProcess::starter(env!("CARGO_BIN_EXE_axum-peer"), &base);
    let start = |upstream: &str| start(&["--upstream", upstream]);
    contract::async_checks::server_passes(start, 64)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn middleware_passes_verify() {
    let base = ["middleware", "--port", "0", "--threads", "2"];
    let start = ServerProcess::starter(env!("CARGO_BIN_EXE_axum-peer"), &base);
    contract::middleware_checks::server_passes(start)
        .await
        .unwrap();
}
