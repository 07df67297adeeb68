//! The suite's error values and their JSON form:
//! `{"error": "<code>", "message": "...", "details": [...]}`.

use crate::{body::Body, response::Response};
use http::{header, HeaderValue, StatusCode};
use serde::Serialize;
use shared::{FieldError, ValidationFailure};

/// An error a handler returns; it becomes a JSON error response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status (always 4xx or 5xx).
    pub status: StatusCode,
    /// Stable machine code, e.g. `malformed_json`.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
    /// Failing fields, for 400/422 errors about the input.
    pub details: Vec<FieldError>,
    /// `Allow` header value for 405 answers.
    pub allow: Option<HeaderValue>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
    details: &'a [FieldError],
}

impl ApiError {
    /// An error with a status, code and message and no details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
            allow: None,
        }
    }

    /// Adds field details.
    pub fn with_details(mut self, details: Vec<FieldError>) -> Self {
        self.details = details;
        self
    }

    /// 400 with the given code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404 for an unknown route or id.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 405 with the `Allow` header listing the methods the path accepts.
    pub fn method_not_allowed(allow: HeaderValue) -> Self {
        let mut e = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!(
                "method not allowed; allowed: {}",
                allow.to_str().unwrap_or_default()
            ),
        );
        e.allow = Some(allow);
        e
    }

    /// 413 when a body exceeds `limit` bytes.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("request body exceeds the limit of {limit} bytes"),
        )
    }

    /// 415 when the body is not of the expected media type.
    pub fn unsupported_media_type(expected: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("expected Content-Type: {expected}"),
        )
    }

    /// 422 listing every failing field.
    pub fn validation(failure: ValidationFailure) -> Self {
        let n = failure.errors.len();
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!("{n} field(s) failed validation"),
        )
        .with_details(failure.errors)
    }

    /// 401 with the given code; the response carries `WWW-Authenticate: Bearer`.
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// 500 for a server fault (never for bad input).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", message)
    }

    /// The JSON response for this error.
    pub fn into_response(self) -> Response {
        let body = serde_json::to_vec(&ErrorBody {
            error: self.code,
            message: &self.message,
            details: &self.details,
        })
        .unwrap_or_else(|_| br#"{"error":"internal_error","message":"","details":[]}"#.to_vec());
        let mut resp = Response::new(Body::full(body));
        *resp.status_mut() = self.status;
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(allow) = self.allow {
            headers.insert(header::ALLOW, allow);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body is not read, so the connection cannot be
            // reused: say so, or the client may send its next request into a
            // socket that is about to close.
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        resp
    }
}

impl From<ValidationFailure> for ApiError {
    fn from(failure: ValidationFailure) -> Self {
        Self::validation(failure)
    }
}

impl From<shared::validation::Rejection> for ApiError {
    fn from(r: shared::validation::Rejection) -> Self {
        match r {
            shared::validation::Rejection::Malformed(message) => {
                Self::bad_request("malformed_json", message)
            }
            shared::validation::Rejection::Invalid(failure) => Self::validation(failure),
        }
    }
}

impl From<validator::ValidationErrors> for ApiError {
    fn from(errors: validator::ValidationErrors) -> Self {
        Self::validation(errors.into())
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}
