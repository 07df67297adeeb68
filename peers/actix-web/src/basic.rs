//! The `basic` category: each handler takes what the request carries (path,
//! query, JSON body) and hands it to `shared::basic`.

use crate::common::{query, BodyLimit, Endpoint, JsonBody, DEFAULT_BODY_LIMIT};
use crate::error::ApiError;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use shared::api::{Health, Valid};
use shared::basic::api::{csv_stream, json_stream, stream_count, user_id, Echo, Message, HELLO};
use shared::basic::{self, BenchmarkProduct, BenchmarkUser, PageParams, SearchParams};
use std::convert::Infallible;
use std::time::Instant;

/// When the server started, for `/health`.
struct Started(Instant);

/// The category's routes.
pub fn routes() -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    let started = web::Data::new(Started(Instant::now()));
    move |cfg| {
        cfg.app_data(started.clone())
            .app_data(BodyLimit(DEFAULT_BODY_LIMIT))
            .service(Endpoint::new("/").get(hello))
            .service(Endpoint::new("/health").get(health))
            .service(Endpoint::new("/json").get(message))
            .service(Endpoint::new("/user/{id}").get(user))
            .service(Endpoint::new("/users").get(users))
            .service(Endpoint::new("/user/{id}/profile").get(profile))
            .service(Endpoint::new("/echo").post(echo))
            .service(Endpoint::new("/validate/user").post(validate_user))
            .service(Endpoint::new("/validate/product").post(validate_product))
            .service(Endpoint::new("/search/validate").get(search))
            .service(Endpoint::new("/stream/json").get(stream_json))
            .service(Endpoint::new("/stream/csv").get(stream_csv));
    }
}

async fn hello() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(HELLO)
}

async fn health(started: web::Data<Started>) -> HttpResponse {
    HttpResponse::Ok().json(Health::new("basic", started.0))
}

async fn message() -> HttpResponse {
    HttpResponse::Ok().json(Message::HELLO)
}

async fn user(id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(basic::user_record(user_id(&id)?)))
}

async fn users(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let page = PageParams::from_query(&query(&req))?;
    Ok(HttpResponse::Ok().json(basic::users_page(page.limit, page.offset)))
}

async fn profile(id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(basic::profile(user_id(&id)?)))
}

async fn echo(body: JsonBody) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(Echo::of(&body)?))
}

async fn validate_user(body: JsonBody) -> Result<HttpResponse, ApiError> {
    let user = BenchmarkUser::from_body(&body)?;
    Ok(HttpResponse::Ok().json(Valid("user", &user)))
}

async fn validate_product(body: JsonBody) -> Result<HttpResponse, ApiError> {
    let product = BenchmarkProduct::from_body(&body)?;
    Ok(HttpResponse::Ok().json(Valid("product", &product)))
}

async fn search(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let params = SearchParams::from_query(&query(&req))?;
    Ok(HttpResponse::Ok().json(Valid("params", &params)))
}

async fn stream_json(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let chunks = json_stream(stream_count(&query(&req))?);
    Ok(chunked("application/json", chunks))
}

async fn stream_csv(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let chunks = csv_stream(stream_count(&query(&req))?);
    Ok(chunked("text/csv; charset=utf-8", chunks))
}

/// A chunked response, one chunk per item, produced as the client reads.
fn chunked(
    content_type: &'static str,
    chunks: impl Iterator<Item = String> + 'static,
) -> HttpResponse {
    let body = futures_util::stream::iter(chunks.map(|c| Ok::<_, Infallible>(Bytes::from(c))));
    HttpResponse::Ok()
        .content_type(content_type)
        .streaming(body)
}
