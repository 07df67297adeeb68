//! The suite's errors as actix-web responses: [`ApiError`] wraps
//! [`shared::api::Error`] (status, code, message, details and the headers
//! its status calls for) and implements [`ResponseError`], so handlers and
//! extractors return it with `?` and actix writes the contract's JSON.

use actix_web::http::header::ContentType;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use shared::api::Error;
use std::fmt;

/// A contract error as an actix-web error.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// `application/json` with the error's body and headers. actix-http
    /// writes `Connection` from the response head, never from the header
    /// map, so the 413's `Connection: close` becomes `force_close`.
    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        res.content_type(ContentType::json());
        for (name, value) in self.0.headers() {
            if name == "connection" && value.eq_ignore_ascii_case("close") {
                res.force_close();
            } else {
                res.insert_header((name, value));
            }
        }
        res.body(self.0.to_json())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use actix_web::body::MessageBody;

    #[test]
    fn statuses_headers_and_body_are_the_contract_s() {
        let r = ApiError(Error::method_not_allowed("GET, HEAD")).error_response();
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers().get("allow").unwrap(), "GET, HEAD");
        assert_eq!(r.headers().get("content-type").unwrap(), "application/json");
        let body = r.into_body().try_into_bytes().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"], "method_not_allowed");
        assert!(v["details"].is_array());

        let r = ApiError(Error::unauthorized("x", "y")).error_response();
        assert_eq!(r.headers().get("www-authenticate").unwrap(), "Bearer");
        let r = ApiError(Error::payload_too_large(3)).error_response();
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            r.head().connection_type(),
            actix_web::http::ConnectionType::Close
        );
    }
}
