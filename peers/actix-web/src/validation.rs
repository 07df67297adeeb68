//! The `validation` category: each endpoint hands the JSON body to
//! `shared::validation::Service`, which validates, counts and answers.

use crate::common::{json_raw, BodyLimit, Endpoint, JsonBody, OptionalJsonBody};
use crate::error::ApiError;
use actix_web::{web, Handler, HttpResponse};
use shared::api::Error;
use shared::validation::service::MAX_BODY_BYTES;
use shared::validation::Service;

/// One of the service's endpoints: the body in, the JSON answer out.
type Validate = fn(&Service, &[u8]) -> Result<Vec<u8>, Error>;

/// The category's routes (body limit 2 MiB: payloads carry 1 MB strings).
pub fn routes() -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    let service = web::Data::new(Service::new());
    move |cfg| {
        cfg.app_data(service.clone())
            .app_data(BodyLimit(MAX_BODY_BYTES))
            .service(Endpoint::new("/health").get(health))
            .service(Endpoint::new("/validate/simple-user").post(post(Service::simple_user)))
            .service(Endpoint::new("/validate/advanced-user").post(post(Service::advanced_user)))
            .service(Endpoint::new("/validate/complex-user").post(post(Service::complex_user)))
            .service(Endpoint::new("/validate/product").post(post(Service::product)))
            .service(Endpoint::new("/validate/error-handling").post(error_handling))
            .service(Endpoint::new("/validate/batch-users").post(post(Service::batch_users)))
            .service(Endpoint::new("/validate/batch-products").post(post(Service::batch_products)))
            .service(Endpoint::new("/validate/batch-orders").post(post(Service::batch_orders)))
            .service(Endpoint::new("/validate/mega-batch").post(post(Service::mega_batch)))
            .service(Endpoint::new("/validation/stats").get(stats));
    }
}

/// `POST /validate/error-handling`: the posted user, or the reference
/// suite's own invalid user when the request has no body at all.
async fn error_handling(
    s: web::Data<Service>,
    OptionalJsonBody(body): OptionalJsonBody,
) -> Result<HttpResponse, ApiError> {
    let answer = match body {
        Some(body) => s.error_handling(&body),
        None => s.error_handling_sample(),
    };
    Ok(json_raw(answer?))
}

/// A POST handler: the JSON body (415, 413) through `validate`.
fn post(
    validate: Validate,
) -> impl Handler<(web::Data<Service>, JsonBody), Output = Result<HttpResponse, ApiError>> {
    move |s: web::Data<Service>, body: JsonBody| async move { Ok(json_raw(validate(&s, &body)?)) }
}

async fn health(s: web::Data<Service>) -> HttpResponse {
    HttpResponse::Ok().json(s.health())
}

async fn stats(s: web::Data<Service>) -> HttpResponse {
    HttpResponse::Ok().json(s.stats())
}
