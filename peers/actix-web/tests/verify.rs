//! Every category served by the actix-web peer, started on an ephemeral
//! port, passes its whole contract.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use contract::process::ServerProcess;
use std::time::Duration;

/// Starts the peer on `category` and verifies it against its contract.
async fn passes_verify(category: &str, start_timeout: Duration) {
    passes_verify_with(category, &[], start_timeout).await;
}

/// The same, with `extra` arguments.
async fn passes_verify_with(category: &str, extra: &[&str], start_timeout: Duration) {
    let mut args = vec![category, "--port", "0", "--threads", "2"];
    args.extend_from_slice(extra);
    let server = ServerProcess::start(env!("CARGO_BIN_EXE_actix-web-peer"), &args, start_timeout)
        .expect("server starts");
    let contract = contract::load(category).expect("contract loads");
    let report = contract::verify(&contract, &contract::VerifyOptions::new(&server.url)).await;
    assert!(report.passed(), "{category}:\n{}", report.table());
    // Every endpoint, negative case and flow was checked, plus the Date check.
    assert_eq!(
        report.checks.len(),
        contract.endpoints.len() + contract.negative_cases.len() + contract.flows.len() + 1
    );
}

#[tokio::test]
async fn basic_passes_verify() {
    passes_verify("basic", Duration::from_secs(20)).await;
}

#[tokio::test]
async fn validation_passes_verify() {
    passes_verify("validation", Duration::from_secs(20)).await;
}

/// Seeding writes a 100 MiB fixture (fsync'd) before listening.
#[tokio::test]
async fn file_operations_passes_verify() {
    passes_verify("file_operations", Duration::from_secs(120)).await;
}

#[tokio::test]
async fn background_tasks_passes_verify() {
    passes_verify("background_tasks", Duration::from_secs(20)).await;
}

/// Seeding hashes 100 passwords at the reference's argon2id cost.
#[tokio::test]
async fn real_world_scenarios_passes_verify() {
    passes_verify("real_world_scenarios", Duration::from_secs(120)).await;
}

#[tokio::test]
async fn database_passes_verify() {
    passes_verify("database", Duration::from_secs(60)).await;
}

/// The same on PostgreSQL (skipped with a reason when it cannot be started
/// here and `BENCH_REQUIRE_POSTGRES` is unset).
#[tokio::test]
async fn database_passes_verify_on_postgres() {
    let Some(url) = contract::postgres::for_test("actix_web_peer") else {
        return;
    };
    passes_verify_with("database", &["--database", &url], Duration::from_secs(60)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_operations_passes_verify() {
    let base = ["async_operations", "--port", "0", "--threads", "2"];
    let start = ServerProcess::starter(env!("CARGO_BIN_EXE_actix-web-peer"), &base);
    let start = |upstream: &str| start(&["--upstream", upstream]);
    contract::async_checks::server_passes(start, 64)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn middleware_passes_verify() {
    let base = ["middleware", "--port", "0", "--threads", "2"];
    let start = ServerProcess::starter(env!("CARGO_BIN_EXE_actix-web-peer"), &base);
    contract::middleware_checks::server_passes(start)
        .await
        .unwrap();
}
