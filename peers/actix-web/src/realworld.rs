//! The `real_world_scenarios` category over
//! `shared::realworld::service::Service`: a shop, a blog, accounts and
//! analytics. Handlers pass on what the request carries (path id, query,
//! identity headers, JSON body) and send the serialized answer.

use crate::common::{header, json_raw, query, BodyLimit, Endpoint, JsonBody};
use crate::error::ApiError;
use actix_web::http::{header as names, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use shared::realworld::service::{Caller, Service, MAX_BODY_BYTES};
use std::sync::Arc;

/// The category's routes over the seeded service.
pub fn routes(service: Arc<Service>) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    let service = web::Data::from(service);
    move |cfg| {
        cfg.app_data(service.clone())
            .app_data(BodyLimit(MAX_BODY_BYTES))
            .service(Endpoint::new("/health").get(health))
            .service(Endpoint::new("/api/products").get(products))
            .service(Endpoint::new("/api/products/{id}").get(product))
            .service(Endpoint::new("/api/orders").post(place_order))
            .service(Endpoint::new("/api/orders/{id}").get(order))
            .service(Endpoint::new("/api/auth/register").post(register))
            .service(Endpoint::new("/api/auth/login").post(login))
            .service(Endpoint::new("/api/users/me").get(me))
            .service(Endpoint::new("/api/blog/posts").get(posts))
            .service(Endpoint::new("/api/blog/posts/{id}").get(post))
            .service(Endpoint::new("/api/blog/posts/{id}/comments").post(comment))
            .service(Endpoint::new("/api/analytics/track").post(track))
            .service(Endpoint::new("/api/analytics/dashboard").get(dashboard));
    }
}

/// Who is asking: the identity headers as sent, and from where.
fn caller(req: &HttpRequest) -> Caller {
    Caller::new(
        header(req, names::AUTHORIZATION),
        header(req, "x-user-id"),
        req.peer_addr().map(|a| a.ip()),
    )
}

/// A JSON answer with `status`.
fn reply(status: StatusCode, body: Vec<u8>) -> HttpResponse {
    let mut res = json_raw(body);
    *res.status_mut() = status;
    res
}

async fn health(s: web::Data<Service>) -> Result<HttpResponse, ApiError> {
    Ok(json_raw(s.health()?))
}

async fn products(s: web::Data<Service>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Ok(json_raw(s.products(&query(&req))?))
}

async fn product(
    s: web::Data<Service>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    Ok(json_raw(s.product(&id, &caller(&req))?))
}

async fn place_order(
    s: web::Data<Service>,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let order = s.place_order(&caller(&req), &body)?;
    Ok(reply(StatusCode::CREATED, order))
}

async fn order(
    s: web::Data<Service>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    Ok(json_raw(s.order(&id, &caller(&req))?))
}

async fn register(s: web::Data<Service>, body: JsonBody) -> Result<HttpResponse, ApiError> {
    Ok(reply(StatusCode::CREATED, s.register(&body).await?))
}

async fn login(s: web::Data<Service>, body: JsonBody) -> Result<HttpResponse, ApiError> {
    Ok(json_raw(s.login(&body).await?))
}

async fn me(s: web::Data<Service>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Ok(json_raw(s.me(&caller(&req))?))
}

async fn posts(s: web::Data<Service>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Ok(json_raw(s.posts(&query(&req))?))
}

async fn post(s: web::Data<Service>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(json_raw(s.post(&id)?))
}

async fn comment(
    s: web::Data<Service>,
    id: web::Path<String>,
    req: HttpRequest,
    body: JsonBody,
) -> Result<HttpResponse, ApiError> {
    let comment = s.comment(&id, &caller(&req), &body)?;
    Ok(reply(StatusCode::CREATED, comment))
}

async fn track(s: web::Data<Service>, body: JsonBody) -> Result<HttpResponse, ApiError> {
    Ok(reply(StatusCode::ACCEPTED, s.track(&body)?))
}

async fn dashboard(s: web::Data<Service>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Ok(json_raw(s.dashboard(&query(&req))?))
}
