//! Request models of the `basic` category and their constraints.

use crate::{FieldError, ValidationFailure};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use validator::{Validate, ValidationError};

/// The user posted to `POST /validate/user`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
pub struct BenchmarkUser {
    /// Positive id.
    #[validate(range(min = 1, max = 1_000_000_000))]
    pub id: i64,
    /// Display name, 1–100 characters.
    #[validate(length(min = 1, max = 100))]
    pub name: String,
    /// A syntactically valid address.
    #[validate(email)]
    pub email: String,
    /// Age in years, 0–150.
    #[validate(range(min = 0, max = 150))]
    pub age: Option<i64>,
    /// Defaults to `true`.
    #[serde(default = "yes")]
    pub is_active: bool,
    /// Up to 20 tags of 1–50 characters.
    #[validate(length(max = 20), custom(function = "short_words"))]
    pub tags: Option<Vec<String>>,
    /// Free string-to-string metadata, up to 20 entries.
    #[validate(length(max = 20))]
    pub metadata: Option<BTreeMap<String, String>>,
}

/// The product posted to `POST /validate/product`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Validate)]
pub struct BenchmarkProduct {
    /// Product name, 1–200 characters.
    #[validate(length(min = 1, max = 200))]
    pub name: String,
    /// Price, greater than 0 and at most 1,000,000.
    #[validate(range(exclusive_min = 0.0, max = 1_000_000.0))]
    pub price: f64,
    /// Category, 1–50 characters.
    #[validate(length(min = 1, max = 50))]
    pub category: String,
    /// Optional description, at most 1000 characters.
    #[validate(length(max = 1000))]
    pub description: Option<String>,
    /// Defaults to `true`.
    #[serde(default = "yes")]
    pub in_stock: bool,
    /// Up to 20 variants of 1–50 characters.
    #[validate(length(max = 20), custom(function = "short_words"))]
    pub variants: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}

fn short_words(words: &[String]) -> Result<(), ValidationError> {
    match words
        .iter()
        .position(|w| w.is_empty() || w.chars().count() > 50)
    {
        None => Ok(()),
        Some(index) => {
            let mut e = ValidationError::new("item_length");
            e.message = Some(format!("item {index} must have 1 to 50 characters").into());
            Err(e)
        }
    }
}

/// Sort keys accepted by `/search/validate`.
pub const SORT_KEYS: [&str; 4] = ["relevance", "created_at", "name", "price"];

/// Largest `count` a stream endpoint accepts.
pub const STREAM_MAX_COUNT: u64 = 100_000;

/// Validated parameters of `GET /search/validate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchParams {
    /// Search text, 1–100 characters.
    pub query: String,
    /// Page size, 1–100 (default 10).
    pub limit: u64,
    /// Offset, 0–10,000 (default 0).
    pub offset: u64,
    /// One of [`SORT_KEYS`] (default `created_at`).
    pub sort_by: String,
}

impl SearchParams {
    /// Applies defaults and checks every constraint, reporting all failures.
    pub fn new(
        query: Option<String>,
        limit: Option<u64>,
        offset: Option<u64>,
        sort_by: Option<String>,
    ) -> Result<Self, ValidationFailure> {
        let mut errors = Vec::new();
        let query = match query {
            None => {
                errors.push(FieldError::new("query", "required", "is required"));
                String::new()
            }
            Some(q) => {
                let n = q.chars().count();
                if !(1..=100).contains(&n) {
                    errors.push(FieldError::new(
                        "query",
                        "length",
                        "length must be between 1 and 100",
                    ));
                }
                q
            }
        };
        let page = PageParams::check(limit, offset, 10_000, &mut errors);
        let sort_by = sort_by.unwrap_or_else(|| "created_at".to_owned());
        if !SORT_KEYS.contains(&sort_by.as_str()) {
            errors.push(FieldError::new(
                "sort_by",
                "one_of",
                format!("must be one of {}", SORT_KEYS.join(", ")),
            ));
        }
        ValidationFailure::check(errors)?;
        Ok(Self {
            query,
            limit: page.limit,
            offset: page.offset,
            sort_by,
        })
    }
}

/// Validated `limit`/`offset` paging of `GET /users`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PageParams {
    /// Page size, 1–100 (default 10).
    pub limit: u64,
    /// Offset, 0–[`super::USER_COUNT`] (default 0).
    pub offset: u64,
}

impl PageParams {
    /// Applies defaults (limit 10, offset 0) and checks both ranges.
    pub fn new(limit: Option<u64>, offset: Option<u64>) -> Result<Self, ValidationFailure> {
        let mut errors = Vec::new();
        let page = Self::check(limit, offset, super::USER_COUNT, &mut errors);
        ValidationFailure::check(errors).map(|()| page)
    }

    fn check(
        limit: Option<u64>,
        offset: Option<u64>,
        max_offset: u64,
        errors: &mut Vec<FieldError>,
    ) -> Self {
        let limit = limit.unwrap_or(10);
        if !(1..=100).contains(&limit) {
            errors.push(FieldError::new(
                "limit",
                "range",
                "must be at least 1 and at most 100",
            ));
        }
        let offset = offset.unwrap_or(0);
        if offset > max_offset {
            errors.push(FieldError::new(
                "offset",
                "range",
                format!("must be at least 0 and at most {max_offset}"),
            ));
        }
        Self { limit, offset }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> BenchmarkUser {
        serde_json::from_str(
            r#"{"id":42,"name":"Alice Johnson","email":"alice@example.com","age":28,
                "tags":["developer"],"metadata":{"team":"backend"}}"#,
        )
        .unwrap()
    }

    #[test]
    fn valid_user_passes_and_gets_defaults() {
        let u = user();
        assert!(u.validate().is_ok());
        assert!(u.is_active);
    }

    #[test]
    fn every_failing_field_is_reported() {
        let mut u = user();
        u.id = 0;
        u.email = "nope".into();
        u.age = Some(200);
        u.tags = Some(vec![String::new()]);
        let failure = ValidationFailure::from(u.validate().unwrap_err());
        let fields: Vec<_> = failure.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["age", "email", "id", "tags"]);
        assert_eq!(
            failure.errors[0].message,
            "must be at least 0 and at most 150"
        );
    }

    #[test]
    fn product_price_must_be_positive() {
        let p: BenchmarkProduct =
            serde_json::from_str(r#"{"name":"W","price":0,"category":"c"}"#).unwrap();
        let failure = ValidationFailure::from(p.validate().unwrap_err());
        assert_eq!(failure.errors[0].field, "price");
        assert_eq!(
            failure.errors[0].message,
            "must be greater than 0 and at most 1000000"
        );
    }

    #[test]
    fn search_params_defaults_and_all_errors() {
        let ok = SearchParams::new(Some("rust".into()), None, None, None).unwrap();
        assert_eq!(
            (ok.limit, ok.offset, ok.sort_by.as_str()),
            (10, 0, "created_at")
        );
        let err = SearchParams::new(None, Some(0), Some(10_001), Some("x".into())).unwrap_err();
        let fields: Vec<_> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["query", "limit", "offset", "sort_by"]);
    }

    #[test]
    fn page_limits() {
        assert!(PageParams::new(Some(100), Some(0)).is_ok());
        assert!(PageParams::new(Some(101), None).is_err());
        assert!(PageParams::new(Some(0), None).is_err());
    }
}
