//! `async_operations`: handlers await `shared::asyncops` on their worker's
//! single-threaded runtime. Each worker has its own upstream client
//! (reqwest, pooled), so its connections live on that worker's runtime.

use crate::common::{query, Endpoint};
use crate::error::ApiError;
use actix_web::{web, HttpRequest, HttpResponse};
use shared::api::{Error, Health};
use shared::asyncops::{self as ops, AsyncHealth, Upstream};
use std::time::Instant;

/// When the server started, for `/health`.
struct Started(Instant);

/// The category's routes; every worker calls `upstream` (checked before:
/// an `http://` URL) with a client of its own.
pub fn routes(upstream: Upstream) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    let started = web::Data::new(Started(Instant::now()));
    let url = upstream.url().to_owned();
    move |cfg| {
        // The URL was checked already: a fresh client cannot fail to build.
        let client = Upstream::new(&url).unwrap_or_else(|_| upstream.clone());
        cfg.app_data(started.clone())
            .app_data(web::Data::new(client))
            .service(Endpoint::new("/health").get(health))
            .service(Endpoint::new("/async/raw").get(raw))
            .service(Endpoint::new("/async/yield-once").get(yield_once))
            .service(Endpoint::new("/async/fanout").get(fanout))
            .service(Endpoint::new("/async/chain/{steps}").get(chain))
            .service(Endpoint::new("/async/sleep").get(sleep))
            .service(Endpoint::new("/async/upstream").get(upstream_calls));
    }
}

async fn health(started: web::Data<Started>, upstream: web::Data<Upstream>) -> HttpResponse {
    HttpResponse::Ok().json(AsyncHealth {
        health: Health::new(ops::CATEGORY, started.0),
        upstream: upstream.url().to_owned(),
    })
}

async fn raw() -> HttpResponse {
    HttpResponse::Ok().json(ops::raw().await)
}

async fn yield_once() -> HttpResponse {
    HttpResponse::Ok().json(ops::yield_once().await)
}

async fn fanout(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let x = ops::fanout_x(&query(&req))?;
    Ok(HttpResponse::Ok().json(ops::fanout(x).await))
}

async fn chain(steps: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let steps = ops::chain_steps(&steps)?;
    Ok(HttpResponse::Ok().json(ops::chain(steps).await))
}

async fn sleep(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let ms = ops::sleep_ms(&query(&req))?;
    Ok(HttpResponse::Ok().json(ops::sleep(ms).await))
}

async fn upstream_calls(
    req: HttpRequest,
    upstream: web::Data<Upstream>,
) -> Result<HttpResponse, ApiError> {
    let n = ops::upstream_n(&query(&req))?;
    let combined = upstream.call(n).await.map_err(Error::from)?;
    Ok(HttpResponse::Ok().json(combined))
}
