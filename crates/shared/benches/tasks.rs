//! In-process task queue throughput: tasks submitted and run to completion
//! per second (enqueue + dequeue + record keeping), with an executor that
//! does no work, on one Tokio thread and on two.

use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};
use serde_json::{json, Value};
use shared::tasks::{
    queue::Work, Cancel, Priority, Queue, QueueOptions, TaskInput, TaskSpec, TaskType,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

// The allocator every server binary uses.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Tasks per measured round.
const ROUND: u64 = 2_000;

fn spec(i: u64) -> TaskSpec {
    TaskSpec {
        task_type: TaskType::Computation,
        priority: Priority::ALL[(i % 4) as usize],
        payload: json!({}),
        delay_seconds: 0,
        max_retries: 0,
        timeout_seconds: 60,
    }
}

fn queue_throughput(c: &mut Criterion) {
    let mut g = c.benchmark_group("task_queue");
    g.measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500))
        .throughput(Throughput::Elements(ROUND));
    for threads in [1usize, 2] {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_time()
            .build()
            .expect("runtime");
        let done = Arc::new(AtomicU64::new(0));
        let counter = done.clone();
        let executor = move |_: TaskInput, _: Cancel| -> Work {
            counter.fetch_add(1, Ordering::Relaxed);
            Box::pin(async { Ok(Value::Null) })
        };
        let queue = rt.block_on(async {
            Queue::start(
                QueueOptions {
                    workers: 4,
                    capacity: ROUND as usize * 2,
                    retain_finished: 10_000,
                    ..QueueOptions::default()
                },
                executor,
            )
        });
        g.bench_function(BenchmarkId::new("submit_and_complete", threads), |b| {
            b.iter_custom(|rounds| {
                let start = Instant::now();
                for _ in 0..rounds {
                    let target = done.load(Ordering::Relaxed) + ROUND;
                    rt.block_on(async {
                        for i in 0..ROUND {
                            queue.submit(spec(i)).expect("capacity");
                        }
                        while done.load(Ordering::Relaxed) < target {
                            tokio::task::yield_now().await;
                        }
                    });
                }
                start.elapsed()
            })
        });
    }
    g.finish();
}

#[allow(missing_docs)]
mod harness {
    criterion::criterion_group!(benches, super::queue_throughput);
}
use harness::benches;
criterion_main!(benches);
