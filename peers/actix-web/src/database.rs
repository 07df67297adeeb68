//! The `database` category over `shared::db::Service`: TechEmpower's
//! database tests and the users, posts, accounts and transfers set. The
//! service (its pool and cache) is shared by every worker as `web::Data`;
//! handlers pass on the path id, the query and the JSON body.

use crate::common::{json_raw, query, BodyLimit, Endpoint, JsonBody};
use crate::error::ApiError;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use shared::db::Service;
use std::sync::Arc;

/// The category's routes over the open database.
pub fn routes(service: Arc<Service>) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    let service = web::Data::from(service);
    move |cfg| {
        cfg.app_data(service.clone())
            .app_data(BodyLimit(shared::api::DEFAULT_MAX_BODY_BYTES))
            .service(Endpoint::new("/health").get(health))
            .service(Endpoint::new("/db").get(db))
            .service(Endpoint::new("/queries").get(queries))
            .service(Endpoint::new("/updates").get(updates))
            .service(Endpoint::new("/cached-queries").get(cached_queries))
            .service(Endpoint::new("/fortunes").get(fortunes))
            .service(Endpoint::new("/world/{id}").get(world))
            .service(Endpoint::new("/users").get(users).post(create_user))
            .service(Endpoint::new("/users/{id}").get(user))
            .service(Endpoint::new("/posts/by-user/{id}").get(posts_by_user))
            .service(Endpoint::new("/transfers").post(transfer))
            .service(Endpoint::new("/accounts/total").get(total))
            .service(Endpoint::new("/accounts/{id}").get(account));
    }
}

/// A JSON answer with 201.
fn created(body: Vec<u8>) -> HttpResponse {
    let mut res = json_raw(body);
    *res.status_mut() = StatusCode::CREATED;
    res
}

async fn health(s: web::Data<Service>) -> Result<HttpResponse, ApiError> {
    Ok(json_raw(s.health()?))
}

async fn db(s: web::Data<Service>) -> Result<HttpResponse, ApiError> {
    Ok(json_raw(s.db().await?))
}

async fn queries(s: web::Data<Service>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Ok(json_raw(s.queries(&query(&req)).await?))
}

async fn updates(s: web::Data<Service>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Ok(json_raw(s.updates(&query(&req)).await?))
}

async fn cached_queries(s: web::Data<Service>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Ok(json_raw(s.cached_queries(&query(&req)).await?))
}

async fn fortunes(s: web::Data<Service>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(s.fortunes().await?))
}

async fn world(s: web::Data<Service>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(json_raw(s.world(&id).await?))
}

async fn users(s: web::Data<Service>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Ok(json_raw(s.users(&query(&req)).await?))
}

async fn create_user(s: web::Data<Service>, body: JsonBody) -> Result<HttpResponse, ApiError> {
    Ok(created(s.create_user(&body).await?))
}

async fn user(s: web::Data<Service>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(json_raw(s.user(&id).await?))
}

async fn posts_by_user(
    s: web::Data<Service>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    Ok(json_raw(s.posts_by_user(&id, &query(&req)).await?))
}

async fn transfer(s: web::Data<Service>, body: JsonBody) -> Result<HttpResponse, ApiError> {
    Ok(created(s.transfer(&body).await?))
}

async fn account(s: web::Data<Service>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(json_raw(s.account(&id).await?))
}

async fn total(s: web::Data<Service>) -> Result<HttpResponse, ApiError> {
    Ok(json_raw(s.total().await?))
}
