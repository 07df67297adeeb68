//! `background_tasks` over `shared::tasks::Service`: submit (single and
//! batch), inspect, list, cancel, retry, stats, health. The queue starts
//! inside the runtime once the address is bound and drains after serving.

use crate::common::{App, JsonBody, Param, DEFAULT_BODY_LIMIT};
use crate::error::{not_found, ApiResult};
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use shared::api::Query;
use shared::tasks::service::{
    prepare as open, BatchAccepted, Listing, Options, Prepared, DRAIN_TIMEOUT,
};
use shared::tasks::{Service, Task};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

type Tasks = App<Service>;

/// A fresh temporary work directory (removed when dropped) and the queue's
/// workbench opened in it (blocking), before the server binds.
pub fn prepare(room: usize) -> std::io::Result<(tempfile::TempDir, Prepared)> {
    let dir = tempfile::Builder::new()
        .prefix("axum-peer-tasks-")
        .tempdir()?;
    let prepared = open(&Options::default().with_room(room), dir.path())?;
    Ok((dir, prepared))
}

/// Starts the queue on the current runtime (network tasks call `addr`),
/// with room for `room` task records, and gives the routes and what runs
/// once serving stopped: the drain.
pub fn start(
    prepared: Prepared,
    room: usize,
    addr: SocketAddr,
) -> (Router, impl Future<Output = ()>) {
    let service = Service::start(prepared, &Options::default().with_room(room), addr);
    let drained = {
        let service = service.clone();
        async move { eprintln!("axum-peer: {}", service.shutdown(DRAIN_TIMEOUT).await) }
    };
    (router(service), drained)
}

fn router(service: Arc<Service>) -> Router {
    Router::new()
        .route(
            "/health",
            get(|State(s): State<Tasks>| async move { Json(s.health()) }),
        )
        .route(
            "/stats",
            get(|State(s): State<Tasks>| async move { Json(s.stats()) }),
        )
        .route("/tasks", post(submit).get(list))
        .route("/tasks/batch", post(submit_batch))
        .route("/tasks/{id}", get(task).delete(cancel))
        .route("/tasks/{id}/retry", post(retry))
        .fallback(not_found)
        .with_state(App::new(service, DEFAULT_BODY_LIMIT))
}

async fn submit(
    State(s): State<Tasks>,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, Json<Task>)> {
    Ok((StatusCode::CREATED, Json(s.submit(&body).await?)))
}

async fn submit_batch(
    State(s): State<Tasks>,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, Json<BatchAccepted>)> {
    Ok((StatusCode::CREATED, Json(s.submit_batch(&body).await?)))
}

async fn list(State(s): State<Tasks>, RawQuery(q): RawQuery) -> ApiResult<Json<Listing>> {
    Ok(Json(s.list(&Query::parse(q.as_deref()))?))
}

async fn task(State(s): State<Tasks>, Param(id): Param) -> ApiResult<Json<Task>> {
    Ok(Json(s.get(&id)?))
}

async fn cancel(State(s): State<Tasks>, Param(id): Param) -> ApiResult<Json<Task>> {
    Ok(Json(s.cancel(&id)?))
}

async fn retry(State(s): State<Tasks>, Param(id): Param) -> ApiResult<Json<Task>> {
    Ok(Json(s.retry(&id).await?))
}
