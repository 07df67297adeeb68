//! What every category's router shares: its state ([`App`]: the service
//! and the body limit), the extractors with the contract's rejections
//! ([`JsonBody`], [`Param`]) and the raw JSON answer ([`RawJson`]).

use crate::error::ApiError;
use axum::body::Body;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Request};
use axum::http::{header, request::Parts, HeaderValue};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use shared::api::{check_declared_length, require_json, Error};
use std::ops::Deref;
use std::sync::Arc;

/// Largest JSON request body of a category, in bytes; larger gets 413.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// The body limit of JSON requests unless a category says otherwise.
pub const DEFAULT_BODY_LIMIT: BodyLimit = BodyLimit(shared::api::DEFAULT_MAX_BODY_BYTES);

/// A category's router state: its service and its body limit. Derefs to
/// the service.
pub struct App<T> {
    service: Arc<T>,
    limit: BodyLimit,
}

impl<T> App<T> {
    /// The state of a category serving `service`.
    pub fn new(service: Arc<T>, limit: BodyLimit) -> Self {
        Self { service, limit }
    }
}

impl<T> Clone for App<T> {
    fn clone(&self) -> Self {
        Self {
            service: self.service.clone(),
            limit: self.limit,
        }
    }
}

impl<T> Deref for App<T> {
    type Target = Arc<T>;

    fn deref(&self) -> &Arc<T> {
        &self.service
    }
}

impl<T> FromRef<App<T>> for BodyLimit {
    fn from_ref(app: &App<T>) -> Self {
        app.limit
    }
}

/// The raw body of a JSON request, not parsed (the services parse it):
/// 415 unless `Content-Type` is JSON, 413 past the state's [`BodyLimit`]
/// (declared or read), the rest of the body drained first so the client
/// reads the answer.
pub struct JsonBody(pub Bytes);

/// A JSON body, or `None` when the request has no body at all
/// (`shared::api::is_bodiless`) — for endpoints with a documented default.
pub struct OptionalJsonBody(pub Option<Bytes>);

impl<S> FromRequest<S> for OptionalJsonBody
where
    BodyLimit: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let headers = req.headers();
        let present = |name| headers.get(name).map(|v| v.to_str().unwrap_or(""));
        if shared::api::is_bodiless(
            present(header::CONTENT_TYPE),
            present(header::CONTENT_LENGTH),
            present(header::TRANSFER_ENCODING),
        ) {
            return Ok(Self(None));
        }
        JsonBody::from_request(req, state)
            .await
            .map(|JsonBody(body)| Self(Some(body)))
    }
}

impl<S> FromRequest<S> for JsonBody
where
    BodyLimit: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let BodyLimit(limit) = BodyLimit::from_ref(state);
        let (parts, mut body) = req.into_parts();
        let text = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
        require_json(text(header::CONTENT_TYPE))?;
        if let Err(e) = check_declared_length(text(header::CONTENT_LENGTH), limit as u64) {
            drain(body, limit).await;
            return Err(e.into());
        }
        match Limited::new(&mut body, limit).collect().await {
            Ok(collected) => Ok(Self(collected.to_bytes())),
            Err(e) if e.is::<LengthLimitError>() => {
                drain(body, limit).await;
                Err(Error::payload_too_large(limit as u64).into())
            }
            Err(e) => Err(Error::body_read(e).into()),
        }
    }
}

/// Reads and drops what is left of a refused body, within the drain bounds.
pub async fn drain(body: Body, limit: usize) {
    shared::api::drain(&mut body.into_data_stream(), limit as u64).await;
}

/// The one `{param}` of a route, percent-decoded, as text (the services
/// parse and look it up).
pub struct Param(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Param {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(rejection) => {
                Err(Error::bad_request("invalid_path_param", rejection.body_text()).into())
            }
        }
    }
}

/// A JSON answer the service has already serialized.
pub struct RawJson(pub Vec<u8>);

impl IntoResponse for RawJson {
    fn into_response(self) -> Response {
        let json = HeaderValue::from_static("application/json");
        ([(header::CONTENT_TYPE, json)], self.0).into_response()
    }
}
