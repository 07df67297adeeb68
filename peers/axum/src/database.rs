//! `database` over `shared::db::Service`: TechEmpower's database tests and
//! the users, posts, accounts and transfers set. The service (its pool and
//! cache) is the router's `State`; handlers extract the path id, the query
//! and the JSON body, and send the service's answer.

use crate::common::{App, BodyLimit, JsonBody, Param, RawJson};
use crate::error::{not_found, ApiResult};
use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use shared::api::Query;
use shared::db::{Options, Service};
use std::sync::Arc;

type Db = App<Service>;

/// Opens a new seeded SQLite database in a fresh temporary directory
/// (blocking), or `database` when given.
pub fn service(database: Option<&str>) -> Result<Arc<Service>, String> {
    let location = database.map(shared::db::Location::parse).transpose()?;
    Service::open(&Options {
        location,
        ..Default::default()
    })
}

/// The category's routes.
pub fn router(service: &Arc<Service>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/db", get(db))
        .route("/queries", get(queries))
        .route("/updates", get(updates))
        .route("/cached-queries", get(cached_queries))
        .route("/fortunes", get(fortunes))
        .route("/world/{id}", get(world))
        .route("/users", get(users).post(create_user))
        .route("/users/{id}", get(user))
        .route("/posts/by-user/{id}", get(posts_by_user))
        .route("/transfers", axum::routing::post(transfer))
        .route("/accounts/total", get(total))
        .route("/accounts/{id}", get(account))
        .fallback(not_found)
        .with_state(App::new(
            service.clone(),
            BodyLimit(shared::api::DEFAULT_MAX_BODY_BYTES),
        ))
}

fn query(q: &Option<String>) -> Query<'_> {
    Query::parse(q.as_deref())
}

async fn health(State(s): State<Db>) -> ApiResult<RawJson> {
    Ok(RawJson(s.health()?))
}

async fn db(State(s): State<Db>) -> ApiResult<RawJson> {
    Ok(RawJson(s.db().await?))
}

async fn queries(State(s): State<Db>, RawQuery(q): RawQuery) -> ApiResult<RawJson> {
    Ok(RawJson(s.queries(&query(&q)).await?))
}

async fn updates(State(s): State<Db>, RawQuery(q): RawQuery) -> ApiResult<RawJson> {
    Ok(RawJson(s.updates(&query(&q)).await?))
}

async fn cached_queries(State(s): State<Db>, RawQuery(q): RawQuery) -> ApiResult<RawJson> {
    Ok(RawJson(s.cached_queries(&query(&q)).await?))
}

async fn fortunes(State(s): State<Db>) -> ApiResult<impl IntoResponse> {
    let page = s.fortunes().await?;
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page))
}

async fn world(State(s): State<Db>, Param(id): Param) -> ApiResult<RawJson> {
    Ok(RawJson(s.world(&id).await?))
}

async fn users(State(s): State<Db>, RawQuery(q): RawQuery) -> ApiResult<RawJson> {
    Ok(RawJson(s.users(&query(&q)).await?))
}

async fn create_user(
    State(s): State<Db>,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, RawJson)> {
    Ok((StatusCode::CREATED, RawJson(s.create_user(&body).await?)))
}

async fn user(State(s): State<Db>, Param(id): Param) -> ApiResult<RawJson> {
    Ok(RawJson(s.user(&id).await?))
}

async fn posts_by_user(
    State(s): State<Db>,
    Param(id): Param,
    RawQuery(q): RawQuery,
) -> ApiResult<RawJson> {
    Ok(RawJson(s.posts_by_user(&id, &query(&q)).await?))
}

async fn transfer(
    State(s): State<Db>,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, RawJson)> {
    Ok((StatusCode::CREATED, RawJson(s.transfer(&body).await?)))
}

async fn account(State(s): State<Db>, Param(id): Param) -> ApiResult<RawJson> {
    Ok(RawJson(s.account(&id).await?))
}

async fn total(State(s): State<Db>) -> ApiResult<RawJson> {
    Ok(RawJson(s.total().await?))
}
