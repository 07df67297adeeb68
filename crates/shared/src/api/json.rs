//! JSON request bodies: which media types are JSON, and how a body is read
//! (400 when it is not JSON at all, 422 when it is JSON of the wrong shape).

use super::Error;
use crate::FieldError;
use serde::de::DeserializeOwned;

/// `application/json` or `application/*+json`, with or without parameters,
/// in any case.
pub fn is_json(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else {
        return false;
    };
    let essence = ct.split(';').next().unwrap_or("").trim();
    let Some((kind, sub)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (sub.eq_ignore_ascii_case("json")
            || sub.len() > 5 && sub[sub.len() - 5..].eq_ignore_ascii_case("+json"))
}

/// 415 unless `content_type` is JSON.
pub fn require_json(content_type: Option<&str>) -> Result<(), Error> {
    if is_json(content_type) {
        Ok(())
    } else {
        Err(Error::unsupported_media_type("application/json"))
    }
}

/// Whether a request has no body at all: no `Content-Type`, no
/// `Transfer-Encoding`, and a `Content-Length` that is absent or 0. An
/// endpoint with a documented default (`POST /validate/error-handling`)
/// answers such a request with it; any other body still has to be JSON.
pub fn is_bodiless(
    content_type: Option<&str>,
    content_length: Option<&str>,
    transfer_encoding: Option<&str>,
) -> bool {
    content_type.is_none()
        && transfer_encoding.is_none()
        && content_length.is_none_or(|v| v.trim() == "0")
}

/// 413 when a declared `Content-Length` is already over `limit`.
pub fn check_declared_length(content_length: Option<&str>, limit: u64) -> Result<(), Error> {
    match content_length.and_then(|v| v.trim().parse::<u64>().ok()) {
        Some(n) if n > limit => Err(Error::payload_too_large(limit)),
        _ => Ok(()),
    }
}

/// Parses a JSON body: empty or malformed (including nesting deeper than 128)
/// is a 400 `malformed_json`; well-formed JSON of the wrong shape is a 422
/// naming the field (`tags[2]`, `metadata.team`) and what was wrong.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::bad_request(
            "malformed_json",
            "request body is empty",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        // A shape error can come before a syntax error further on: only
        // well-formed documents get the 422.
        let well_formed = serde_json::from_slice::<serde::de::IgnoredAny>(body);
        if inner.is_data() && well_formed.is_ok() {
            shape_error(path, &inner)
        } else if let Err(syntax) = well_formed {
            malformed(&syntax)
        } else {
            malformed(&inner)
        }
    })?;
    de.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

fn malformed(e: &serde_json::Error) -> Error {
    Error::bad_request("malformed_json", format!("malformed JSON: {e}"))
}

fn shape_error(path: String, inner: &serde_json::Error) -> Error {
    let text = inner.to_string();
    let message = text.split(" at line ").next().unwrap_or(&text).to_owned();
    let (field, code) = match missing_field(&message) {
        Some(name) if path == "." => (name.to_owned(), "required"),
        Some(name) => (format!("{path}.{name}"), "required"),
        None if path == "." => (String::new(), "invalid_type"),
        None => (path, "invalid_type"),
    };
    Error::new(
        422,
        "validation_failed",
        format!("invalid request body: {message}"),
    )
    .with_details(vec![FieldError::new(field, code, message)])
}

/// The field name in serde's "missing field `x`" message.
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.strip_suffix('`')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde::Deserialize;

    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    struct Item {
        id: u32,
        tags: Vec<String>,
    }

    #[test]
    fn json_content_types() {
        assert!(is_json(Some("application/json")));
        assert!(is_json(Some("Application/JSON; charset=utf-8")));
        assert!(is_json(Some("application/problem+json")));
        assert!(!is_json(Some("text/plain")));
        assert!(!is_json(Some("application/jsonx")));
        assert!(!is_json(None));
        assert_eq!(require_json(None).unwrap_err().status, 415);
    }

    #[test]
    fn declared_lengths() {
        assert!(check_declared_length(Some("10"), 10).is_ok());
        assert_eq!(
            check_declared_length(Some("11"), 10).unwrap_err().status,
            413
        );
        assert!(check_declared_length(None, 10).is_ok());
    }

    #[test]
    fn malformed_is_400_and_wrong_shape_is_422_with_path() {
        for bad in [&b""[..], b"  ", b"{", b"{\"id\":1,}", b"{} x"] {
            let e = parse_json::<Item>(bad).unwrap_err();
            assert_eq!(e.status, 400, "{bad:?}");
            assert_eq!(e.code, "malformed_json");
        }
        let e = parse_json::<Item>(br#"{"id":1,"tags":["a",2]}"#).unwrap_err();
        assert_eq!(e.status, 422);
        assert_eq!(e.details[0].field, "tags[1]");
        assert_eq!(e.details[0].code, "invalid_type");
        let e = parse_json::<Item>(br#"{"id":1}"#).unwrap_err();
        assert_eq!(e.details[0].field, "tags");
        assert_eq!(e.details[0].code, "required");
        let e = parse_json::<Item>(b"[1]").unwrap_err();
        assert_eq!(e.status, 422);
    }

    #[test]
    fn deep_nesting_is_400_not_a_stack_overflow() {
        let deep = "[".repeat(100_000);
        let e = parse_json::<serde_json::Value>(deep.as_bytes()).unwrap_err();
        assert_eq!(e.status, 400);
    }
}
