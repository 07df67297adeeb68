//! Routes of the `database` category over `shared::db::Service`:
//! TechEmpower's database tests (`/db`, `/queries`, `/updates`,
//! `/fortunes`, `/cached-queries`) and an ORM-shaped set (users with their
//! posts, accounts and transfers). Handlers pass on what the request
//! carries and send the answer.

use http::StatusCode;
use server_kit::{json_raw, text, with_state, ApiError, Req, Response, Router};
use shared::db::{Location, Options, Service};
use std::sync::Arc;

/// Port the server listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 8500;

/// Value of the `Server` header.
pub const SERVER_NAME: &str = "feature-bench";

/// The category's own flags.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// The database: `sqlite://PATH` or `postgres://USER@HOST:PORT/DB`
    /// (created and seeded when it has no tables; kept as it is otherwise)
    /// [default: a new SQLite file in a fresh temporary directory, removed
    /// at exit].
    #[arg(long, env = "BENCH_DATABASE_URL")]
    pub database: Option<String>,
    /// Connections in the pool [default: twice the cores].
    #[arg(long)]
    pub pool_size: Option<usize>,
}

impl DatabaseArgs {
    /// Opens (and seeds when new) the database; blocks. `fresh` drops
    /// every table and seeds them again.
    pub fn service(&self, fresh: bool) -> Result<Arc<Service>, String> {
        let location = self.database.as_deref().map(Location::parse).transpose()?;
        Service::open(&Options {
            location,
            pool_size: self.pool_size,
            fresh,
        })
    }
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
    let ok = StatusCode::OK;
    Router::new()
        .get(
            "/health",
            with_state(s, move |s, _| async move { reply(ok, s.health()?) }),
        )
        .get(
            "/db",
            with_state(s, move |s, _| async move { reply(ok, s.db().await?) }),
        )
        .get(
            "/queries",
            with_state(s, move |s, req: Req| async move {
                reply(ok, s.queries(&req.query()).await?)
            }),
        )
        .get(
            "/updates",
            with_state(s, move |s, req: Req| async move {
                reply(ok, s.updates(&req.query()).await?)
            }),
        )
        .get(
            "/cached-queries",
            with_state(s, move |s, req: Req| async move {
                reply(ok, s.cached_queries(&req.query()).await?)
            }),
        )
        .get(
            "/fortunes",
            with_state(s, |s, _| async move {
                Ok(text("text/html; charset=utf-8", s.fortunes().await?))
            }),
        )
        .get(
            "/world/{id}",
            with_state(s, move |s, req: Req| async move {
                reply(ok, s.world(req.raw_param("id")).await?)
            }),
        )
        .get(
            "/users",
            with_state(s, move |s, req: Req| async move {
                reply(ok, s.users(&req.query()).await?)
            }),
        )
        .post(
            "/users",
            with_state(s, |s, req: Req| async move {
                reply(
                    StatusCode::CREATED,
                    s.create_user(&req.json_bytes().await?).await?,
                )
            }),
        )
        .get(
            "/users/{id}",
            with_state(s, move |s, req: Req| async move {
                reply(ok, s.user(req.raw_param("id")).await?)
            }),
        )
        .get(
            "/posts/by-user/{id}",
            with_state(s, move |s, req: Req| async move {
                reply(
                    ok,
                    s.posts_by_user(req.raw_param("id"), &req.query()).await?,
                )
            }),
        )
        .post(
            "/transfers",
            with_state(s, |s, req: Req| async move {
                reply(
                    StatusCode::CREATED,
                    s.transfer(&req.json_bytes().await?).await?,
                )
            }),
        )
        .get(
            "/accounts/total",
            with_state(s, move |s, _| async move { reply(ok, s.total().await?) }),
        )
        .get(
            "/accounts/{id}",
            with_state(s, move |s, req: Req| async move {
                reply(ok, s.account(req.raw_param("id")).await?)
            }),
        )
}
