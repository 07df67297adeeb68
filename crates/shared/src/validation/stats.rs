//! Counters of validation work, safe to share between threads.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of one model or batch kind.
#[derive(Debug, Default)]
pub struct Counter {
    requests: AtomicU64,
    valid: AtomicU64,
    invalid: AtomicU64,
}

/// A snapshot of a [`Counter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CounterSnapshot {
    /// Requests handled.
    pub requests: u64,
    /// Items that passed.
    pub valid: u64,
    /// Items that failed.
    pub invalid: u64,
}

impl Counter {
    /// Records one request with `valid` and `invalid` items.
    pub fn record(&self, valid: u64, invalid: u64) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if valid > 0 {
            self.valid.fetch_add(valid, Ordering::Relaxed);
        }
        if invalid > 0 {
            self.invalid.fetch_add(invalid, Ordering::Relaxed);
        }
    }

    /// The current values.
    pub fn snapshot(&self) -> CounterSnapshot {
        CounterSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            valid: self.valid.load(Ordering::Relaxed),
            invalid: self.invalid.load(Ordering::Relaxed),
        }
    }
}
