//! Queue behaviour on Tokio's paused clock: time only moves when every
//! task is idle, so delays, backoff and timeouts are exact.

use super::*;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// What the test executor saw: (task id, payload "name", attempt, when).
type Log = Arc<Mutex<Vec<(String, u32, Duration)>>>;

/// An executor driven by the payload: `sleep_ms` (cooperatively
/// cancellable), `fail_times` (fail the first n attempts), `name` (logged).
fn executor(log: Log, t0: Instant) -> impl Executor {
    move |input: TaskInput, cancel: Cancel| -> queue::Work {
        let log = log.clone();
        Box::pin(async move {
            let p = &input.payload;
            let name = p["name"].as_str().unwrap_or("").to_owned();
            log.lock()
                .unwrap()
                .push((name.clone(), input.attempt, t0.elapsed()));
            for _ in 0..p["sleep_ms"].as_u64().unwrap_or(0) / 10 {
                if cancel.is_cancelled() {
                    return Err("stopped".into());
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            if u64::from(input.attempt) < p["fail_times"].as_u64().unwrap_or(0) {
                return Err(format!("planned failure {}", input.attempt + 1));
            }
            Ok(json!({ "name": name }))
        })
    }
}

fn spec(name: &str, priority: Priority, extra: Value) -> TaskSpec {
    let mut payload = json!({ "name": name });
    if let (Some(p), Some(e)) = (payload.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    TaskSpec {
        task_type: TaskType::Computation,
        priority,
        payload,
        delay_seconds: 0,
        max_retries: 0,
        timeout_seconds: 60,
    }
}

fn options(workers: usize) -> QueueOptions {
    QueueOptions {
        workers,
        capacity: 100,
        retain_finished: 100,
        backoff_base: Duration::from_secs(1),
        backoff_max: Duration::from_secs(8),
        ..QueueOptions::default()
    }
}

async fn until_finished(q: &Queue, id: &str) -> Task {
    loop {
        let t = q.get(id).unwrap();
        if t.status.is_finished() {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn names(log: &Log) -> Vec<String> {
    log.lock()
        .unwrap()
        .iter()
        .map(|(n, _, _)| n.clone())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn priorities_first_then_submission_order() {
    let log = Log::default();
    let q = Queue::start(options(1), executor(log.clone(), Instant::now()));
    // Occupy the only worker so the rest queue up.
    let gate = q
        .submit(spec("gate", Priority::Low, json!({"sleep_ms": 100})))
        .unwrap();
    tokio::task::yield_now().await;
    let order = [
        ("low", Priority::Low),
        ("normal-1", Priority::Normal),
        ("urgent", Priority::Urgent),
        ("high", Priority::High),
        ("normal-2", Priority::Normal),
    ];
    let ids: Vec<String> = order
        .iter()
        .map(|(n, p)| q.submit(spec(n, *p, json!({}))).unwrap().id)
        .collect();
    let depth = q.stats().queue_depth;
    assert_eq!((depth["normal"], depth["urgent"]), (2, 1));
    until_finished(&q, &gate.id).await;
    for id in &ids {
        until_finished(&q, id).await;
    }
    assert_eq!(
        names(&log),
        ["gate", "urgent", "high", "normal-1", "normal-2", "low"]
    );
    let stats = q.stats();
    assert_eq!((stats.by_status["completed"], stats.active), (6, 0));
}

#[tokio::test(start_paused = true)]
async fn delayed_tasks_wait_and_can_be_cancelled_before_they_run() {
    let log = Log::default();
    let t0 = Instant::now();
    let q = Queue::start(options(2), executor(log.clone(), t0));
    let mut later = spec("later", Priority::Urgent, json!({}));
    later.delay_seconds = 5;
    let later = q.submit(later).unwrap();
    let mut never = spec("never", Priority::Normal, json!({}));
    never.delay_seconds = 5;
    let never = q.submit(never).unwrap();
    let now = q.submit(spec("now", Priority::Low, json!({}))).unwrap();
    until_finished(&q, &now.id).await;
    assert_eq!(q.cancel(&never.id).unwrap().status, Status::Cancelled);
    let done = until_finished(&q, &later.id).await;
    assert_eq!(done.status, Status::Completed);
    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), 2, "the cancelled task never ran: {log:?}");
    assert_eq!(log[1].0, "later");
    assert!(log[1].2 >= Duration::from_secs(5));
    assert_eq!(
        q.cancel(&never.id).unwrap_err(),
        QueueError::AlreadyFinished(never.id.clone(), Status::Cancelled)
    );
}

#[tokio::test(start_paused = true)]
async fn failures_retry_with_exponential_backoff() {
    let log = Log::default();
    let t0 = Instant::now();
    let q = Queue::start(options(1), executor(log.clone(), t0));
    let mut flaky = spec("flaky", Priority::Normal, json!({"fail_times": 2}));
    flaky.max_retries = 3;
    let flaky = q.submit(flaky).unwrap();
    let done = until_finished(&q, &flaky.id).await;
    assert_eq!((done.status, done.retry_count), (Status::Completed, 2));
    let times: Vec<Duration> = log.lock().unwrap().iter().map(|(_, _, t)| *t).collect();
    // Attempts at 0, then after 1 s, then after 2 s more.
    assert_eq!(times.len(), 3);
    let secs: Vec<u64> = times.iter().map(Duration::as_secs).collect();
    assert_eq!(secs, [0, 1, 3]);

    let mut hopeless = spec("hopeless", Priority::Normal, json!({"fail_times": 9}));
    hopeless.max_retries = 1;
    let hopeless = q.submit(hopeless).unwrap();
    let failed = until_finished(&q, &hopeless.id).await;
    assert_eq!((failed.status, failed.retry_count), (Status::Failed, 1));
    assert_eq!(failed.error.as_deref(), Some("planned failure 2"));
    // A failed task can be retried by hand; a completed one cannot.
    assert_eq!(q.retry(&hopeless.id).unwrap().status, Status::Pending);
    assert!(matches!(
        q.retry(&flaky.id),
        Err(QueueError::NotRetryable(_, Status::Completed))
    ));
}

#[tokio::test(start_paused = true)]
async fn attempts_time_out_and_running_tasks_cancel_cooperatively() {
    let log = Log::default();
    let q = Queue::start(options(2), executor(log.clone(), Instant::now()));
    let mut slow = spec("slow", Priority::Normal, json!({"sleep_ms": 10_000}));
    slow.timeout_seconds = 2;
    let slow = q.submit(slow).unwrap();
    let failed = until_finished(&q, &slow.id).await;
    assert_eq!(failed.status, Status::Failed);
    assert!(failed.error.unwrap().contains("timed out after 2"));

    let long = q
        .submit(spec("long", Priority::Normal, json!({"sleep_ms": 10_000})))
        .unwrap();
    while q.get(&long.id).unwrap().status != Status::Running {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let asked = q.cancel(&long.id).unwrap();
    assert_eq!(
        (asked.status, asked.cancel_requested),
        (Status::Running, true)
    );
    let t = until_finished(&q, &long.id).await;
    assert_eq!(t.status, Status::Cancelled);
    assert_eq!(q.retry(&long.id).unwrap().status, Status::Pending);
}

#[tokio::test(start_paused = true)]
async fn capacity_refuses_without_dropping_and_batches_respect_their_cap() {
    let log = Log::default();
    let mut opts = options(4);
    opts.capacity = 3;
    let q = Queue::start(opts, executor(log.clone(), Instant::now()));
    let specs = |n: usize| -> Vec<TaskSpec> {
        (0..n)
            .map(|i| spec(&format!("b{i}"), Priority::Normal, json!({"sleep_ms": 100})))
            .collect()
    };
    assert!(matches!(
        q.submit_batch(specs(4), true, 2),
        Err(QueueError::Full { capacity: 3 })
    ));
    assert_eq!(q.stats().submitted, 0, "a refused batch is refused whole");
    let (_, tasks) = q.submit_batch(specs(3), true, 2).unwrap();
    assert!(matches!(
        q.submit(spec("extra", Priority::Urgent, json!({}))),
        Err(QueueError::Full { .. })
    ));
    // Four workers, but the batch runs two at a time.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(q.stats().by_status["running"], 2);
    for t in &tasks {
        assert_eq!(until_finished(&q, &t.id).await.status, Status::Completed);
    }
    let s = q.stats();
    assert_eq!((s.submitted, s.rejected, s.finished), (3, 5, 3));
}

#[tokio::test(start_paused = true)]
async fn finished_records_are_bounded() {
    let mut opts = options(2);
    opts.retain_finished = 3;
    let q = Queue::start(opts, executor(Log::default(), Instant::now()));
    let mut ids = Vec::new();
    for i in 0..6 {
        let id = q
            .submit(spec(&format!("t{i}"), Priority::Normal, json!({})))
            .unwrap()
            .id;
        until_finished(&q, &id).await;
        ids.push(id);
    }
    assert!(q.get(&ids[0]).is_none());
    assert!(q.get(&ids[5]).is_some());
    let s = q.stats();
    assert_eq!((s.evicted, s.by_status["completed"]), (3, 3));
    assert_eq!(q.list(None, None, None, 10, 0).0, 3);
    assert_eq!(
        q.list(Some(Status::Completed), None, None, 1, 0).1[0].id,
        ids[5]
    );
    assert!(matches!(q.cancel(&ids[0]), Err(QueueError::NotFound(_))));
}

#[tokio::test(start_paused = true)]
async fn closing_refuses_new_work_and_drains_the_running() {
    let q = Queue::start(options(1), executor(Log::default(), Instant::now()));
    let running = q
        .submit(spec("r", Priority::Normal, json!({"sleep_ms": 500})))
        .unwrap();
    q.submit(spec("w", Priority::Normal, json!({}))).unwrap();
    while q.get(&running.id).unwrap().status != Status::Running {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(q.close(), 1, "one task still waits");
    assert_eq!(
        q.submit(spec("x", Priority::Normal, json!({})))
            .unwrap_err(),
        QueueError::Closed
    );
    assert_eq!(q.drain(Duration::from_secs(5)).await, 0);
    assert_eq!(q.get(&running.id).unwrap().status, Status::Completed);
}

#[tokio::test(start_paused = true)]
async fn finished_batches_leave_nothing_behind_and_saturated_ones_cost_nothing() {
    let mut opts = options(2);
    opts.capacity = 1000;
    let q = Queue::start(opts, executor(Log::default(), Instant::now()));
    // A saturated batch: 200 tasks, one at a time.
    let specs = (0..200)
        .map(|i| spec(&format!("b{i}"), Priority::Normal, json!({"sleep_ms": 20})))
        .collect();
    let (_, batch) = q.submit_batch(specs, false, 5).unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    // Picking other work does not wade through the batch's backlog.
    let (_, before) = q.probe();
    for i in 0..20 {
        let id = q
            .submit(spec(&format!("t{i}"), Priority::Normal, json!({})))
            .unwrap()
            .id;
        until_finished(&q, &id).await;
    }
    let (_, after) = q.probe();
    assert!(
        after - before < 100,
        "{} heap entries looked at for 20 picks",
        after - before
    );
    for t in &batch {
        until_finished(&q, &t.id).await;
    }
    assert_eq!(q.probe().0, 0, "the finished batch's group is gone");
    // Small batches come and go without leaving groups behind.
    for _ in 0..10 {
        let specs = (0..3)
            .map(|i| spec(&format!("s{i}"), Priority::High, json!({})))
            .collect();
        let (_, tasks) = q.submit_batch(specs, true, 2).unwrap();
        for t in &tasks {
            until_finished(&q, &t.id).await;
        }
    }
    assert_eq!(q.probe().0, 0);
}

#[tokio::test(start_paused = true)]
async fn queued_payload_bytes_are_bounded_without_dropping_anything() {
    let opts = QueueOptions {
        workers: 1,
        ..QueueOptions::default()
    };
    let q = Queue::start(opts, executor(Log::default(), Instant::now()));
    let blob = "x".repeat(1024 * 1024);
    let gate = q
        .submit(spec("gate", Priority::Urgent, json!({"sleep_ms": 100_000})))
        .unwrap();
    let mut accepted = Vec::new();
    let mut refused = None;
    for i in 0..100 {
        match q.submit(spec(
            &format!("m{i}"),
            Priority::Normal,
            json!({ "blob": blob }),
        )) {
            Ok(t) => accepted.push(t.id),
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
    }
    let refused = refused.expect("a 1 MiB payload is refused once 64 MiB are queued");
    assert!(refused.to_string().contains("bytes"), "{refused}");
    assert!((60..=64).contains(&accepted.len()), "{}", accepted.len());
    // Nothing accepted was dropped, and a finished task makes room.
    for id in &accepted {
        assert_eq!(q.get(id).unwrap().status, Status::Pending);
    }
    q.cancel(&accepted[0]).unwrap();
    assert!(q
        .submit(spec("again", Priority::Normal, json!({ "blob": blob })))
        .is_ok());
    q.cancel(&gate.id).unwrap();
}

mod work {
    use super::*;
    use crate::tasks::work::{aggregate, computation_checksum};

    fn typed(kind: TaskType, payload: Value) -> TaskSpec {
        TaskSpec {
            task_type: kind,
            priority: Priority::Normal,
            payload,
            delay_seconds: 0,
            max_retries: 0,
            timeout_seconds: 30,
        }
    }

    /// A one-shot HTTP server on loopback that answers 204.
    fn stub_server() -> std::net::SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            if let Ok((mut s, _)) = listener.accept() {
                // Read the whole request head before answering.
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).is_ok_and(|n| n == 1) {
                    head.push(byte[0]);
                }
                let _ = s.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
            }
        });
        addr
    }

    /// An HTTP server on loopback that answers every connection with
    /// `answer` and keeps each request head it read.
    fn recording_server(answer: Vec<u8>) -> (std::net::SocketAddr, Arc<Mutex<Vec<String>>>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let seen = heads.clone();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            for mut s in listener.incoming().flatten() {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).is_ok_and(|n| n == 1) {
                    head.push(byte[0]);
                }
                seen.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&head).into_owned());
                let _ = s.write_all(&answer);
            }
        });
        (addr, heads)
    }

    #[tokio::test]
    async fn network_tasks_fetch_what_was_validated_and_no_more() {
        let dir = tempfile::tempdir().unwrap();
        let bench = Workbench::new(dir.path()).unwrap();
        let q = Queue::start(options(2), bench.executor());
        let run = |url: String| {
            let q = q.clone();
            async move {
                let id = q
                    .submit(typed(TaskType::NetworkRequest, json!({ "url": url })))
                    .unwrap()
                    .id;
                until_finished(&q, &id).await
            }
        };
        // What follows `#` is a fragment, for the validator and the fetcher
        // alike: the request goes to the loopback host and asks for `/`.
        let (addr, heads) =
            recording_server(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n".to_vec());
        let url = format!("http://127.0.0.1:{}#.x.example/", addr.port());
        assert!(crate::tasks::request::is_loopback_url(&url));
        let t = run(url).await;
        assert_eq!(t.status, Status::Completed, "{:?}", t.error);
        assert_eq!(t.result.unwrap()["status"], 204);
        let head = heads.lock().unwrap()[0].clone();
        assert!(head.starts_with("GET / HTTP/1.1\r\n"), "{head:?}");
        assert!(!head.contains("x.example"), "{head:?}");
        // Redirects are answers, not followed.
        let (moved, heads) = recording_server(
            format!("HTTP/1.1 302 Found\r\nLocation: http://{addr}/\r\nContent-Length: 0\r\n\r\n")
                .into_bytes(),
        );
        let t = run(format!("http://localhost:{}/old", moved.port())).await;
        assert_eq!(t.result.unwrap()["status"], 302);
        assert_eq!(heads.lock().unwrap().len(), 1);
        // An answer larger than the limit fails the task.
        let mut huge = b"HTTP/1.1 200 OK\r\nContent-Length: 3145728\r\n\r\n".to_vec();
        huge.resize(huge.len() + 3 * 1024 * 1024, b'x');
        let (big, _) = recording_server(huge);
        let t = run(format!("http://127.0.0.1:{}/big", big.port())).await;
        assert_eq!(t.status, Status::Failed, "{:?}", t.result);
        assert!(t.error.unwrap().contains("larger than"));
    }

    #[tokio::test]
    async fn every_task_type_does_checkable_work() {
        let dir = tempfile::tempdir().unwrap();
        let bench = Workbench::new(dir.path()).unwrap();
        bench.set_own_addr(stub_server());
        let q = Queue::start(options(2), bench.executor());
        bench.attach(&q);
        let run = |kind, payload| {
            let q = q.clone();
            async move {
                let id = q.submit(typed(kind, payload)).unwrap().id;
                until_finished(&q, &id).await
            }
        };
        let c = run(TaskType::Computation, json!({"iterations": 5000})).await;
        let want = computation_checksum(5000, &Cancel::default()).unwrap();
        assert_eq!(c.result.unwrap()["checksum"], format!("{want:016x}"));
        let io = run(TaskType::IoOperation, json!({"file_size": 70_000})).await;
        let io = io.result.unwrap();
        assert_eq!(
            (io["bytes"].as_u64(), io["verified"].as_bool()),
            (Some(70_000), Some(true))
        );
        assert_eq!(
            std::fs::read_dir(dir.path().join("io")).unwrap().count(),
            0,
            "the file is deleted"
        );
        let net = run(TaskType::NetworkRequest, json!({})).await;
        assert_eq!(net.status, Status::Completed, "{:?}", net.error);
        assert_eq!(net.result.unwrap()["status"], 204);
        let data = run(TaskType::DataProcessing, json!({"records": 777})).await;
        assert_eq!(data.result.unwrap(), aggregate(777));
        let mail = run(
            TaskType::EmailSending,
            json!({"recipients": ["a@x.org", "b@y.org"], "template": "report", "data": {"n": 3}}),
        )
        .await;
        let mail = mail.result.unwrap();
        let text =
            std::fs::read_to_string(dir.path().join(mail["file"].as_str().unwrap())).unwrap();
        assert!(text.starts_with("To: a@x.org, b@y.org\r\nSubject: Your report is ready"));
        assert!(text.contains("n: 3"));
        let report = run(TaskType::ReportGeneration, json!({"type": "detailed"})).await;
        let report = report.result.unwrap();
        assert_eq!(report["submitted"], 6);
        let written = std::fs::read(dir.path().join(report["file"].as_str().unwrap())).unwrap();
        assert_eq!(written.len() as u64, report["bytes"].as_u64().unwrap());
    }

    #[tokio::test]
    async fn knobs_fail_and_hold_tasks() {
        let dir = tempfile::tempdir().unwrap();
        let bench = Workbench::new(dir.path()).unwrap();
        let mut opts = options(1);
        opts.backoff_base = Duration::from_millis(10);
        let q = Queue::start(opts, bench.executor());
        let mut flaky = typed(
            TaskType::Computation,
            json!({"fail_times": 2, "iterations": 10}),
        );
        flaky.max_retries = 3;
        let flaky = q.submit(flaky).unwrap();
        let done = until_finished(&q, &flaky.id).await;
        assert_eq!((done.status, done.retry_count), (Status::Completed, 2));
        let mut slow = typed(TaskType::Computation, json!({"hold_ms": 3000}));
        slow.timeout_seconds = 1;
        let slow = q.submit(slow).unwrap();
        let failed = until_finished(&q, &slow.id).await;
        assert_eq!(failed.status, Status::Failed);
        assert!(failed.error.unwrap().contains("timed out"));
        // No own address: a /path URL fails instead of going anywhere.
        let net = q
            .submit(typed(TaskType::NetworkRequest, json!({})))
            .unwrap();
        assert_eq!(until_finished(&q, &net.id).await.status, Status::Failed);
    }
}

#[tokio::test(start_paused = true)]
async fn pinned_records_outlive_retention() {
    let mut opts = options(1);
    opts.retain_finished = 2;
    let q = Queue::start(opts, executor(Log::default(), Instant::now()));
    let seed = q
        .submit_as("seed", spec("seed", Priority::Normal, json!({})))
        .unwrap();
    q.pin(&seed.id);
    until_finished(&q, "seed").await;
    for i in 0..5 {
        let id = q
            .submit(spec(&format!("t{i}"), Priority::Normal, json!({})))
            .unwrap()
            .id;
        until_finished(&q, &id).await;
    }
    assert_eq!(q.get("seed").unwrap().status, Status::Completed);
    let (total, page) = q.list(None, None, None, 2, 0);
    assert_eq!((total, page.len()), (3, 2));
    assert_eq!(
        q.list(Some(Status::Completed), None, None, 10, 2).1[0].id,
        "seed"
    );
}

/// Listings through submits, failures, retries, cancels and evictions:
/// every filter's count and pages equal a scan of the records still held
/// (read one by one with `get`, newest first).
#[tokio::test(start_paused = true)]
async fn filtered_listings_equal_a_scan_through_eviction() {
    let mut opts = options(2);
    opts.retain_finished = 40;
    opts.capacity = 1000;
    let q = Queue::start(opts, executor(Log::default(), Instant::now()));
    let types = [
        TaskType::Computation,
        TaskType::IoOperation,
        TaskType::EmailSending,
    ];
    let mut ids = Vec::new();
    for i in 0..150usize {
        let mut s = spec(
            &format!("t{i}"),
            Priority::ALL[i % 4],
            json!({ "fail_times": u64::from(i % 5 == 0), "sleep_ms": (i % 3) * 10 }),
        );
        s.task_type = types[i % 3];
        s.delay_seconds = (i % 7 == 0).into();
        let id = q.submit(s).unwrap().id;
        if i % 11 == 0 {
            let _ = q.cancel(&id);
        }
        if i % 13 == 0 {
            // Retry a failed or cancelled task from earlier on.
            if let Some(old) = ids.iter().rev().find(|id: &&String| {
                q.get(id)
                    .is_some_and(|t| matches!(t.status, Status::Failed | Status::Cancelled))
            }) {
                q.retry(old).unwrap();
            }
        }
        ids.push(id);
        if i % 10 == 9 {
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
        if i % 25 == 24 {
            check_listings(&q, &ids, &types);
        }
    }
    for id in &ids {
        if q.get(id).is_some() {
            until_finished(&q, id).await;
        }
    }
    assert!(q.stats().evicted > 0, "nothing was evicted");
    check_listings(&q, &ids, &types);
}

fn check_listings(q: &Queue, ids: &[String], types: &[TaskType]) {
    let held: Vec<Task> = ids.iter().rev().filter_map(|id| q.get(id)).collect();
    let statuses = Status::ALL.map(Some).into_iter().chain([None]);
    for status in statuses {
        for task_type in types.iter().copied().map(Some).chain([None]) {
            for priority in Priority::ALL.map(Some).into_iter().chain([None]) {
                let want: Vec<&str> = held
                    .iter()
                    .filter(|t| status.is_none_or(|s| t.status == s))
                    .filter(|t| task_type.is_none_or(|k| t.task_type == k))
                    .filter(|t| priority.is_none_or(|p| t.priority == p))
                    .map(|t| t.id.as_str())
                    .collect();
                for (offset, limit) in [(0, 5), (3, 4), (0, 1000)] {
                    let (total, page) = q.list(status, task_type, priority, limit, offset);
                    let got: Vec<&str> = page.iter().map(|t| t.id.as_str()).collect();
                    let expected: Vec<&str> =
                        want.iter().skip(offset).take(limit).copied().collect();
                    assert_eq!(total, want.len(), "{status:?} {task_type:?} {priority:?}");
                    assert_eq!(got, expected, "{status:?} {task_type:?} {priority:?}");
                }
            }
        }
    }
}

#[test]
fn room_raises_the_bounds_and_never_lowers_them() {
    let o = service::Options::default().with_room(250_000);
    assert_eq!((o.capacity, o.retain_finished), (250_000, 250_000));
    let o = service::Options::default().with_room(5);
    let d = service::Options::default();
    assert_eq!(
        (o.capacity, o.retain_finished),
        (d.capacity, d.retain_finished)
    );
}
