//! The suite's errors as hyper responses: [`shared::api::Error`] carries the
//! status, code, message, details and the headers its status calls for;
//! this only writes them out.

use crate::{body::Body, response::Response};
use http::{HeaderName, HeaderValue, StatusCode};

/// The error a handler returns (the shared crate's, so every domain error
/// converts into it with `?`).
pub type ApiError = shared::api::Error;

/// The JSON response for an error.
pub fn error_response(e: &ApiError) -> Response {
    let mut resp = Response::new(Body::full(e.to_json()));
    *resp.status_mut() =
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = resp.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (name, value) in e.headers() {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn statuses_and_headers_are_written() {
        let r = error_response(&ApiError::method_not_allowed("GET, HEAD"));
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers()["allow"], "GET, HEAD");
        assert_eq!(r.headers()["content-type"], "application/json");
        let r = error_response(&ApiError::unauthorized("x", "y"));
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        let r = error_response(&ApiError::payload_too_large(3));
        assert_eq!(r.headers()["connection"], "close");
    }
}
