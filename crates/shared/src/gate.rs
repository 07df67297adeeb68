//! A gate for CPU-heavy work (password hashing, image processing): at most
//! `workers` jobs run on blocking threads, at most `max_waiting` more wait,
//! and anything beyond is refused at once with 503 instead of piling up
//! threads and memory.

use crate::api::Error;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Bounded concurrency for blocking jobs.
#[derive(Debug)]
pub struct Gate {
    running: Arc<Semaphore>,
    workers: usize,
    admitted: Arc<AtomicUsize>,
    max_waiting: usize,
}

/// Counts a job from admission until it is dropped: with the waiting
/// future, or with the blocking job once it runs.
struct Admitted(Arc<AtomicUsize>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Gate {
    /// `workers` running (at least one) and `max_waiting` queued jobs.
    pub fn new(workers: usize, max_waiting: usize) -> Self {
        let workers = workers.max(1);
        Self {
            running: Arc::new(Semaphore::new(workers)),
            workers,
            admitted: Arc::new(AtomicUsize::new(0)),
            max_waiting,
        }
    }

    /// Jobs that may run at once.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Jobs that may wait for a worker.
    pub fn max_waiting(&self) -> usize {
        self.max_waiting
    }

    /// Jobs running or waiting now.
    pub fn load(&self) -> usize {
        self.admitted.load(Ordering::Relaxed)
    }

    /// Whether a job would be refused now.
    pub fn is_full(&self) -> bool {
        self.load() >= self.workers + self.max_waiting
    }

    /// Runs `job` on a blocking thread once a worker is free; 503 `busy`
    /// when the queue is full. The worker slot goes with the job: a caller
    /// that gives up (a client hanging up) does not free it while the job
    /// still runs.
    pub async fn run<T, F>(&self, job: F) -> Result<T, Error>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if self.admitted.fetch_add(1, Ordering::Relaxed) >= self.workers + self.max_waiting {
            self.admitted.fetch_sub(1, Ordering::Relaxed);
            return Err(Error::unavailable(
                "busy",
                "too many jobs are waiting for a worker; retry later",
            ));
        }
        let admitted = Admitted(self.admitted.clone());
        let permit = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::internal("the worker gate is closed"))?;
        tokio::task::spawn_blocking(move || {
            let _slot = (permit, admitted);
            job()
        })
        .await
        .map_err(|e| Error::internal(format!("a worker failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refuses_beyond_workers_plus_waiting() {
        let gate = Arc::new(Gate::new(1, 1));
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let rx = Arc::new(std::sync::Mutex::new(rx));
        let mut held = Vec::new();
        for _ in 0..2 {
            let (gate, rx) = (gate.clone(), rx.clone());
            held.push(tokio::spawn(async move {
                gate.run(move || rx.lock().unwrap().recv().unwrap()).await
            }));
        }
        while gate.load() < 2 {
            tokio::task::yield_now().await;
        }
        assert!(gate.is_full());
        let refused = gate.run(|| ()).await.unwrap_err();
        assert_eq!(refused.status, 503);
        tx.send(()).unwrap();
        tx.send(()).unwrap();
        for h in held {
            h.await.unwrap().unwrap();
        }
        assert_eq!(gate.load(), 0);
        assert_eq!(gate.run(|| 7).await.unwrap(), 7);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_abandoned_caller_keeps_its_slot_until_the_job_ends() {
        let gate = Arc::new(Gate::new(1, 0));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let (started, job_started) = std::sync::mpsc::channel::<()>();
        let caller = {
            let gate = gate.clone();
            tokio::spawn(async move {
                gate.run(move || {
                    started.send(()).unwrap();
                    wait.recv().unwrap()
                })
                .await
            })
        };
        tokio::task::spawn_blocking(move || job_started.recv().unwrap())
            .await
            .unwrap();
        caller.abort();
        let _ = caller.await;
        assert_eq!(gate.load(), 1, "the job still runs and holds the slot");
        assert!(gate.run(|| ()).await.is_err());
        release.send(()).unwrap();
        while gate.load() > 0 {
            tokio::task::yield_now().await;
        }
        assert!(gate.run(|| ()).await.is_ok());
    }
}
