//! Routes of the `middleware` category over `shared::middleware`, behind
//! the category's stacks built from server-kit middleware ([`layers`]):
//!
//! - every answer: [`layers::Timing`] (a router layer, so 404 and 405 too);
//! - light (`/middleware-light`, `/middleware-concurrent`): request id,
//!   counting;
//! - heavy (`/middleware-heavy`, `/middleware-auth`, `/middleware-post`):
//!   light + access log, security headers, CORS, gzip, bearer JWT, rate
//!   limit, timeout.
//!
//! `shared-endpoints/middleware.md` says what each layer does.

pub mod layers;

pub use shared::middleware::{MiddlewareArgs, Resolved};

use layers::{RequestId, Subject};
use server_kit::{json, text, with_state, ApiError, Req, Router, Stack};
use shared::api::parse_json;
use shared::asyncops;
use shared::middleware::answers::{Authenticated, Concurrent, Heavy, Light, Received, HOME};
use shared::middleware::{params, Stacks};
use std::sync::Arc;
use std::time::Duration;

/// Port the server listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 8700;

/// Value of the `Server` header.
pub const SERVER_NAME: &str = "feature-bench";

/// Largest accepted request body (the contract's limit).
pub use shared::middleware::MAX_BODY_BYTES;

/// The request's id, as its request-id layer set it.
fn request_id(req: &Req) -> &str {
    req.parts
        .extensions
        .get::<RequestId>()
        .map_or("", |r| r.0.as_str())
}

/// The accepted token's claims; every heavy route has them (the auth
/// layer answered otherwise).
fn subject(req: &Req) -> Result<Arc<shared::middleware::auth::Claims>, ApiError> {
    req.parts
        .extensions
        .get::<Subject>()
        .map(|s| s.0.clone())
        .ok_or_else(|| ApiError::internal("no authentication layer before this route"))
}

/// The category's routes behind their stacks.
pub fn router(stacks: Stacks) -> Router {
    let stacks = Arc::new(stacks);
    let light = Stack::new()
        .layer(layers::RequestIds(stacks.clone()))
        .layer(layers::Counting(stacks.clone()));
    let heavy = light
        .clone()
        .layer(layers::AccessLogging(stacks.clone()))
        .layer(layers::SecurityHeaders)
        .layer(layers::Cors(stacks.clone()))
        .layer(layers::Gzip(stacks.clone()))
        .layer(layers::Auth(stacks.clone()))
        .layer(layers::RateLimit(stacks.clone()))
        .layer(layers::Timeout(stacks.clone()));
    // OPTIONS routes of the heavy paths: preflights are answered by the
    // CORS layer; any other OPTIONS goes on through authentication and
    // the rate limit to a 405.
    let not_allowed = |allow: &'static str| {
        heavy.wrap(move |_req: Req| async move { Err(ApiError::method_not_allowed(allow)) })
    };
    Router::new()
        .get("/", |_req: Req| async { Ok(text("text/plain", HOME)) })
        .get(
            "/health",
            with_state(&stacks, |s, _req| async move { json(&s.health()) }),
        )
        .get(
            "/middleware-stats",
            with_state(&stacks, |s, _req| async move { json(&s.counters.stats()) }),
        )
        .get(
            "/middleware-light",
            light.wrap(|req: Req| async move {
                json(&Light {
                    stack: "light",
                    request_id: request_id(&req),
                })
            }),
        )
        .get(
            "/middleware-concurrent",
            light.wrap(|req: Req| async move {
                let x = asyncops::fanout_x(&req.query())?;
                json(&Concurrent {
                    fanout: asyncops::fanout(x).await,
                    stack: "light",
                    request_id: request_id(&req),
                })
            }),
        )
        .get(
            "/middleware-heavy",
            heavy.wrap(|req: Req| async move {
                let (count, delay) = params::heavy(&req.query())?;
                let claims = subject(&req)?;
                if delay > 0 {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                }
                json(&Heavy::new(&claims.subject, request_id(&req), count))
            }),
        )
        .options("/middleware-heavy", not_allowed("GET, HEAD"))
        .get(
            "/middleware-auth",
            heavy.wrap(|req: Req| async move {
                let claims = subject(&req)?;
                json(&Authenticated {
                    subject: &claims.subject,
                    scopes: &claims.scopes,
                    request_id: request_id(&req),
                })
            }),
        )
        .options("/middleware-auth", not_allowed("GET, HEAD"))
        .post(
            "/middleware-post",
            heavy.wrap(|req: Req| async move {
                let claims = subject(&req)?;
                let id = request_id(&req).to_owned();
                let body: serde_json::Value = parse_json(&req.json_bytes().await?)?;
                let received = params::posted(&body)?;
                json(&Received {
                    subject: &claims.subject,
                    received,
                    request_id: &id,
                })
            }),
        )
        .options("/middleware-post", not_allowed("POST"))
        .layer(layers::Timing)
}
