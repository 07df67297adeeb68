//! Queue statistics: counts per status, depth per priority, throughput and
//! wait/run time percentiles over the most recent tasks.

use super::model::{Priority, Status};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// Durations kept for percentiles.
const WINDOW: usize = 1024;

/// Sub-buckets per power of two: durations are kept to within 1/32
/// (about 3 %) above 32 µs, exactly below.
const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;
/// Buckets for every `u64` of microseconds.
const BUCKETS: usize = ((64 - SUB_BITS as usize) + 1) * SUB as usize;

/// The bucket of `us` microseconds: exact below 32, then 32 per power of
/// two.
fn bucket(us: u64) -> usize {
    if us < SUB {
        return us as usize;
    }
    let exp = 63 - us.leading_zeros();
    let sub = (us >> (exp - SUB_BITS)) & (SUB - 1);
    ((exp - SUB_BITS + 1) as u64 * SUB + sub) as usize
}

/// The middle of bucket `b`, in microseconds.
fn midpoint(b: usize) -> f64 {
    let b = b as u64;
    if b < SUB {
        return b as f64;
    }
    let exp = b / SUB - 1 + u64::from(SUB_BITS);
    let width = 1u64 << (exp - u64::from(SUB_BITS));
    let low = (1u64 << exp) + (b % SUB) * width;
    low as f64 + (width - 1) as f64 / 2.0
}

/// The most recent durations, for percentiles: a ring of the last 1024
/// and a histogram of the same, updated as they come and go, so reading
/// the percentiles walks the buckets instead of sorting.
#[derive(Debug)]
pub struct Window {
    recent: VecDeque<u64>,
    counts: Box<[u32]>,
}

impl Default for Window {
    fn default() -> Self {
        Self {
            recent: VecDeque::with_capacity(WINDOW),
            counts: vec![0; BUCKETS].into_boxed_slice(),
        }
    }
}

impl Window {
    /// Adds a duration (whole microseconds), dropping the oldest beyond
    /// 1024.
    pub fn push(&mut self, d: Duration) {
        if self.recent.len() == WINDOW {
            if let Some(old) = self.recent.pop_front() {
                self.counts[bucket(old)] -= 1;
            }
        }
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.recent.push_back(us);
        self.counts[bucket(us)] += 1;
    }

    /// The value at each quantile (nearest rank, as a sorted window would
    /// give it, to within its bucket).
    pub fn percentiles(&self) -> Percentiles {
        let n = self.recent.len();
        if n == 0 {
            return Percentiles::default();
        }
        let quantiles = [0.5, 0.9, 0.99, 1.0];
        // Ranks (0-based) in a sorted window.
        let ranks = quantiles.map(|q| ((n - 1) as f64 * q).round() as usize);
        let mut values = [0.0; 4];
        let (mut seen, mut next) = (0usize, 0);
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c as usize;
            while next < ranks.len() && ranks[next] < seen {
                values[next] = midpoint(b) / 1e3;
                next += 1;
            }
            if next == ranks.len() {
                break;
            }
        }
        Percentiles {
            samples: n,
            p50_ms: values[0],
            p90_ms: values[1],
            p99_ms: values[2],
            max_ms: values[3],
        }
    }
}

/// Percentiles of recent durations, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    /// Durations they are computed from (at most 1024, the most recent);
    /// each percentile to within 3 %.
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn buckets_are_ordered_and_hold_their_values() {
        let mut last = 0;
        for us in (0..5000u64).chain([1 << 20, 1 << 40, u64::MAX - 1, u64::MAX]) {
            let b = bucket(us);
            assert!(b >= last && b < BUCKETS, "{us}");
            last = b;
            let mid = midpoint(b);
            assert!(
                (mid - us as f64).abs() <= us as f64 / 32.0 + 0.5,
                "{us}: {mid}"
            );
        }
    }

    /// The histogram's percentiles equal a sorted window's, to within a
    /// bucket, as durations come and go.
    #[test]
    fn percentiles_follow_a_sorted_window() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(19);
        let mut w = Window::default();
        let mut all: Vec<u64> = Vec::new();
        for i in 0..5000 {
            let us = if rng.random_bool(0.1) {
                rng.random_range(0..40)
            } else {
                rng.random_range(0..5_000_000)
            };
            w.push(Duration::from_micros(us));
            all.push(us);
            if i % 97 == 0 {
                let mut v: Vec<u64> = all.iter().rev().take(WINDOW).copied().collect();
                v.sort_unstable();
                let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize] as f64 / 1e3;
                let p = w.percentiles();
                assert_eq!(p.samples, v.len());
                for (got, want) in [
                    (p.p50_ms, at(0.5)),
                    (p.p90_ms, at(0.9)),
                    (p.p99_ms, at(0.99)),
                    (p.max_ms, at(1.0)),
                ] {
                    assert!((got - want).abs() <= want / 32.0 + 0.001, "{got} vs {want}");
                }
            }
        }
        assert_eq!(Window::default().percentiles(), Percentiles::default());
    }
}
