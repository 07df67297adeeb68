//! The background_tasks server on an ephemeral port: its contract, a
//! reactor that stays responsive under CPU-heavy tasks, and a journal that
//! brings accepted tasks back after a crash.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use contract::process::ServerProcess;
use serde_json::{json, Value};
use std::time::Duration;

fn start(extra: &[&str]) -> ServerProcess {
    let mut args = vec!["--port", "0", "--threads", "2"];
    args.extend_from_slice(extra);
    ServerProcess::start(
        env!("CARGO_BIN_EXE_background-tasks"),
        &args,
        Duration::from_secs(20),
    )
    .expect("server starts")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn post(c: &reqwest::Client, url: &str, body: Value) -> (u16, Value) {
    let r = c.post(url).json(&body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn get(c: &reqwest::Client, url: &str) -> (u16, Value) {
    let r = c.get(url).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn background_tasks_server_passes_verify() {
    let server = start(&[]);
    let contract = contract::load("background_tasks").expect("contract loads");
    assert!(contract.negative_cases.len() >= 20);
    let report = contract::verify(&contract, &contract::VerifyOptions::new(&server.url)).await;
    assert!(report.passed(), "\n{}", report.table());
}

/// Per core, the queue's workers run on the acceptor's own runtime beside
/// the serving threads.
#[tokio::test]
async fn the_per_core_runtime_passes_too() {
    let server = start(&["--runtime", "per-core"]);
    let contract = contract::load("background_tasks").expect("contract loads");
    let report = contract::verify(&contract, &contract::VerifyOptions::new(&server.url)).await;
    assert!(report.passed(), "\n{}", report.table());
}

#[tokio::test]
async fn health_answers_while_workers_compute() {
    let server = start(&["--workers", "2"]);
    let c = client();
    let mut heavy = Vec::new();
    for _ in 0..4 {
        let (status, task) = post(
            &c,
            &format!("{}/tasks", server.url),
            json!({"task_type": "computation", "payload": {"iterations": 10_000_000}}),
        )
        .await;
        assert_eq!(status, 201);
        heavy.push(task["id"].as_str().unwrap().to_owned());
    }
    // The reactor is not blocked: twenty health checks complete while the
    // computations are still going (ordering, not wall time).
    for _ in 0..20 {
        let (status, doc) = get(&c, &format!("{}/health", server.url)).await;
        assert_eq!((status, doc["status"].as_str()), (200, Some("ok")));
    }
    let mut unfinished = 0;
    for id in &heavy {
        let (_, t) = get(&c, &format!("{}/tasks/{id}", server.url)).await;
        if t["status"] != "completed" {
            unfinished += 1;
        }
    }
    assert!(
        unfinished > 0,
        "all heavy tasks finished before the health checks did"
    );
}

#[tokio::test]
async fn the_journal_brings_tasks_back_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("tasks.journal");
    let journal = journal.to_str().unwrap();
    // The crashed server cannot remove a temporary work directory: give it
    // one inside the test's.
    let work = dir.path().join("work");
    let work = work.to_str().unwrap();
    let c = client();
    let server = start(&["--journal", journal, "--work-dir", work]);
    let (_, health) = get(&c, &format!("{}/health", server.url)).await;
    assert_eq!(health["durable"], true);
    let (status, delayed) = post(
        &c,
        &format!("{}/tasks", server.url),
        json!({"task_type": "email_sending", "priority": "high", "delay_seconds": 3600,
               "payload": {"recipients": ["a@b.org"]}}),
    )
    .await;
    assert_eq!(status, 201);
    let id = delayed["id"].as_str().unwrap().to_owned();
    let (_, done) = post(
        &c,
        &format!("{}/tasks", server.url),
        json!({"task_type": "computation", "payload": {"iterations": 10}}),
    )
    .await;
    let done_id = done["id"].as_str().unwrap().to_owned();
    while get(&c, &format!("{}/tasks/{done_id}", server.url)).await.1["status"] != "completed" {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A crash: no chance to clean up.
    let pid = nix::unistd::Pid::from_raw(server.pid() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
    drop(server);

    let server = start(&["--journal", journal, "--work-dir", work]);
    let (status, back) = get(&c, &format!("{}/tasks/{id}", server.url)).await;
    assert_eq!(status, 200, "the accepted task came back");
    assert_eq!(
        (back["status"].as_str(), back["priority"].as_str()),
        (Some("pending"), Some("high"))
    );
    assert!(back["delay_seconds"].as_u64().unwrap() > 3500);
    let (status, _) = get(&c, &format!("{}/tasks/{done_id}", server.url)).await;
    assert_eq!(status, 404, "a finished task is not run again");
}
