//! `real_world_scenarios` over `shared::realworld::service::Service`: a
//! shop, a blog, accounts and analytics. Handlers extract the path id, the
//! query, the caller's identity headers ([`Who`]) and the JSON body, and
//! send the service's serialized answer.

use crate::common::{App, BodyLimit, JsonBody, Param, RawJson};
use crate::error::{not_found, ApiResult};
use axum::extract::{ConnectInfo, FromRequestParts, RawQuery, State};
use axum::http::{header, request::Parts, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use shared::api::Query;
use shared::realworld::service::{Caller, Options, Service, MAX_BODY_BYTES};
use shared::realworld::Config;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

type World = App<Service>;

/// The seeded store with the reference's default cost and bounds, hashing
/// on as many workers as cores (blocking: seeding hashes passwords).
pub fn service() -> Result<Arc<Service>, String> {
    Service::seeded(&Config::default(), &Options::default())
}

/// The category's routes.
pub fn router(service: &Arc<Service>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/api/products", get(products))
        .route("/api/products/{id}", get(product))
        .route("/api/orders", post(place_order))
        .route("/api/orders/{id}", get(order))
        .route("/api/auth/register", post(register))
        .route("/api/auth/login", post(login))
        .route("/api/users/me", get(me))
        .route("/api/blog/posts", get(posts))
        .route("/api/blog/posts/{id}", get(post_by_id))
        .route("/api/blog/posts/{id}/comments", post(comment))
        .route("/api/analytics/track", post(track))
        .route("/api/analytics/dashboard", get(dashboard))
        .fallback(not_found)
        .with_state(App::new(service.clone(), BodyLimit(MAX_BODY_BYTES)))
}

/// Who is asking: the `Authorization` and `X-User-ID` headers as sent and
/// the client's address (the service decides what they are worth).
pub struct Who(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Who {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let text = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let client = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(Self(Caller::new(
            text(header::AUTHORIZATION.as_str()),
            text("x-user-id"),
            client,
        )))
    }
}

async fn health(State(s): State<World>) -> ApiResult<RawJson> {
    Ok(RawJson(s.health()?))
}

async fn products(State(s): State<World>, RawQuery(q): RawQuery) -> ApiResult<RawJson> {
    Ok(RawJson(s.products(&Query::parse(q.as_deref()))?))
}

async fn product(State(s): State<World>, Param(id): Param, Who(who): Who) -> ApiResult<RawJson> {
    Ok(RawJson(s.product(&id, &who)?))
}

async fn place_order(
    State(s): State<World>,
    Who(who): Who,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, RawJson)> {
    Ok((StatusCode::CREATED, RawJson(s.place_order(&who, &body)?)))
}

async fn order(State(s): State<World>, Param(id): Param, Who(who): Who) -> ApiResult<RawJson> {
    Ok(RawJson(s.order(&id, &who)?))
}

async fn register(
    State(s): State<World>,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, RawJson)> {
    Ok((StatusCode::CREATED, RawJson(s.register(&body).await?)))
}

async fn login(State(s): State<World>, JsonBody(body): JsonBody) -> ApiResult<RawJson> {
    Ok(RawJson(s.login(&body).await?))
}

async fn me(State(s): State<World>, Who(who): Who) -> ApiResult<RawJson> {
    Ok(RawJson(s.me(&who)?))
}

async fn posts(State(s): State<World>, RawQuery(q): RawQuery) -> ApiResult<RawJson> {
    Ok(RawJson(s.posts(&Query::parse(q.as_deref()))?))
}

async fn post_by_id(State(s): State<World>, Param(id): Param) -> ApiResult<RawJson> {
    Ok(RawJson(s.post(&id)?))
}

async fn comment(
    State(s): State<World>,
    Param(id): Param,
    Who(who): Who,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, RawJson)> {
    Ok((StatusCode::CREATED, RawJson(s.comment(&id, &who, &body)?)))
}

async fn track(
    State(s): State<World>,
    JsonBody(body): JsonBody,
) -> ApiResult<(StatusCode, RawJson)> {
    Ok((StatusCode::ACCEPTED, RawJson(s.track(&body)?)))
}

async fn dashboard(State(s): State<World>, RawQuery(q): RawQuery) -> ApiResult<RawJson> {
    Ok(RawJson(s.dashboard(&Query::parse(q.as_deref()))?))
}
