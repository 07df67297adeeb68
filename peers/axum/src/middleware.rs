//! `middleware`: the category's stacks as axum users build them. tower-http
//! does what it has a layer for (`CorsLayer`, `CompressionLayer`,
//! `SetResponseHeaderLayer` for the security headers); tower's
//! `TimeoutLayer` behind a `HandleErrorLayer` answers the 504; the rest is
//! `axum::middleware::from_fn_with_state` over `shared::middleware`'s
//! rules. Route groups get their stacks with `Router::layer`:
//!
//! - every answer: timing (on the category's router, its fallback too);
//! - light: request id, counting;
//! - heavy: light + access log, security headers, CORS, gzip, bearer JWT,
//!   rate limit, timeout.

use crate::common::{App, BodyLimit, JsonBody};
use crate::error::{not_found, ApiError, ApiResult};
use axum::error_handling::HandleErrorLayer;
use axum::extract::{RawQuery, Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{BoxError, Extension, Json, Router};
use shared::api::{parse_json, Error, Query};
use shared::asyncops;
use shared::middleware::access_log::Entry;
use shared::middleware::answers::{
    Authenticated, Concurrent, Heavy, Light, MiddlewareHealth, Received, HOME,
};
use shared::middleware::auth::Claims;
use shared::middleware::{self as mw, bump, params, Stacks, Stats};
use std::future::ready;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceBuilder;
use tower_http::compression::predicate::SizeAbove;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

type St = App<Stacks>;

/// The request's id, set by [`request_ids`].
#[derive(Debug, Clone)]
pub struct RequestId(pub Arc<str>);

/// The accepted token's claims, set by [`authenticate`].
#[derive(Debug, Clone)]
pub struct Subject(pub Arc<Claims>);

/// The category's routes behind their stacks.
pub fn router(stacks: Stacks) -> Router {
    let timeout = stacks.config.request_timeout;
    let state = App::new(Arc::new(stacks), BodyLimit(mw::MAX_BODY_BYTES));
    let light = ServiceBuilder::new()
        .layer(from_fn_with_state(state.clone(), request_ids))
        .layer(from_fn_with_state(state.clone(), counting));
    let security = mw::SECURITY_HEADERS.map(|(name, value)| {
        SetResponseHeaderLayer::overriding(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        )
    });
    let [s1, s2, s3, s4] = security;
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list([HeaderValue::from_static(
            mw::ALLOWED_ORIGIN,
        )]))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([HeaderName::from_static("x-request-id")])
        .max_age(Duration::from_secs(u64::from(mw::CORS_MAX_AGE)));
    let gzip = CompressionLayer::new()
        .no_br()
        .no_deflate()
        .no_zstd()
        .quality(CompressionLevel::Precise(6))
        .compress_when(SizeAbove::new(mw::GZIP_MIN_BYTES as u16));
    let heavy = ServiceBuilder::new()
        .layer(from_fn_with_state(state.clone(), access_log))
        .layer(s1)
        .layer(s2)
        .layer(s3)
        .layer(s4)
        .layer(from_fn_with_state(state.clone(), count_cors))
        .layer(cors)
        .layer(from_fn_with_state(state.clone(), count_gzip))
        .layer(gzip)
        .layer(from_fn_with_state(state.clone(), authenticate))
        .layer(from_fn_with_state(state.clone(), rate_limit))
        .layer(HandleErrorLayer::new({
            let state = state.clone();
            move |err: BoxError| ready(timed_out(&state, err))
        }))
        .layer(tower::timeout::TimeoutLayer::new(timeout));
    let heavy = light.clone().layer(heavy);
    // Each method router's `route_layer`: its methods get the stack, its
    // 405 is routing's answer, timed only. The heavy paths' OPTIONS routes
    // let preflights reach the CORS layer (any other OPTIONS is a 405 past
    // authentication).
    let light_routes = Router::new()
        .route(
            "/middleware-light",
            get(light_answer).route_layer(light.clone()),
        )
        .route("/middleware-concurrent", get(concurrent).route_layer(light));
    let heavy_routes = Router::new()
        .route(
            "/middleware-heavy",
            get(heavy_answer)
                .options(only_get)
                .route_layer(heavy.clone()),
        )
        .route(
            "/middleware-auth",
            get(auth_answer)
                .options(only_get)
                .route_layer(heavy.clone()),
        )
        .route(
            "/middleware-post",
            post(post_answer).options(only_post).route_layer(heavy),
        );
    Router::new()
        .route("/", get(|| async { HOME }))
        .route("/health", get(health))
        .route("/middleware-stats", get(stats))
        .merge(light_routes)
        .merge(heavy_routes)
        .fallback(not_found)
        .layer(from_fn(timing))
        .with_state(state)
}

async fn only_get() -> ApiError {
    ApiError(Error::method_not_allowed("GET, HEAD"))
}

async fn only_post() -> ApiError {
    ApiError(Error::method_not_allowed("POST"))
}

async fn timing(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let mut res = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&mw::server_timing(start.elapsed())) {
        res.headers_mut().insert("server-timing", v);
    }
    res
}

async fn request_ids(State(s): State<St>, mut req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok());
    let id = s.request_id(given);
    let value = HeaderValue::from_str(&id);
    req.extensions_mut().insert(RequestId(id.into()));
    let mut res = next.run(req).await;
    if let Ok(v) = value {
        res.headers_mut().insert("x-request-id", v);
    }
    res
}

async fn counting(State(s): State<St>, req: Request, next: Next) -> Response {
    bump(&s.counters.requests);
    next.run(req).await
}

async fn access_log(State(s): State<St>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let id = req.extensions().get::<RequestId>().cloned();
    let res = next.run(req).await;
    let entry = Entry {
        time: Entry::now(),
        request_id: id.as_ref().map_or("", |r| &r.0),
        method: method.as_str(),
        path: &path,
        status: res.status().as_u16(),
        duration_ms: start.elapsed().as_secs_f64() * 1000.0,
        subject: res
            .extensions()
            .get::<Subject>()
            .map(|s| s.0.subject.as_str()),
    };
    if let Err(e) = s.record(&entry) {
        eprintln!("axum-peer: access log: {e}");
    }
    res
}

async fn count_cors(State(s): State<St>, req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if res
        .headers()
        .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    {
        bump(&s.counters.cors_allowed);
    }
    res
}

async fn count_gzip(State(s): State<St>, req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if res
        .headers()
        .get(header::CONTENT_ENCODING)
        .is_some_and(|v| v == "gzip")
    {
        bump(&s.counters.gzipped);
    }
    res
}

async fn authenticate(State(s): State<St>, mut req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match s.authenticate(given) {
        Ok(claims) => {
            let subject = Subject(Arc::new(claims));
            req.extensions_mut().insert(subject.clone());
            let mut res = next.run(req).await;
            res.extensions_mut().insert(subject);
            res
        }
        Err(e) => ApiError(e).into_response(),
    }
}

async fn rate_limit(State(s): State<St>, req: Request, next: Next) -> Response {
    if let Some(subject) = req.extensions().get::<Subject>() {
        if let Err(e) = s.take_token(&subject.0.subject) {
            return ApiError(e).into_response();
        }
    }
    next.run(req).await
}

/// `HandleErrorLayer`'s answer for the timeout's error.
fn timed_out(s: &St, err: BoxError) -> ApiError {
    if err.is::<tower::timeout::error::Elapsed>() {
        return ApiError(s.timed_out());
    }
    ApiError(Error::internal(format!("the handler failed: {err}")))
}

async fn health(State(s): State<St>) -> Json<MiddlewareHealth> {
    Json(s.health())
}

async fn stats(State(s): State<St>) -> Json<Stats> {
    Json(s.counters.stats())
}

async fn light_answer(Extension(id): Extension<RequestId>) -> Response {
    Json(Light {
        stack: "light",
        request_id: &id.0,
    })
    .into_response()
}

async fn concurrent(
    Extension(id): Extension<RequestId>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let x = asyncops::fanout_x(&Query::parse(q.as_deref()))?;
    Ok(Json(Concurrent {
        fanout: asyncops::fanout(x).await,
        stack: "light",
        request_id: &id.0,
    })
    .into_response())
}

async fn heavy_answer(
    Extension(id): Extension<RequestId>,
    Extension(subject): Extension<Subject>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let (count, delay) = params::heavy(&Query::parse(q.as_deref()))?;
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    Ok(Json(Heavy::new(&subject.0.subject, &id.0, count)).into_response())
}

async fn auth_answer(
    Extension(id): Extension<RequestId>,
    Extension(subject): Extension<Subject>,
) -> Response {
    Json(Authenticated {
        subject: &subject.0.subject,
        scopes: &subject.0.scopes,
        request_id: &id.0,
    })
    .into_response()
}

async fn post_answer(
    Extension(id): Extension<RequestId>,
    Extension(subject): Extension<Subject>,
    JsonBody(body): JsonBody,
) -> ApiResult<Response> {
    let value: serde_json::Value = parse_json(&body)?;
    let received = params::posted(&value)?;
    Ok(Json(Received {
        subject: &subject.0.subject,
        received,
        request_id: &id.0,
    })
    .into_response())
}
