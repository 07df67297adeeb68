//! Routes of the `validation` category: each endpoint hands the JSON body
//! to `shared::validation::Service`, which validates, counts and answers.

use server_kit::{json, with_state, ApiError, Req, Response, Router};
use shared::validation::Service;
use std::sync::Arc;

/// Port the server listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 8100;

/// Value of the `Server` header.
pub const SERVER_NAME: &str = "feature-bench";

pub use shared::validation::service::MAX_BODY_BYTES;

type Endpoint = fn(&Service, &[u8]) -> Result<Vec<u8>, ApiError>;

/// A POST route: the JSON body (415, 413) through `endpoint`.
fn post(service: &Arc<Service>, endpoint: Endpoint) -> impl server_kit::Handler {
    with_state(service, move |s, req: Req| async move {
        let body = req.json_bytes().await?;
        Ok::<Response, ApiError>(server_kit::json_raw(endpoint(&s, &body)?))
    })
}

/// `POST /validate/error-handling`: the posted user, or the reference
/// suite's own invalid user when the request has no body at all.
fn error_handling(service: &Arc<Service>) -> impl server_kit::Handler {
    with_state(service, |s, req: Req| async move {
        let answer = if req.is_bodiless() {
            s.error_handling_sample()
        } else {
            s.error_handling(&req.json_bytes().await?)
        };
        Ok::<Response, ApiError>(server_kit::json_raw(answer?))
    })
}

/// The route table of the category.
pub fn router() -> Router {
    let s = Arc::new(Service::new());
    Router::new()
        .get(
            "/health",
            with_state(&s, |s, _| async move { json(&s.health()) }),
        )
        .post("/validate/simple-user", post(&s, Service::simple_user))
        .post("/validate/advanced-user", post(&s, Service::advanced_user))
        .post("/validate/complex-user", post(&s, Service::complex_user))
        .post("/validate/product", post(&s, Service::product))
        .post("/validate/error-handling", error_handling(&s))
        .post("/validate/batch-users", post(&s, Service::batch_users))
        .post(
            "/validate/batch-products",
            post(&s, Service::batch_products),
        )
        .post("/validate/batch-orders", post(&s, Service::batch_orders))
        .post("/validate/mega-batch", post(&s, Service::mega_batch))
        .get(
            "/validation/stats",
            with_state(&s, |s, _| async move { json(&s.stats()) }),
        )
}
