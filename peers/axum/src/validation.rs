//! `validation`: every endpoint hands the JSON body to
//! `shared::validation::Service`, which validates, counts and answers.

use crate::common::{App, BodyLimit, JsonBody, OptionalJsonBody, RawJson};
use crate::error::{not_found, ApiError};
use axum::extract::State;
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use shared::api::Error;
use shared::validation::service::MAX_BODY_BYTES;
use shared::validation::Service;
use std::sync::Arc;

type Endpoint = fn(&Service, &[u8]) -> Result<Vec<u8>, Error>;

/// The category's routes.
pub fn router() -> Router {
    let app = App::new(Arc::new(Service::new()), BodyLimit(MAX_BODY_BYTES));
    Router::new()
        .route(
            "/health",
            get(|State(s): State<App<Service>>| async move { Json(s.health()) }),
        )
        .route("/validate/simple-user", validate(Service::simple_user))
        .route("/validate/advanced-user", validate(Service::advanced_user))
        .route("/validate/complex-user", validate(Service::complex_user))
        .route("/validate/product", validate(Service::product))
        .route("/validate/error-handling", post(error_handling))
        .route("/validate/batch-users", validate(Service::batch_users))
        .route(
            "/validate/batch-products",
            validate(Service::batch_products),
        )
        .route("/validate/batch-orders", validate(Service::batch_orders))
        .route("/validate/mega-batch", validate(Service::mega_batch))
        .route(
            "/validation/stats",
            get(|State(s): State<App<Service>>| async move { Json(s.stats()) }),
        )
        .fallback(not_found)
        .with_state(app)
}

/// `POST /validate/error-handling`: the posted user, or the reference
/// suite's own invalid user when the request has no body at all.
async fn error_handling(
    State(s): State<App<Service>>,
    OptionalJsonBody(body): OptionalJsonBody,
) -> Result<RawJson, ApiError> {
    match body {
        Some(body) => s.error_handling(&body),
        None => s.error_handling_sample(),
    }
    .map(RawJson)
    .map_err(ApiError)
}

/// A POST route: the JSON body through `endpoint`.
fn validate(endpoint: Endpoint) -> MethodRouter<App<Service>> {
    post(
        move |State(s): State<App<Service>>, JsonBody(body): JsonBody| async move {
            endpoint(&s, &body).map(RawJson).map_err(ApiError)
        },
    )
}
