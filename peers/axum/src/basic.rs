//! `basic`: each handler extracts what the request carries (path, query,
//! JSON body) and hands it to `shared::basic`.

use crate::common::{App, JsonBody, Param, DEFAULT_BODY_LIMIT};
use crate::error::{not_found, ApiResult};
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::stream;
use shared::api::{Health, Query, Valid};
use shared::basic::api::{csv_stream, json_stream, stream_count, user_id, Echo, Message, HELLO};
use shared::basic::{self, BenchmarkProduct, BenchmarkUser, PageParams, SearchParams};
use shared::basic::{UserProfile, UserRecord, UsersPage};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

/// The category's state: when it started.
pub struct Basic {
    started: Instant,
}

/// The category's routes.
pub fn router() -> Router {
    let app = App::new(
        Arc::new(Basic {
            started: Instant::now(),
        }),
        DEFAULT_BODY_LIMIT,
    );
    Router::new()
        .route("/", get(root))
        .route("/health", get(health))
        .route("/json", get(message))
        .route("/user/{id}", get(user))
        .route("/users", get(users))
        .route("/user/{id}/profile", get(profile))
        .route("/echo", post(echo))
        .route("/validate/user", post(validate_user))
        .route("/validate/product", post(validate_product))
        .route("/search/validate", get(search))
        .route("/stream/json", get(stream_json))
        .route("/stream/csv", get(stream_csv))
        .fallback(not_found)
        .with_state(app)
}

async fn root() -> &'static str {
    HELLO
}

async fn health(State(app): State<App<Basic>>) -> Json<Health> {
    Json(Health::new("basic", app.started))
}

async fn message() -> Json<Message> {
    Json(Message::HELLO)
}

async fn user(Param(id): Param) -> ApiResult<Json<UserRecord>> {
    Ok(Json(basic::user_record(user_id(&id)?)))
}

async fn users(RawQuery(q): RawQuery) -> ApiResult<Json<UsersPage>> {
    let page = PageParams::from_query(&Query::parse(q.as_deref()))?;
    Ok(Json(basic::users_page(page.limit, page.offset)))
}

async fn profile(Param(id): Param) -> ApiResult<Json<UserProfile>> {
    Ok(Json(basic::profile(user_id(&id)?)))
}

async fn echo(JsonBody(body): JsonBody) -> ApiResult<Json<Echo>> {
    Ok(Json(Echo::of(&body)?))
}

async fn validate_user(JsonBody(body): JsonBody) -> ApiResult<Response> {
    let user = BenchmarkUser::from_body(&body)?;
    Ok(Json(Valid("user", &user)).into_response())
}

async fn validate_product(JsonBody(body): JsonBody) -> ApiResult<Response> {
    let product = BenchmarkProduct::from_body(&body)?;
    Ok(Json(Valid("product", &product)).into_response())
}

async fn search(RawQuery(q): RawQuery) -> ApiResult<Response> {
    let params = SearchParams::from_query(&Query::parse(q.as_deref()))?;
    Ok(Json(Valid("params", &params)).into_response())
}

async fn stream_json(RawQuery(q): RawQuery) -> ApiResult<Response> {
    let count = stream_count(&Query::parse(q.as_deref()))?;
    Ok(chunked("application/json", json_stream(count)))
}

async fn stream_csv(RawQuery(q): RawQuery) -> ApiResult<Response> {
    let count = stream_count(&Query::parse(q.as_deref()))?;
    Ok(chunked("text/csv; charset=utf-8", csv_stream(count)))
}

/// A chunked answer, one chunk per item, produced as the client reads.
fn chunked(
    content_type: &'static str,
    chunks: impl Iterator<Item = String> + Send + 'static,
) -> Response {
    let body = Body::from_stream(stream::iter(chunks.map(Ok::<_, Infallible>)));
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}
