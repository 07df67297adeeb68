//! Routes of the `background_tasks` category over the shared task queue:
//! submit (single and batch), inspect, list, cancel, retry, stats, health;
//! seeded fixtures; an optional journal; a clean drain at shutdown.

pub mod config;
mod routes;

use config::TaskArgs;
use server_kit::{with_state, Router};
use shared::tasks::{
    Journal, Observer, Priority, Queue, QueueOptions, TaskSpec, TaskType, Workbench,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// Port the server listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 8300;

/// Value of the `Server` header.
pub const SERVER_NAME: &str = "feature-bench";

/// Shared state of the routes.
pub struct App {
    /// The queue.
    pub queue: Arc<Queue>,
    /// The journal, when durable.
    pub journal: Option<Arc<Journal>>,
    /// Start time.
    pub started: Instant,
}

/// The seeded tasks: ids and specs (they run at start like any task).
pub fn fixtures() -> [(&'static str, TaskSpec); 3] {
    let spec = |task_type, payload: serde_json::Value, max_retries| TaskSpec {
        task_type,
        priority: Priority::Normal,
        payload,
        delay_seconds: 0,
        max_retries,
        timeout_seconds: 60,
    };
    [
        (
            "test-task-1",
            spec(
                TaskType::Computation,
                serde_json::json!({"iterations": 1000}),
                0,
            ),
        ),
        (
            "test-task-2",
            spec(
                TaskType::DataProcessing,
                serde_json::json!({"records": 100}),
                0,
            ),
        ),
        (
            "test-task-3",
            spec(
                TaskType::Computation,
                serde_json::json!({"iterations": 10, "fail_times": 1_000_000}),
                0,
            ),
        ),
    ]
}

/// What is opened before the server starts (failures end the process).
pub struct Prepared {
    bench: Arc<Workbench>,
    journal: Option<Arc<Journal>>,
    resumed: Vec<shared::tasks::journal::Resumed>,
}

/// Opens the workbench in `work_dir` and the journal, if any.
pub fn prepare(args: &TaskArgs, work_dir: &std::path::Path) -> std::io::Result<Prepared> {
    let bench = Workbench::new(work_dir)?;
    let (journal, resumed) = match &args.journal {
        Some(path) => {
            let (j, resumed) = Journal::open(path)?;
            (Some(Arc::new(j)), resumed)
        }
        None => (None, Vec::new()),
    };
    Ok(Prepared {
        bench,
        journal,
        resumed,
    })
}

impl App {
    /// Starts the queue (on the current runtime), resumes the journal's
    /// unfinished tasks and seeds the fixtures. `addr` is where network
    /// tasks' `/path` URLs go.
    pub fn start(prepared: Prepared, args: &TaskArgs, addr: SocketAddr) -> Arc<Self> {
        let Prepared {
            bench,
            journal,
            resumed,
        } = prepared;
        bench.set_own_addr(addr);
        let observer: Option<Observer> = journal.clone().map(|j| -> Observer {
            Box::new(move |task| {
                if let Err(e) = j.finished(task) {
                    tracing::warn!("journal: {e}");
                }
            })
        });
        let opts = QueueOptions {
            workers: args
                .workers
                .unwrap_or_else(|| 4 * std::thread::available_parallelism().map_or(2, usize::from)),
            // Room for the fixtures and what the journal brings back.
            capacity: args.capacity.max(resumed.len() + fixtures().len()),
            retain_finished: args.retain_finished,
            ..QueueOptions::default()
        };
        let queue = Queue::start_with(opts, bench.executor(), observer);
        bench.attach(&queue);
        if !resumed.is_empty() {
            tracing::info!(
                "resuming {} unfinished task(s) from the journal",
                resumed.len()
            );
        }
        for (id, spec) in resumed {
            if let Err(e) = queue.submit_as(&id, spec) {
                tracing::warn!("cannot resume {id}: {e}");
            }
        }
        for (id, spec) in fixtures() {
            match queue.submit_as(id, spec) {
                Ok(_) => queue.pin(id),
                Err(e) => tracing::warn!("cannot seed {id}: {e}"),
            }
        }
        Arc::new(Self {
            queue,
            journal,
            started: Instant::now(),
        })
    }

    /// Stops taking work, lets running tasks finish within `grace`, and
    /// logs how many tasks were left (kept in the journal when there is
    /// one).
    pub async fn shutdown(self: Arc<Self>, grace: std::time::Duration) {
        let waiting = self.queue.close();
        let still_running = self.queue.drain(grace).await;
        let left = waiting + still_running;
        match &self.journal {
            Some(j) => eprintln!(
                "background-tasks: stopped with {left} unfinished task(s), kept in {}",
                j.path().display()
            ),
            None => eprintln!(
                "background-tasks: stopped with {left} unfinished task(s), dropped (no --journal)"
            ),
        }
    }
}

/// The route table of the category.
pub fn router(app: &Arc<App>) -> Router {
    Router::new()
        .get("/health", with_state(app, |a, _| routes::health(a)))
        .get("/stats", with_state(app, |a, _| routes::stats(a)))
        .post("/tasks", with_state(app, routes::submit))
        .get("/tasks", with_state(app, routes::list))
        .post("/tasks/batch", with_state(app, routes::batch))
        .get("/tasks/{id}", with_state(app, routes::get))
        .delete("/tasks/{id}", with_state(app, routes::cancel))
        .post("/tasks/{id}/retry", with_state(app, routes::retry))
}
