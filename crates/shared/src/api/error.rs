//! [`Error`]: the contract's error answer as plain data.

use crate::{FieldError, ValidationFailure};
use serde::Serialize;

/// An error answer: `{"error": code, "message": ..., "details": [...]}` with
/// a numeric HTTP status. Never a 500 for bad input: 4xx statuses name what
/// was wrong with the request, 5xx ones are the server's own faults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// HTTP status code (4xx or 5xx).
    pub status: u16,
    /// Stable machine code, e.g. `malformed_json`.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
    /// Failing fields, for errors about the input.
    pub details: Vec<FieldError>,
    /// Headers this answer carries (`Allow` of a 405, `Content-Range` of a
    /// 416), besides the ones its status implies (see [`Error::headers`]).
    pub extra_headers: Vec<(&'static str, String)>,
}

/// The JSON body of an [`Error`].
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    /// The code.
    pub error: &'a str,
    /// The message.
    pub message: &'a str,
    /// The failing fields.
    pub details: &'a [FieldError],
}

impl Error {
    /// An error with a status, code and message and no details.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
            extra_headers: Vec::new(),
        }
    }

    /// Adds field details.
    pub fn with_details(mut self, details: Vec<FieldError>) -> Self {
        self.details = details;
        self
    }

    /// Adds a header (lower-case name).
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.extra_headers.push((name, value.into()));
        self
    }

    /// 400 with the given code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    /// 400 `body_read_error`: the connection failed while the body was read.
    pub fn body_read(e: impl std::fmt::Display) -> Self {
        Self::bad_request(
            "body_read_error",
            format!("could not read the request body: {e}"),
        )
    }

    /// 401 with the given code; answered with `WWW-Authenticate: Bearer`.
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(401, code, message)
    }

    /// 403 `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "forbidden", message)
    }

    /// 404 `not_found`, for an unknown route or id.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "not_found", message)
    }

    /// 405 `method_not_allowed`, with the methods `allow`ed (`GET, HEAD`).
    pub fn method_not_allowed(allow: impl Into<String>) -> Self {
        let allow = allow.into();
        Self::new(
            405,
            "method_not_allowed",
            format!("method not allowed; allowed: {allow}"),
        )
        .with_header("allow", allow)
    }

    /// 409 with the given code: the request conflicts with the state.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(409, code, message)
    }

    /// 413 `payload_too_large`, when a body exceeds `limit` bytes.
    pub fn payload_too_large(limit: u64) -> Self {
        Self::new(
            413,
            "payload_too_large",
            format!("request body exceeds the limit of {limit} bytes"),
        )
    }

    /// 415 `unsupported_media_type`, naming the media type expected.
    pub fn unsupported_media_type(expected: &str) -> Self {
        Self::new(
            415,
            "unsupported_media_type",
            format!("expected Content-Type: {expected}"),
        )
    }

    /// 422 `validation_failed`, listing every failing field.
    pub fn validation(failure: ValidationFailure) -> Self {
        let n = failure.errors.len();
        Self::new(
            422,
            "validation_failed",
            format!("{n} field(s) failed validation"),
        )
        .with_details(failure.errors)
    }

    /// 422 naming one failing field.
    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self::validation(ValidationFailure::single(FieldError::new(
            field, code, message,
        )))
    }

    /// 429 with the given code: back-pressure, retry later.
    pub fn too_many_requests(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(429, code, message)
    }

    /// 503 with the given code: busy or shutting down.
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(503, code, message)
    }

    /// 500 `internal_error`: a fault of the server, never of the input.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "internal_error", message)
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody<'_> {
        ErrorBody {
            error: self.code,
            message: &self.message,
            details: &self.details,
        }
    }

    /// The body serialized.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&self.body())
            .unwrap_or_else(|_| br#"{"error":"internal_error","message":"","details":[]}"#.to_vec())
    }

    /// Headers the answer must carry besides `Content-Type`: its own
    /// (`Allow` on a 405, …), `WWW-Authenticate: Bearer` on a 401, and
    /// `Connection: close` on a 413 (the rest of the body is not read, so
    /// the connection cannot be reused: a client still sending must not send
    /// its next request into a socket that is about to close).
    pub fn headers(&self) -> impl Iterator<Item = (&'static str, &str)> {
        let implied = match self.status {
            401 => Some(("www-authenticate", "Bearer")),
            413 => Some(("connection", "close")),
            _ => None,
        };
        self.extra_headers
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .chain(implied)
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for Error {}

impl From<ValidationFailure> for Error {
    fn from(failure: ValidationFailure) -> Self {
        Self::validation(failure)
    }
}

#[cfg(feature = "basic")]
impl From<validator::ValidationErrors> for Error {
    fn from(errors: validator::ValidationErrors) -> Self {
        Self::validation(errors.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_bring_their_headers() {
        fn h(e: &Error) -> Vec<(&'static str, &str)> {
            e.headers().collect()
        }
        assert_eq!(
            h(&Error::method_not_allowed("GET, HEAD")),
            [("allow", "GET, HEAD")]
        );
        assert_eq!(
            h(&Error::unauthorized("unauthenticated", "x")),
            [("www-authenticate", "Bearer")]
        );
        assert_eq!(h(&Error::payload_too_large(10)), [("connection", "close")]);
        assert!(h(&Error::not_found("x")).is_empty());
    }

    #[test]
    fn the_body_is_the_contract_shape() {
        let e = Error::invalid("tags[1]", "length", "too long");
        let v: serde_json::Value = serde_json::from_slice(&e.to_json()).unwrap_or_default();
        assert_eq!(v["error"], "validation_failed");
        assert_eq!(v["details"][0]["field"], "tags[1]");
        assert_eq!(e.status, 422);
    }
}
