//! `GET /health` of a category without more to say: status, category,
//! uptime.

use serde::Serialize;
use std::time::Instant;

/// `{"status": "ok", "category": …, "uptime_seconds": …}`.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    /// Always `ok` while serving.
    pub status: &'static str,
    /// The category served.
    pub category: &'static str,
    /// Whole seconds since `started`.
    pub uptime_seconds: u64,
}

impl Health {
    /// The health of `category`, up since `started`.
    pub fn new(category: &'static str, started: Instant) -> Self {
        Self {
            status: "ok",
            category,
            uptime_seconds: started.elapsed().as_secs(),
        }
    }
}
