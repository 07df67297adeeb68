//! Field-level validation errors: a path, a machine code and a message.

use serde::Serialize;

/// Most failures recorded for one request (a batch shares one budget over
/// its items): past it they are only counted, so a body of a million bad
/// values cannot turn into a million error records. Every engine's errors
/// are listed up to it in an answer ([`crate::Error::validation`]).
pub const MAX_RECORDED_ERRORS: usize = 100;

/// One failing field: `path` uses dots and indexes (`personal_info.email`,
/// `items[2].quantity`), `code` is stable for machines, `message` for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Where the failing value is, e.g. `tags[3]`.
    pub field: String,
    /// Machine-readable reason, e.g. `range`, `length`, `email`, `required`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

impl FieldError {
    /// Builds an error from its three parts.
    pub fn new(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// Every failing field of one value, sorted by path.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValidationFailure {
    /// The failing fields, never empty when returned as an error.
    pub errors: Vec<FieldError>,
}

impl ValidationFailure {
    /// `Ok` when `errors` is empty, else the failure holding them.
    pub fn check(errors: Vec<FieldError>) -> Result<(), Self> {
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Self { errors })
        }
    }

    /// A failure made of a single field error.
    pub fn single(error: FieldError) -> Self {
        Self {
            errors: vec![error],
        }
    }
}

impl std::fmt::Display for ValidationFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} field(s) failed validation", self.errors.len())
    }
}

impl std::error::Error for ValidationFailure {}

/// validator's errors as field errors (the `basic` models use validator).
#[cfg(feature = "basic")]
mod from_validator {
    use super::{FieldError, ValidationFailure};
    use std::borrow::Cow;
    use validator::{ValidationErrors, ValidationErrorsKind};

    impl From<ValidationErrors> for ValidationFailure {
        fn from(errors: ValidationErrors) -> Self {
            let mut out = Vec::new();
            flatten(&errors, "", &mut out);
            out.sort_by(|a, b| a.field.cmp(&b.field).then_with(|| a.code.cmp(&b.code)));
            Self { errors: out }
        }
    }

    fn join(prefix: &str, field: &str) -> String {
        if prefix.is_empty() {
            field.to_owned()
        } else {
            format!("{prefix}.{field}")
        }
    }

    fn flatten(errors: &ValidationErrors, prefix: &str, out: &mut Vec<FieldError>) {
        for (field, kind) in errors.errors() {
            let path = join(prefix, field);
            match kind {
                ValidationErrorsKind::Field(list) => {
                    for e in list {
                        let message = e.message.clone().unwrap_or_else(|| Cow::Owned(describe(e)));
                        out.push(FieldError::new(path.clone(), e.code.clone(), message));
                    }
                }
                ValidationErrorsKind::Struct(inner) => flatten(inner, &path, out),
                ValidationErrorsKind::List(items) => {
                    for (index, inner) in items {
                        flatten(inner, &format!("{path}[{index}]"), out);
                    }
                }
            }
        }
    }

    /// Turns a validator error without a message into a sentence from its params.
    fn describe(e: &validator::ValidationError) -> String {
        let p = |name: &str| e.params.get(name).map(number_text);
        match e.code.as_ref() {
            "range" => {
                let lower = p("min")
                    .map(|v| format!("at least {v}"))
                    .or_else(|| p("exclusive_min").map(|v| format!("greater than {v}")));
                let upper = p("max")
                    .map(|v| format!("at most {v}"))
                    .or_else(|| p("exclusive_max").map(|v| format!("less than {v}")));
                match (lower, upper) {
                    (Some(l), Some(u)) => format!("must be {l} and {u}"),
                    (Some(b), None) | (None, Some(b)) => format!("must be {b}"),
                    (None, None) => "out of range".to_owned(),
                }
            }
            "length" => match (p("min"), p("max"), p("equal")) {
                (_, _, Some(eq)) => format!("length must be exactly {eq}"),
                (Some(min), Some(max), _) => format!("length must be between {min} and {max}"),
                (Some(min), None, _) => format!("length must be at least {min}"),
                (None, Some(max), _) => format!("length must be at most {max}"),
                _ => "invalid length".to_owned(),
            },
            "email" => "must be a valid email address".to_owned(),
            other => format!("failed the `{other}` check"),
        }
    }

    /// `1.0` as `1`, other values as JSON text.
    fn number_text(v: &serde_json::Value) -> String {
        match v.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => v.to_string(),
        }
    }
}
