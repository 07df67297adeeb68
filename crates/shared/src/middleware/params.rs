//! The handlers' inputs and their rules: unparseable is a 400 naming the
//! parameter, out of range a 422 naming it, as in every category.

use crate::api::{Error, Query};
use crate::asyncops::params::in_range;
use crate::field_error::{FieldError, ValidationFailure};
use serde_json::Value;

/// Items of `/middleware-heavy` unless `count` says otherwise.
pub const DEFAULT_COUNT: u64 = 32;
/// Most items of `/middleware-heavy`.
pub const MAX_COUNT: u64 = 100;
/// The longest handler delay, in milliseconds.
pub const MAX_DELAY_MS: u64 = 5000;
/// Longest `name` of `/middleware-post`, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Largest `value` of `/middleware-post` either side of zero.
pub const MAX_VALUE: i64 = 1_000_000_000;

/// `count` and `delay_ms` of `/middleware-heavy`: 1 to [`MAX_COUNT`]
/// items (default [`DEFAULT_COUNT`]), 0 to [`MAX_DELAY_MS`] ms (default 0).
pub fn heavy(q: &Query<'_>) -> Result<(u64, u64), Error> {
    let count = in_range(
        "count",
        q.get::<u64>("count")?.unwrap_or(DEFAULT_COUNT),
        1,
        MAX_COUNT,
    )?;
    let delay = in_range(
        "delay_ms",
        q.get::<u64>("delay_ms")?.unwrap_or(0),
        0,
        MAX_DELAY_MS,
    )?;
    Ok((count, delay))
}

/// A valid body of `/middleware-post`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Posted {
    /// 1 to [`MAX_NAME_CHARS`] characters.
    pub name: String,
    /// An integer within ±[`MAX_VALUE`].
    pub value: i64,
}

/// Checks a parsed body of `/middleware-post`: an object with a string
/// `name` and an integer `value` (no strings, booleans or fractions), other
/// fields ignored; every failing field is named.
pub fn posted(body: &Value) -> Result<Posted, Error> {
    let Some(obj) = body.as_object() else {
        return Err(Error::invalid("", "invalid_type", "must be a JSON object"));
    };
    let mut errors = Vec::new();
    let name = match obj.get("name") {
        None => {
            errors.push(FieldError::new("name", "required", "is required"));
            None
        }
        Some(Value::String(s)) if (1..=MAX_NAME_CHARS).contains(&s.chars().count()) => {
            Some(s.clone())
        }
        Some(Value::String(_)) => {
            errors.push(FieldError::new(
                "name",
                "length",
                format!("must have 1 to {MAX_NAME_CHARS} characters"),
            ));
            None
        }
        Some(_) => {
            errors.push(FieldError::new("name", "invalid_type", "must be a string"));
            None
        }
    };
    let value = match obj.get("value") {
        None => {
            errors.push(FieldError::new("value", "required", "is required"));
            None
        }
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => match n.as_i64() {
            Some(v) if (-MAX_VALUE..=MAX_VALUE).contains(&v) => Some(v),
            _ => {
                errors.push(FieldError::new(
                    "value",
                    "range",
                    format!("must be at least {} and at most {MAX_VALUE}", -MAX_VALUE),
                ));
                None
            }
        },
        Some(_) => {
            errors.push(FieldError::new(
                "value",
                "invalid_type",
                "must be an integer",
            ));
            None
        }
    };
    ValidationFailure::check(errors).map_err(Error::validation)?;
    // No error: both were read.
    Ok(Posted {
        name: name.unwrap_or_default(),
        value: value.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn fields(e: Error) -> Vec<String> {
        assert_eq!(e.status, 422);
        e.details.into_iter().map(|d| d.field).collect()
    }

    #[test]
    fn heavy_parameters_have_defaults_and_ranges() {
        assert_eq!(heavy(&Query::parse(None)).unwrap(), (32, 0));
        assert_eq!(
            heavy(&Query::parse(Some("count=100&delay_ms=5000"))).unwrap(),
            (100, 5000)
        );
        assert_eq!(
            fields(heavy(&Query::parse(Some("count=0"))).unwrap_err()),
            ["count"]
        );
        assert_eq!(
            fields(heavy(&Query::parse(Some("count=101"))).unwrap_err()),
            ["count"]
        );
        assert_eq!(
            fields(heavy(&Query::parse(Some("delay_ms=5001"))).unwrap_err()),
            ["delay_ms"]
        );
        assert_eq!(
            heavy(&Query::parse(Some("count=many"))).unwrap_err().status,
            400
        );
    }

    #[test]
    fn posted_bodies_are_strict() {
        assert_eq!(
            posted(&json!({"name": "w", "value": -1_000_000_000, "extra": 1})).unwrap(),
            Posted {
                name: "w".into(),
                value: -1_000_000_000
            }
        );
        assert!(posted(&json!({"name": "é".repeat(100), "value": 0})).is_ok());
        for (body, want) in [
            (json!({"value": 1}), vec!["name"]),
            (json!({"name": "", "value": 1}), vec!["name"]),
            (json!({"name": "x".repeat(101), "value": 1}), vec!["name"]),
            (json!({"name": 5, "value": 1}), vec!["name"]),
            (json!({"name": "w", "value": "42"}), vec!["value"]),
            (json!({"name": "w", "value": true}), vec!["value"]),
            (json!({"name": "w", "value": 1.5}), vec!["value"]),
            (json!({"name": "w", "value": 1_000_000_001}), vec!["value"]),
            (json!({"name": "w", "value": u64::MAX}), vec!["value"]),
            (json!({}), vec!["name", "value"]),
        ] {
            assert_eq!(fields(posted(&body).unwrap_err()), want, "{body}");
        }
        assert_eq!(posted(&json!([1])).unwrap_err().status, 422);
    }
}
