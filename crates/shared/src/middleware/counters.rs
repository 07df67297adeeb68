//! How often each layer acted, for `/middleware-stats`.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// One counter per layer event, shared by the server's threads.
#[derive(Debug, Default)]
pub struct Counters {
    /// Requests through the counting layer (light and heavy stacks).
    pub requests: AtomicU64,
    /// Request ids made by the server.
    pub ids_generated: AtomicU64,
    /// Client request ids kept.
    pub ids_echoed: AtomicU64,
    /// Answers leaving the CORS layer with `Access-Control-Allow-Origin`.
    pub cors_allowed: AtomicU64,
    /// Tokens accepted.
    pub auth_ok: AtomicU64,
    /// Requests refused by authentication.
    pub auth_rejected: AtomicU64,
    /// Requests refused by the rate limiter.
    pub rate_limited: AtomicU64,
    /// Answers leaving the compression layer gzipped.
    pub gzipped: AtomicU64,
    /// Access-log lines written.
    pub logged: AtomicU64,
    /// Handlers cut by the timeout.
    pub timed_out: AtomicU64,
}

/// Adds one to a counter.
pub fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Relaxed);
}

impl Counters {
    /// The counters now.
    pub fn stats(&self) -> Stats {
        let get = |c: &AtomicU64| c.load(Relaxed);
        Stats {
            category: super::CATEGORY,
            requests: get(&self.requests),
            ids_generated: get(&self.ids_generated),
            ids_echoed: get(&self.ids_echoed),
            cors_allowed: get(&self.cors_allowed),
            auth_ok: get(&self.auth_ok),
            auth_rejected: get(&self.auth_rejected),
            rate_limited: get(&self.rate_limited),
            gzipped: get(&self.gzipped),
            logged: get(&self.logged),
            timed_out: get(&self.timed_out),
        }
    }
}

/// The answer of `/middleware-stats`: [`Counters`] read once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[allow(missing_docs)]
pub struct Stats {
    pub category: &'static str,
    pub requests: u64,
    pub ids_generated: u64,
    pub ids_echoed: u64,
    pub cors_allowed: u64,
    pub auth_ok: u64,
    pub auth_rejected: u64,
    pub rate_limited: u64,
    pub gzipped: u64,
    pub logged: u64,
    pub timed_out: u64,
}
