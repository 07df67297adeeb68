//! Queue statistics: counts per status, depth per priority, throughput and
//! wait/run time percentiles over the most recent tasks.

use super::model::{Priority, Status};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// Durations kept for percentiles.
const WINDOW: usize = 1024;

/// The most recent durations, for percentiles.
#[derive(Debug, Default)]
pub(crate) struct Window(VecDeque<Duration>);

impl Window {
    pub(crate) fn push(&mut self, d: Duration) {
        if self.0.len() == WINDOW {
            self.0.pop_front();
        }
        self.0.push_back(d);
    }

    pub(crate) fn percentiles(&self) -> Percentiles {
        let mut v: Vec<f64> = self.0.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        v.sort_by(f64::total_cmp);
        let at = |q: f64| {
            if v.is_empty() {
                0.0
            } else {
                v[((v.len() - 1) as f64 * q).round() as usize]
            }
        };
        Percentiles {
            samples: v.len(),
            p50_ms: at(0.5),
            p90_ms: at(0.9),
            p99_ms: at(0.99),
            max_ms: v.last().copied().unwrap_or(0.0),
        }
    }
}

/// Percentiles of recent durations, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// Durations they are computed from (at most 1024, the most recent).
    pub samples: usize,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

/// A snapshot of the queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueStats {
    /// Task records held, per status.
    pub by_status: BTreeMap<&'static str, usize>,
    /// Tasks waiting for a worker now, per priority.
    pub queue_depth: BTreeMap<&'static str, usize>,
    /// Tasks accepted since start.
    pub submitted: u64,
    /// Submissions refused because the queue was full (of tasks or of
    /// payload bytes).
    pub rejected: u64,
    /// Tasks that finished (completed, failed or cancelled) since start.
    pub finished: u64,
    /// Finished tasks per second since start.
    pub throughput_per_second: f64,
    /// Finished records dropped to respect the retention bound.
    pub evicted: u64,
    /// Unfinished tasks (what counts against the capacity).
    pub active: usize,
    /// The capacity.
    pub capacity: usize,
    /// Payload bytes (compact JSON) of the unfinished tasks.
    pub queued_payload_bytes: usize,
    /// Workers.
    pub workers: usize,
    /// Time from ready to started.
    pub wait_time: Percentiles,
    /// Time of an attempt.
    pub run_time: Percentiles,
}

pub(crate) fn status_name(s: Status) -> &'static str {
    match s {
        Status::Pending => "pending",
        Status::Running => "running",
        Status::Completed => "completed",
        Status::Failed => "failed",
        Status::Cancelled => "cancelled",
        Status::Retrying => "retrying",
    }
}

pub(crate) fn priority_name(p: Priority) -> &'static str {
    match p {
        Priority::Low => "low",
        Priority::Normal => "normal",
        Priority::High => "high",
        Priority::Urgent => "urgent",
    }
}
