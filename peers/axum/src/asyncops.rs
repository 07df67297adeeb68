//! `async_operations`: handlers await `shared::asyncops` on axum's Tokio
//! runtime; the upstream client (reqwest, pooled) is the router's state.

use crate::common::Param;
use crate::error::{not_found, ApiResult};
use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use shared::api::{Error, Health, Query};
use shared::asyncops::{self as ops, AsyncHealth, Chain, Combined, Fanout, Mode, Slept, Upstream};
use std::sync::Arc;
use std::time::Instant;

/// The category's state: when it started, and its upstream.
pub struct AsyncOps {
    started: Instant,
    upstream: Upstream,
}

/// The category's routes, calling `upstream` for `/async/upstream`.
pub fn router(upstream: Upstream) -> Router {
    let state = Arc::new(AsyncOps {
        started: Instant::now(),
        upstream,
    });
    Router::new()
        .route("/health", get(health))
        .route("/async/raw", get(raw))
        .route("/async/yield-once", get(yield_once))
        .route("/async/fanout", get(fanout))
        .route("/async/chain/{steps}", get(chain))
        .route("/async/sleep", get(sleep))
        .route("/async/upstream", get(upstream_calls))
        .fallback(not_found)
        .with_state(state)
}

async fn health(State(s): State<Arc<AsyncOps>>) -> Json<AsyncHealth> {
    Json(AsyncHealth {
        health: Health::new(ops::CATEGORY, s.started),
        upstream: s.upstream.url().to_owned(),
    })
}

async fn raw() -> Json<Mode> {
    Json(ops::raw().await)
}

async fn yield_once() -> Json<Mode> {
    Json(ops::yield_once().await)
}

async fn fanout(RawQuery(q): RawQuery) -> ApiResult<Json<Fanout>> {
    let x = ops::fanout_x(&Query::parse(q.as_deref()))?;
    Ok(Json(ops::fanout(x).await))
}

async fn chain(Param(steps): Param) -> ApiResult<Json<Chain>> {
    Ok(Json(ops::chain(ops::chain_steps(&steps)?).await))
}

async fn sleep(RawQuery(q): RawQuery) -> ApiResult<Json<Slept>> {
    let ms = ops::sleep_ms(&Query::parse(q.as_deref()))?;
    Ok(Json(ops::sleep(ms).await))
}

async fn upstream_calls(
    State(s): State<Arc<AsyncOps>>,
    RawQuery(q): RawQuery,
) -> ApiResult<Json<Combined>> {
    let n = ops::upstream_n(&Query::parse(q.as_deref()))?;
    Ok(Json(s.upstream.call(n).await.map_err(Error::from)?))
}
