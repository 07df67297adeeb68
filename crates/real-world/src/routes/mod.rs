//! The handlers, one module per part of the application, and the query
//! checks they share.

pub mod analytics;
pub mod auth;
pub mod blog;
pub mod shop;

use crate::App;
use serde_json::json;
use server_kit::{json, ApiError, Query, Response};
use shared::FieldError;
use std::sync::Arc;

/// Largest page number a listing accepts.
const MAX_PAGE: usize = 10_000;
/// Largest `limit` of a listing.
const MAX_LIMIT: usize = 100;
/// Longest `search` text.
const MAX_SEARCH: usize = 100;

/// `page` (≥ 1, default 1) and `limit` (1..=100, default `default_limit`);
/// what is not an integer is 400, integers out of range (negative, huge)
/// are collected as 422s.
pub(crate) fn paging(
    q: &Query<'_>,
    default_limit: usize,
    errors: &mut Vec<FieldError>,
) -> Result<(usize, usize), ApiError> {
    let int = |name: &str, default: usize| -> Result<usize, ApiError> {
        Ok(match q.get::<i128>(name)? {
            None => default,
            Some(v) => usize::try_from(v).unwrap_or(0),
        })
    };
    let page = int("page", 1)?;
    let limit = int("limit", default_limit)?;
    if !(1..=MAX_PAGE).contains(&page) {
        errors.push(FieldError::new(
            "page",
            "range",
            format!("must be from 1 to {MAX_PAGE}"),
        ));
    }
    if !(1..=MAX_LIMIT).contains(&limit) {
        errors.push(FieldError::new(
            "limit",
            "range",
            format!("must be from 1 to {MAX_LIMIT}"),
        ));
    }
    Ok((page, limit))
}

/// `search`: absent, or 1..=100 characters holding at least one letter or
/// digit.
pub(crate) fn search(q: &Query<'_>, errors: &mut Vec<FieldError>) -> Option<String> {
    let s = q.str("search")?;
    let words = shared::realworld::search::words(s).next().is_some();
    if s.chars().count() > MAX_SEARCH || !words {
        errors.push(FieldError::new(
            "search",
            "search",
            format!("must be 1 to {MAX_SEARCH} characters with a letter or digit"),
        ));
    }
    Some(s.to_owned())
}

/// `GET /health`: liveness with the store's sizes and bounds.
pub async fn health(app: Arc<App>) -> Result<Response, ApiError> {
    let w = &app.world;
    json(&json!({
        "status": "ok",
        "category": "real_world_scenarios",
        "products": w.catalog.len(),
        "users": w.accounts.count(),
        "posts": w.blog.len(),
        "comments": w.blog.comment_count(),
        "orders": w.orders.counts(),
        "analytics": w.analytics.retention_now(),
        "password_hash": { "algorithm": "argon2id", "cost": w.accounts.cost() },
        "hashing_load": app.hashing.load(),
        "uptime_seconds": app.started.elapsed().as_secs(),
    }))
}
