//! The `background_tasks` category over `shared::tasks::Service`: submit
//! (single and batch), inspect, list, cancel, retry, stats and health. The
//! queue itself runs on a runtime of its own (see the binary's
//! `background_tasks`); these handlers only call into it.

use crate::common::{query, BodyLimit, Endpoint, JsonBody, DEFAULT_BODY_LIMIT};
use crate::error::ApiError;
use actix_web::{web, HttpRequest, HttpResponse};
use shared::tasks::Service;
use std::sync::Arc;

/// The category's routes over a started queue.
pub fn routes(service: Arc<Service>) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    let service = web::Data::from(service);
    move |cfg| {
        cfg.app_data(service.clone())
            .app_data(BodyLimit(DEFAULT_BODY_LIMIT))
            .service(Endpoint::new("/health").get(health))
            .service(Endpoint::new("/stats").get(stats))
            .service(Endpoint::new("/tasks").post(submit).get(list))
            .service(Endpoint::new("/tasks/batch").post(submit_batch))
            .service(Endpoint::new("/tasks/{id}").get(get).delete(cancel))
            .service(Endpoint::new("/tasks/{id}/retry").post(retry));
    }
}

async fn health(s: web::Data<Service>) -> HttpResponse {
    HttpResponse::Ok().json(s.health())
}

async fn stats(s: web::Data<Service>) -> HttpResponse {
    HttpResponse::Ok().json(s.stats())
}

async fn submit(s: web::Data<Service>, body: JsonBody) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Created().json(s.submit(&body).await?))
}

async fn submit_batch(s: web::Data<Service>, body: JsonBody) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Created().json(s.submit_batch(&body).await?))
}

async fn list(s: web::Data<Service>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(s.list(&query(&req))?))
}

async fn get(s: web::Data<Service>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(s.get(&id)?))
}

async fn cancel(s: web::Data<Service>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(s.cancel(&id)?))
}

async fn retry(s: web::Data<Service>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(s.retry(&id).await?))
}
