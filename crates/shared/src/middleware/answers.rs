//! The bodies the category's handlers answer.

use super::params::Posted;
use crate::api::Health;
use crate::asyncops::Fanout;
use serde::Serialize;

/// `GET /`: plain text behind the timing layer alone.
pub const HOME: &str = "middleware benchmark";

/// `GET /health`: liveness and the stacks' settings.
#[derive(Debug, Clone, Serialize)]
pub struct MiddlewareHealth {
    /// The fields every category's health has.
    #[serde(flatten)]
    pub health: Health,
    /// Tokens per second per subject.
    pub rate_limit_per_second: u32,
    /// The heavy stack's handler timeout.
    pub request_timeout_ms: u64,
    /// The access log's file.
    pub access_log: String,
}

/// `GET /middleware-light`.
#[derive(Debug, Clone, Serialize)]
pub struct Light<'a> {
    /// Always `light`.
    pub stack: &'static str,
    /// The request's id.
    pub request_id: &'a str,
}

/// `GET /middleware-concurrent`: the async category's fan-out behind the
/// light stack.
#[derive(Debug, Clone, Serialize)]
pub struct Concurrent<'a> {
    /// The three tasks' results.
    #[serde(flatten)]
    pub fanout: Fanout,
    /// Always `light`.
    pub stack: &'static str,
    /// The request's id.
    pub request_id: &'a str,
}

/// One item of `/middleware-heavy`.
#[derive(Debug, Clone, Serialize)]
pub struct Item<'a> {
    /// Its position.
    pub id: u64,
    /// `item-<id>`.
    pub name: String,
    /// The token's subject.
    pub owner: &'a str,
    /// Always `["middleware", "heavy"]`.
    pub tags: [&'static str; 2],
}

/// `GET /middleware-heavy`.
#[derive(Debug, Clone, Serialize)]
pub struct Heavy<'a> {
    /// Always `heavy`.
    pub stack: &'static str,
    /// The token's subject.
    pub subject: &'a str,
    /// The request's id.
    pub request_id: &'a str,
    /// Items asked for.
    pub count: u64,
    /// `count` items owned by the subject.
    pub items: Vec<Item<'a>>,
}

impl<'a> Heavy<'a> {
    /// `count` items for `subject`.
    pub fn new(subject: &'a str, request_id: &'a str, count: u64) -> Self {
        Self {
            stack: "heavy",
            subject,
            request_id,
            count,
            items: (0..count)
                .map(|id| Item {
                    id,
                    name: format!("item-{id}"),
                    owner: subject,
                    tags: ["middleware", "heavy"],
                })
                .collect(),
        }
    }
}

/// `GET /middleware-auth`: who the token names.
#[derive(Debug, Clone, Serialize)]
pub struct Authenticated<'a> {
    /// The token's subject.
    pub subject: &'a str,
    /// The token's scopes.
    pub scopes: &'a [String],
    /// The request's id.
    pub request_id: &'a str,
}

/// `POST /middleware-post`: the validated body back with the subject.
#[derive(Debug, Clone, Serialize)]
pub struct Received<'a> {
    /// The token's subject.
    pub subject: &'a str,
    /// The body as validated.
    pub received: Posted,
    /// The request's id.
    pub request_id: &'a str,
}
