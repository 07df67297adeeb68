//! Routes of the `background_tasks` category over `shared::tasks::Service`:
//! submit (single and batch), inspect, list, cancel, retry, stats, health;
//! the service seeds the fixtures, keeps the optional journal and drains at
//! shutdown.

pub mod config;

use http::StatusCode;
use server_kit::{json, json_status, with_state, Req, Router};
use shared::tasks::Service;
use std::sync::Arc;

/// Port the server listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 8300;

/// Value of the `Server` header.
pub const SERVER_NAME: &str = "feature-bench";

/// The route table of the category.
pub fn router(service: &Arc<Service>) -> Router {
    Router::new()
        .get(
            "/health",
            with_state(service, |s, _| async move { json(&s.health()) }),
        )
        .get(
            "/stats",
            with_state(service, |s, _| async move { json(&s.stats()) }),
        )
        .post(
            "/tasks",
            with_state(service, |s, req: Req| async move {
                let task = s.submit(&req.json_bytes().await?).await?;
                json_status(StatusCode::CREATED, &task)
            }),
        )
        .get(
            "/tasks",
            with_state(service, |s, req: Req| async move {
                json(&s.list(&req.query())?)
            }),
        )
        .post(
            "/tasks/batch",
            with_state(service, |s, req: Req| async move {
                let batch = s.submit_batch(&req.json_bytes().await?).await?;
                json_status(StatusCode::CREATED, &batch)
            }),
        )
        .get(
            "/tasks/{id}",
            with_state(service, |s, req: Req| async move {
                json(&s.get(req.raw_param("id"))?)
            }),
        )
        .delete(
            "/tasks/{id}",
            with_state(service, |s, req: Req| async move {
                json(&s.cancel(req.raw_param("id"))?)
            }),
        )
        .post(
            "/tasks/{id}/retry",
            with_state(service, |s, req: Req| async move {
                json(&s.retry(req.raw_param("id")).await?)
            }),
        )
}
