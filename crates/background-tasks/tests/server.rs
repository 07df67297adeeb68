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

/// A journal and a work directory in a temporary directory of the test's
/// (a crashed server cannot remove a work directory of its own), for
/// servers that must survive a crash.
struct Durable {
    dir: tempfile::TempDir,
}

impl Durable {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn journal(&self) -> std::path::PathBuf {
        self.dir.path().join("tasks.journal")
    }

    /// A server on this journal and work directory, with `extra` flags.
    fn start(&self, extra: &[&str]) -> ServerProcess {
        let journal = self.journal();
        let work = self.dir.path().join("work");
        let mut args = vec![
            "--journal",
            journal.to_str().unwrap(),
            "--work-dir",
            work.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        start(&args)
    }
}

/// Kills the server the hard way: no chance to flush or clean up.
fn crash(server: ServerProcess) {
    let pid = nix::unistd::Pid::from_raw(server.pid() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
    drop(server);
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
    let server = start(&["--workers", "4"]);
    let c = client();
    let submit = |payload: Value| {
        let (c, url) = (c.clone(), format!("{}/tasks", server.url));
        async move {
            let (status, task) = post(
                &c,
                &url,
                json!({"task_type": "computation", "payload": payload}),
            )
            .await;
            assert_eq!(status, 201, "{task}");
            task["id"].as_str().unwrap().to_owned()
        }
    };
    // Two workers held (for a minute, or until cancelled), two computing
    // as hard as a task may.
    let held = [
        submit(json!({"hold_ms": 60_000})).await,
        submit(json!({"hold_ms": 60_000})).await,
    ];
    let mut heavy = Vec::new();
    for _ in 0..8 {
        heavy.push(submit(json!({"iterations": 10_000_000})).await);
    }
    for id in &held {
        wait_status(&c, &server.url, id, "running").await;
    }
    // The reactor answers while every worker is busy: the held tasks are
    // provably still running after the health checks (they end only when
    // cancelled).
    for _ in 0..20 {
        let (status, doc) = get(&c, &format!("{}/health", server.url)).await;
        assert_eq!((status, doc["status"].as_str()), (200, Some("ok")));
    }
    for id in &held {
        let (_, t) = get(&c, &format!("{}/tasks/{id}", server.url)).await;
        assert_eq!(t["status"], "running", "{t}");
    }
    for id in held.iter().chain(&heavy) {
        c.delete(format!("{}/tasks/{id}", server.url))
            .send()
            .await
            .unwrap();
    }
    for id in &held {
        wait_status(&c, &server.url, id, "cancelled").await;
    }
}

#[tokio::test]
async fn the_journal_brings_tasks_back_after_a_crash() {
    let durable = Durable::new();
    let c = client();
    let server = durable.start(&[]);
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
    crash(server);

    let server = durable.start(&[]);
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

async fn wait_status(c: &reqwest::Client, base: &str, id: &str, want: &str) -> Value {
    for _ in 0..1500 {
        let (_, t) = get(c, &format!("{base}/tasks/{id}")).await;
        if t["status"] == want {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("task {id} never became {want}");
}

/// The journal's lines as JSON values, in file order.
fn journal_lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[tokio::test]
async fn a_task_is_journaled_before_it_can_finish() {
    let durable = Durable::new();
    let c = client();
    let server = durable.start(&[]);
    // Many at once: their syncs queue up while workers run fast tasks.
    let submits: Vec<_> = (0..60)
        .map(|_| {
            let (c, url) = (c.clone(), format!("{}/tasks", server.url));
            tokio::spawn(async move {
                post(
                    &c,
                    &url,
                    json!({"task_type": "computation", "payload": {"iterations": 1}}),
                )
                .await
            })
        })
        .collect();
    let mut ids = Vec::new();
    for s in submits {
        let (status, t) = s.await.unwrap();
        assert_eq!(status, 201);
        ids.push(t["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        wait_status(&c, &server.url, id, "completed").await;
    }
    crash(server);
    let lines = journal_lines(&durable.journal());
    for id in &ids {
        let at = |op: &str| {
            lines
                .iter()
                .position(|l| l["op"] == op && l["id"] == id.as_str())
        };
        let submit = at("submit").unwrap_or_else(|| panic!("no submit line for {id}"));
        if let Some(finish) = at("finish") {
            assert!(
                submit < finish,
                "{id}: its finish line precedes its submit line"
            );
        }
    }
    let server = durable.start(&[]);
    for id in &ids {
        let (status, _) = get(&c, &format!("{}/tasks/{id}", server.url)).await;
        assert_eq!(status, 404, "{id} finished: not run again");
    }
}

#[tokio::test]
async fn a_manual_retry_survives_a_crash() {
    let durable = Durable::new();
    let c = client();
    let args = ["--workers", "1"];
    let server = durable.start(&args);
    let (_, flaky) = post(
        &c,
        &format!("{}/tasks", server.url),
        json!({"task_type": "computation", "max_retries": 0,
               "payload": {"iterations": 10, "fail_times": 1}}),
    )
    .await;
    let flaky = flaky["id"].as_str().unwrap().to_owned();
    wait_status(&c, &server.url, &flaky, "failed").await;
    // Occupy the only worker so the retried task stays pending.
    let (_, hold) = post(
        &c,
        &format!("{}/tasks", server.url),
        json!({"task_type": "computation", "payload": {"hold_ms": 60_000}}),
    )
    .await;
    let hold = hold["id"].as_str().unwrap().to_owned();
    wait_status(&c, &server.url, &hold, "running").await;
    let (status, retried) = post(
        &c,
        &format!("{}/tasks/{flaky}/retry", server.url),
        json!({}),
    )
    .await;
    assert_eq!((status, retried["status"].as_str()), (200, Some("pending")));
    crash(server);

    let server = durable.start(&args);
    let (status, back) = get(&c, &format!("{}/tasks/{flaky}", server.url)).await;
    assert_eq!(status, 200, "the retried task came back");
    assert_eq!(back["status"], "pending", "{back}");
    for id in [&hold, &flaky] {
        let r = c
            .delete(format!("{}/tasks/{id}", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
}

#[tokio::test]
async fn a_batch_comes_back_with_its_membership_and_cap() {
    let durable = Durable::new();
    let c = client();
    let args = ["--workers", "8"];
    let server = durable.start(&args);
    let held = json!({"task_type": "computation", "payload": {"hold_ms": 60_000}});
    let (status, batch) = post(
        &c,
        &format!("{}/tasks/batch", server.url),
        json!({"tasks": [held, held, held, held], "max_concurrent": 2}),
    )
    .await;
    assert_eq!(status, 201);
    let batch_id = batch["batch_id"].as_str().unwrap().to_owned();
    let ids: Vec<String> = batch["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    wait_status(&c, &server.url, &ids[1], "running").await;
    crash(server);

    let server = durable.start(&args);
    for id in &ids {
        let (status, t) = get(&c, &format!("{}/tasks/{id}", server.url)).await;
        assert_eq!(status, 200, "{id} came back");
        assert_eq!(t["batch_id"].as_str(), Some(batch_id.as_str()), "{t}");
    }
    wait_status(&c, &server.url, &ids[1], "running").await;
    // Eight workers, but the batch still runs two at a time.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut running = 0;
    for id in &ids {
        let (_, t) = get(&c, &format!("{}/tasks/{id}", server.url)).await;
        if t["status"] == "running" {
            running += 1;
        }
    }
    assert_eq!(running, 2);
    for id in &ids {
        c.delete(format!("{}/tasks/{id}", server.url))
            .send()
            .await
            .unwrap();
    }
}
