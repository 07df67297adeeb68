//! The `async_operations` category: the scheduling work of the Catzilla
//! suite's four async endpoints (a bare handler, one yield, three awaits
//! gathered, a chain of awaits), timer waits, and concurrent calls to an
//! upstream HTTP server through a pooled client ([`Upstream`]).
//!
//! Every operation is an `async fn` on Tokio; a server awaits it in its
//! handler, so its own runtime does the scheduling that is measured.

pub(crate) mod params;
mod upstream;

pub use params::{
    chain_steps, fanout_x, sleep_ms, upstream_n, MAX_CHAIN, MAX_FANOUT_X, MAX_SLEEP_MS,
    MAX_UPSTREAM,
};
pub use upstream::{Answer, Combined, Upstream, UpstreamError, DEFAULT_UPSTREAM};

use serde::Serialize;
use std::time::{Duration, Instant};

/// The category's name, as its `/health` says.
pub const CATEGORY: &str = "async_operations";

/// The answer of the endpoints that only schedule: which one ran and its
/// value (`{"mode": "raw", "value": 1}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Mode {
    /// `raw` or `yield_once`.
    pub mode: &'static str,
    /// What it computed.
    pub value: u64,
}

/// `GET /async/raw`: an async handler that awaits nothing.
pub async fn raw() -> Mode {
    Mode {
        mode: "raw",
        value: 1,
    }
}

/// `GET /async/yield-once`: yields to the scheduler once, then answers.
pub async fn yield_once() -> Mode {
    tokio::task::yield_now().await;
    Mode {
        mode: "yield_once",
        value: 1,
    }
}

/// One task of a fan-out: its number and the `x` it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TaskResult {
    /// 0, 1 or 2.
    pub task: u32,
    /// The request's `x`.
    pub x: u64,
}

/// `GET /async/fanout` answered: three results, in task order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fanout {
    /// Always `fanout`.
    pub mode: &'static str,
    /// How many tasks ran (3).
    pub value: u64,
    /// Each task's result, in task order.
    pub results: [TaskResult; 3],
}

async fn task(task: u32, x: u64) -> TaskResult {
    tokio::task::yield_now().await;
    TaskResult { task, x }
}

/// `GET /async/fanout?x=N`: three tasks awaited concurrently, each
/// yielding once, their results gathered in order.
pub async fn fanout(x: u64) -> Fanout {
    let (a, b, c) = tokio::join!(task(0, x), task(1, x), task(2, x));
    Fanout {
        mode: "fanout",
        value: 3,
        results: [a, b, c],
    }
}

/// `GET /async/chain/{steps}` answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Chain {
    /// Always `chain`.
    pub mode: &'static str,
    /// Steps awaited.
    pub value: u64,
    /// The steps asked for.
    pub steps: u64,
    /// The sum of the step numbers, each added after its step's yield.
    pub sum: u64,
}

async fn step(i: u64) -> u64 {
    tokio::task::yield_now().await;
    i
}

/// `GET /async/chain/{steps}`: `steps` awaits in sequence, each yielding
/// once and giving its number (1, 2, …), summed.
pub async fn chain(steps: u64) -> Chain {
    let mut sum = 0;
    for i in 1..=steps {
        sum += step(i).await;
    }
    Chain {
        mode: "chain",
        value: steps,
        steps,
        sum,
    }
}

/// `GET /async/sleep` answered: the wait asked for and the one measured.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Slept {
    /// Always `sleep`.
    pub mode: &'static str,
    /// Milliseconds asked for.
    pub ms: u64,
    /// Milliseconds the wait took, measured (never less than `ms`).
    pub slept_ms: f64,
}

/// `GET /async/sleep?ms=N`: a timer wait of `ms` milliseconds.
pub async fn sleep(ms: u64) -> Slept {
    let start = Instant::now();
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Slept {
        mode: "sleep",
        ms,
        slept_ms: round_ms(start.elapsed()),
    }
}

/// Milliseconds to the microsecond.
fn round_ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// `/health` of the category: liveness and the upstream it calls.
#[derive(Debug, Clone, Serialize)]
pub struct AsyncHealth {
    /// Liveness.
    #[serde(flatten)]
    pub health: crate::api::Health,
    /// The upstream `/async/upstream` calls.
    pub upstream: String,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn scheduling_operations_compute_from_their_input() {
        assert_eq!(raw().await.value, 1);
        assert_eq!(yield_once().await.mode, "yield_once");
        let f = fanout(7).await;
        assert_eq!(f.results.map(|r| (r.task, r.x)), [(0, 7), (1, 7), (2, 7)]);
        // Gauss, against the loop.
        for n in [1u64, 2, 42, 1000] {
            assert_eq!(chain(n).await.sum, n * (n + 1) / 2);
        }
    }

    #[tokio::test]
    async fn a_sleep_waits_at_least_what_it_was_asked() {
        let s = sleep(20).await;
        assert!(s.slept_ms >= 20.0, "{s:?}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn fanout_tasks_yield_to_the_scheduler() {
        // Each task yields before answering: another task on this one
        // thread runs in between, which it could not if nothing yielded.
        let counter = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let c = counter.clone();
        let spinner = tokio::spawn(async move {
            for _ in 0..10 {
                c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
        });
        fanout(1).await;
        assert!(counter.load(std::sync::atomic::Ordering::Relaxed) >= 1);
        spinner.await.unwrap();
    }
}
