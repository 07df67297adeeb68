//! The file_operations server, on an ephemeral port and a fresh storage
//! directory, passes its contract and leaves nothing staged behind.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

#[tokio::test]
async fn file_operations_server_passes_verify() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::start(dir.path(), &[]);
    let contract = contract::load("file_operations").expect("contract loads");
    assert!(contract.negative_cases.len() >= 20);
    let report = contract::verify(&contract, &contract::VerifyOptions::new(&server.url)).await;
    assert!(report.passed(), "\n{}", report.table());
    // Refused, broken and oversized uploads left no staging file.
    assert!(common::entries(dir.path(), "tmp").is_empty());
    drop(server);
    // Every stored file has its metadata and the other way round.
    let files = common::entries(dir.path(), "files");
    let metas: Vec<String> = common::entries(dir.path(), "meta")
        .iter()
        .map(|m| m.trim_end_matches(".json").to_owned())
        .collect();
    assert_eq!(files, metas);
}

#[tokio::test]
async fn another_category_contract_fails() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::start(dir.path(), &[]);
    let contract = contract::load("basic").unwrap();
    let mut options = contract::VerifyOptions::new(&server.url);
    options.check_date = false;
    assert!(!contract::verify(&contract, &options).await.passed());
}

#[tokio::test]
async fn a_poll_that_never_holds_fails_in_time() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::start(dir.path(), &[]);
    let mut contract = contract::load("file_operations").unwrap();
    contract.endpoints.clear();
    contract.negative_cases.clear();
    let mut flow = contract.flows[0].clone();
    flow.steps.truncate(1);
    let mut step = flow.steps[0].clone();
    step.method = "GET".into();
    step.path = "/health".into();
    step.request = Default::default();
    step.capture.clear();
    step.expect = serde_json::from_value(serde_json::json!({
        "status": 200,
        "json": {"status": {"equals": "never"}}
    }))
    .unwrap();
    step.poll = Some(contract::Poll {
        timeout_ms: 300,
        interval_ms: 20,
    });
    flow.steps = vec![step];
    contract.flows = vec![flow];
    let mut options = contract::VerifyOptions::new(&server.url);
    options.check_date = false;
    let report = contract::verify(&contract, &options).await;
    let failure = report.failures().next().expect("the flow fails");
    assert!(failure.detail.contains("attempts"), "{}", failure.detail);
}
