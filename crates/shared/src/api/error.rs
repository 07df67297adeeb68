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
    /// How many failures there were in all, when `details` lists only the
    /// first of them (a recording cap).
    pub total_errors: Option<usize>,
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
    /// Present (true) when `details` lists only the first failures.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// How many failures there were in all, when truncated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_errors: Option<usize>,
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
            total_errors: None,
        }
    }

    /// Adds field details.
    pub fn with_details(mut self, details: Vec<FieldError>) -> Self {
        self.details = details;
        self
    }

    /// Says there were `total` failures in all; when that is more than
    /// `details` lists, the body reports `truncated: true` and the count.
    pub fn with_total(mut self, total: usize) -> Self {
        if total > self.details.len() {
            self.message = format!(
                "{total} field(s) failed validation; the first {} are listed",
                self.details.len()
            );
            self.total_errors = Some(total);
        }
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

    /// 422 `validation_failed`, listing the failing fields: all of them,
    /// or the first [`crate::field_error::MAX_RECORDED_ERRORS`] with the
    /// total and `truncated: true`, so no engine's answer can grow with a
    /// hostile body.
    pub fn validation(failure: ValidationFailure) -> Self {
        let mut errors = failure.errors;
        let n = errors.len();
        errors.truncate(crate::field_error::MAX_RECORDED_ERRORS);
        Self::new(
            422,
            "validation_failed",
            format!("{n} field(s) failed validation"),
        )
        .with_details(errors)
        .with_total(n)
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
            truncated: self.total_errors.is_some(),
            total_errors: self.total_errors,
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
        // A header of the error's own (a challenge naming the failure)
        // replaces the implied one.
        let implied = implied.filter(|(name, _)| self.extra_headers.iter().all(|(k, _)| k != name));
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
    fn validation_answers_list_at_most_the_cap() {
        let errors = (0..250)
            .map(|i| FieldError::new(format!("payload.k{i}"), "unknown_field", "no"))
            .collect();
        let e = Error::validation(ValidationFailure { errors });
        assert_eq!(e.details.len(), crate::field_error::MAX_RECORDED_ERRORS);
        assert_eq!(e.total_errors, Some(250));
        let body: serde_json::Value = serde_json::from_slice(&e.to_json()).unwrap();
        assert_eq!(body["truncated"], true);
        assert_eq!(body["total_errors"], 250);
        let few = Error::invalid("a", "range", "no");
        assert_eq!(few.total_errors, None);
    }

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
