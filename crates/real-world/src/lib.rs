//! Routes of the `real_world_scenarios` category over
//! `shared::realworld::service::Service`: a shop, a blog, accounts and
//! analytics. Handlers pass on what the request carries (path id, query,
//! identity headers, JSON body) and send the answer.

pub mod config;

use http::{header, StatusCode};
use server_kit::{json_raw, with_state, ApiError, Req, Response, Router};
use shared::realworld::service::{Caller, Service};
use std::sync::Arc;

/// Port the server listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 8400;

/// Value of the `Server` header.
pub const SERVER_NAME: &str = "feature-bench";

/// The identity headers of a request, and who sent it.
fn caller(req: &Req) -> Caller {
    Caller::new(
        req.header(header::AUTHORIZATION),
        req.header("x-user-id"),
        req.client_addr().map(|a| a.ip()),
    )
}

/// A JSON answer with `status`.
fn reply(status: StatusCode, body: Vec<u8>) -> Result<Response, ApiError> {
    let mut resp = json_raw(body);
    *resp.status_mut() = status;
    Ok(resp)
}

/// The category's routes.
pub fn router(service: &Arc<Service>) -> Router {
    let s = service;
    Router::new()
        .get(
            "/health",
            with_state(s, |s, _| async move { reply(StatusCode::OK, s.health()?) }),
        )
        .get(
            "/api/products",
            with_state(s, |s, req: Req| async move {
                reply(StatusCode::OK, s.products(&req.query())?)
            }),
        )
        .get(
            "/api/products/{id}",
            with_state(s, |s, req: Req| async move {
                reply(
                    StatusCode::OK,
                    s.product(req.raw_param("id"), &caller(&req))?,
                )
            }),
        )
        .post(
            "/api/orders",
            with_state(s, |s, req: Req| async move {
                let who = caller(&req);
                reply(
                    StatusCode::CREATED,
                    s.place_order(&who, &req.json_bytes().await?)?,
                )
            }),
        )
        .get(
            "/api/orders/{id}",
            with_state(s, |s, req: Req| async move {
                reply(StatusCode::OK, s.order(req.raw_param("id"), &caller(&req))?)
            }),
        )
        .post(
            "/api/auth/register",
            with_state(s, |s, req: Req| async move {
                reply(
                    StatusCode::CREATED,
                    s.register(&req.json_bytes().await?).await?,
                )
            }),
        )
        .post(
            "/api/auth/login",
            with_state(s, |s, req: Req| async move {
                reply(StatusCode::OK, s.login(&req.json_bytes().await?).await?)
            }),
        )
        .get(
            "/api/users/me",
            with_state(s, |s, req: Req| async move {
                reply(StatusCode::OK, s.me(&caller(&req))?)
            }),
        )
        .get(
            "/api/blog/posts",
            with_state(s, |s, req: Req| async move {
                reply(StatusCode::OK, s.posts(&req.query())?)
            }),
        )
        .get(
            "/api/blog/posts/{id}",
            with_state(s, |s, req: Req| async move {
                reply(StatusCode::OK, s.post(req.raw_param("id"))?)
            }),
        )
        .post(
            "/api/blog/posts/{id}/comments",
            with_state(s, |s, req: Req| async move {
                let (id, who) = (req.raw_param("id").to_owned(), caller(&req));
                reply(
                    StatusCode::CREATED,
                    s.comment(&id, &who, &req.json_bytes().await?)?,
                )
            }),
        )
        .post(
            "/api/analytics/track",
            with_state(s, |s, req: Req| async move {
                reply(StatusCode::ACCEPTED, s.track(&req.json_bytes().await?)?)
            }),
        )
        .get(
            "/api/analytics/dashboard",
            with_state(s, |s, req: Req| async move {
                reply(StatusCode::OK, s.dashboard(&req.query())?)
            }),
        )
}
