//! Response builders. Every builder sets `Content-Type`; the server adds
//! `Server` and hyper adds `Date` and `Content-Length` (or chunked).

use crate::body::{Body, BodyError};
use crate::error::ApiError;
use bytes::Bytes;
use futures_util::Stream;
use http::{header, HeaderValue, StatusCode};
use serde::Serialize;

/// The response type handlers return.
pub type Response = http::Response<Body>;

fn with_type(body: Body, status: StatusCode, content_type: &'static str) -> Response {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// 200 `application/json` with `value` serialized.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Response, ApiError> {
    json_status(StatusCode::OK, value)
}

/// `application/json` with the given status.
pub fn json_status<T: Serialize + ?Sized>(
    status: StatusCode,
    value: &T,
) -> Result<Response, ApiError> {
    let body = serde_json::to_vec(value)
        .map_err(|e| ApiError::internal(format!("response serialization failed: {e}")))?;
    Ok(with_type(Body::full(body), status, "application/json"))
}

/// 200 `application/json` with a body already serialized.
pub fn json_raw(body: impl Into<Bytes>) -> Response {
    with_type(Body::full(body), StatusCode::OK, "application/json")
}

/// 200 with a static content type and a complete body.
pub fn text(content_type: &'static str, body: impl Into<Bytes>) -> Response {
    with_type(Body::full(body), StatusCode::OK, content_type)
}

/// 200 with a static content type, sent chunk by chunk.
pub fn stream<S>(content_type: &'static str, chunks: S) -> Response
where
    S: Stream<Item = Result<Bytes, BodyError>> + Send + 'static,
{
    with_type(Body::stream(chunks), StatusCode::OK, content_type)
}
