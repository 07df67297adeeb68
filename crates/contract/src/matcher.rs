//! Expectations on one JSON value: a type name, or a spec of type, exact
//! value, value taken from the request, length, range, choices or pattern.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// JSON value types a contract can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JsonType {
    /// A string.
    String,
    /// A number without fraction.
    Integer,
    /// Any number.
    Number,
    /// `true`/`false`.
    Boolean,
    /// An array.
    Array,
    /// An object.
    Object,
    /// `null`.
    Null,
    /// Anything present.
    Any,
}

impl JsonType {
    fn admits(self, v: &Value) -> bool {
        match self {
            Self::String => v.is_string(),
            Self::Integer => v.is_i64() || v.is_u64(),
            Self::Number => v.is_number(),
            Self::Boolean => v.is_boolean(),
            Self::Array => v.is_array(),
            Self::Object => v.is_object(),
            Self::Null => v.is_null(),
            Self::Any => true,
        }
    }

    fn check(self, actual: &Value) -> Result<(), Mismatch> {
        if self.admits(actual) {
            Ok(())
        } else {
            Err(Mismatch::Type {
                want: self,
                got: short(actual),
            })
        }
    }
}

/// An expectation on the value at one path.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Matcher {
    /// Only the type.
    Type(JsonType),
    /// A detailed expectation.
    Spec(Box<MatchSpec>),
}

/// A detailed expectation; every given part must hold.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchSpec {
    /// Type.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<JsonType>,
    /// Exact value (numbers compare by value; `${var}` strings are captured values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Value>,
    /// Equal to the request's value at this reference (`json.name`, `path.id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_request: Option<String>,
    /// Exact length of an array, object or string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub len: Option<usize>,
    /// Length equal to the request's number at this reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub len_from_request: Option<String>,
    /// Smallest length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_len: Option<usize>,
    /// Smallest number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Allowed values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<Value>>,
    /// Regular expression a string must match (anywhere; anchor it if needed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// A captured number plus an offset (`{"var": "n", "plus": 2}`): proves
    /// a counter moved by exactly that much.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub var_plus: Option<VarPlus>,
}

/// A captured variable and an offset.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VarPlus {
    /// Captured variable name.
    pub var: String,
    /// Added to it (may be negative).
    pub plus: f64,
}

/// JSON equality where numbers compare by value (`20` equals `20.0`).
pub(crate) fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn length(v: &Value) -> Option<usize> {
    match v {
        Value::Array(a) => Some(a.len()),
        Value::Object(o) => Some(o.len()),
        Value::String(s) => Some(s.chars().count()),
        _ => None,
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 80 {
        format!("{}…", &s[..s.floor_char_boundary(80)])
    } else {
        s
    }
}

/// Why a value does not meet a [`Matcher`]; the text names what was
/// expected and what was found.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Mismatch {
    /// Nothing at the path.
    #[error("missing")]
    Missing,
    /// A value of another type.
    #[error("expected {want:?}, got {got}")]
    Type {
        /// The type asked for.
        want: JsonType,
        /// The value found, shortened.
        got: String,
    },
    /// A value other than `equals`.
    #[error("expected {want}, got {got}")]
    NotEqual {
        /// The value asked for, shortened.
        want: String,
        /// The value found, shortened.
        got: String,
    },
    /// A `from_request` reference names nothing in the request.
    #[error("the request has no `{0}`")]
    NoRequestValue(String),
    /// A value other than the request's at `from_request`.
    #[error("expected the request's {reference} = {want}, got {got}")]
    NotRequestValue {
        /// The reference into the request.
        reference: String,
        /// The request's value, shortened.
        want: String,
        /// The value found, shortened.
        got: String,
    },
    /// A `len_from_request` reference names no number in the request.
    #[error("the request has no number at `{0}`")]
    NoRequestNumber(String),
    /// Another length (`None`: the value has no length).
    #[error("expected length {want}, got {got:?}")]
    Length {
        /// The length asked for.
        want: usize,
        /// The length found.
        got: Option<usize>,
    },
    /// A length below `min_len` (`None`: the value has no length).
    #[error("expected length ≥ {min}, got {got:?}")]
    TooShort {
        /// The smallest length allowed.
        min: usize,
        /// The length found.
        got: Option<usize>,
    },
    /// Not a number where a range or an offset asks for one.
    #[error("expected a number")]
    NotANumber,
    /// A number outside `[min, max]`.
    #[error("{value} outside [{min:?}, {max:?}]")]
    OutOfRange {
        /// The number found.
        value: f64,
        /// The smallest allowed.
        min: Option<f64>,
        /// The largest allowed.
        max: Option<f64>,
    },
    /// A value not among `one_of` (shortened).
    #[error("{0} is not one of the allowed values")]
    NotAllowed(String),
    /// The captured variable of a `var_plus` is not a number.
    #[error("captured `{0}` is not a number")]
    CapturedNotANumber(String),
    /// A number other than the captured one plus the offset.
    #[error("expected {var} + {plus} = {want}, got {got}")]
    Offset {
        /// The captured variable.
        var: String,
        /// The offset.
        plus: f64,
        /// Their sum.
        want: f64,
        /// The number found.
        got: f64,
    },
    /// The contract's pattern is not a regular expression.
    #[error("bad pattern {pattern}: {error}")]
    BadPattern {
        /// The pattern.
        pattern: String,
        /// Why it does not compile.
        error: regex::Error,
    },
    /// Not a string where a pattern asks for one.
    #[error("expected a string")]
    NotAString,
    /// A string the pattern does not match.
    #[error("{value:?} does not match {pattern}")]
    NoMatch {
        /// The string found.
        value: String,
        /// The pattern.
        pattern: String,
    },
}

impl Matcher {
    /// Checks `actual`; `request` resolves `from_request` references and
    /// `resolve` replaces `${var}` values in `equals`.
    pub fn check(
        &self,
        actual: Option<&Value>,
        request: &Value,
        resolve: &dyn Fn(&Value) -> Value,
    ) -> Result<(), Mismatch> {
        let actual = actual.ok_or(Mismatch::Missing)?;
        match self {
            Self::Type(t) => t.check(actual),
            Self::Spec(spec) => {
                spec.check_value(actual, request, resolve)?;
                spec.check_length(actual, request)?;
                spec.check_range(actual)?;
                spec.check_offset(actual, resolve)?;
                spec.check_pattern(actual)
            }
        }
    }
}

impl MatchSpec {
    /// `type`, `equals` and `from_request`.
    fn check_value(
        &self,
        actual: &Value,
        request: &Value,
        resolve: &dyn Fn(&Value) -> Value,
    ) -> Result<(), Mismatch> {
        if let Some(t) = self.kind {
            t.check(actual)?;
        }
        if let Some(want) = &self.equals {
            let want = resolve(want);
            if !same(actual, &want) {
                return Err(Mismatch::NotEqual {
                    want: short(&want),
                    got: short(actual),
                });
            }
        }
        if let Some(reference) = &self.from_request {
            let want = crate::lookup(request, reference)
                .ok_or_else(|| Mismatch::NoRequestValue(reference.clone()))?;
            if !same(actual, want) {
                return Err(Mismatch::NotRequestValue {
                    reference: reference.clone(),
                    want: short(want),
                    got: short(actual),
                });
            }
        }
        Ok(())
    }

    /// `len`, `len_from_request` and `min_len`.
    fn check_length(&self, actual: &Value, request: &Value) -> Result<(), Mismatch> {
        let len = length(actual);
        let want_len = match &self.len_from_request {
            Some(r) => Some(
                crate::lookup(request, r)
                    .and_then(Value::as_u64)
                    .ok_or_else(|| Mismatch::NoRequestNumber(r.clone()))? as usize,
            ),
            None => self.len,
        };
        if let Some(n) = want_len {
            if len != Some(n) {
                return Err(Mismatch::Length { want: n, got: len });
            }
        }
        if let Some(n) = self.min_len {
            if len.is_none_or(|l| l < n) {
                return Err(Mismatch::TooShort { min: n, got: len });
            }
        }
        Ok(())
    }

    /// `min`, `max` and `one_of`.
    fn check_range(&self, actual: &Value) -> Result<(), Mismatch> {
        if self.min.is_some() || self.max.is_some() {
            let x = actual.as_f64().ok_or(Mismatch::NotANumber)?;
            if self.min.is_some_and(|m| x < m) || self.max.is_some_and(|m| x > m) {
                return Err(Mismatch::OutOfRange {
                    value: x,
                    min: self.min,
                    max: self.max,
                });
            }
        }
        if let Some(choices) = &self.one_of {
            if !choices.iter().any(|c| same(c, actual)) {
                return Err(Mismatch::NotAllowed(short(actual)));
            }
        }
        Ok(())
    }

    /// `var_plus`.
    fn check_offset(
        &self,
        actual: &Value,
        resolve: &dyn Fn(&Value) -> Value,
    ) -> Result<(), Mismatch> {
        let Some(vp) = &self.var_plus else {
            return Ok(());
        };
        let base = resolve(&Value::String(format!("${{{}}}", vp.var)));
        let base = base
            .as_f64()
            .ok_or_else(|| Mismatch::CapturedNotANumber(vp.var.clone()))?;
        let want = base + vp.plus;
        let got = actual.as_f64().ok_or(Mismatch::NotANumber)?;
        if (got - want).abs() > 1e-9 {
            return Err(Mismatch::Offset {
                var: vp.var.clone(),
                plus: vp.plus,
                want,
                got,
            });
        }
        Ok(())
    }

    /// `pattern`.
    fn check_pattern(&self, actual: &Value) -> Result<(), Mismatch> {
        let Some(p) = &self.pattern else {
            return Ok(());
        };
        let re = regex::Regex::new(p).map_err(|error| Mismatch::BadPattern {
            pattern: p.clone(),
            error,
        })?;
        let s = actual.as_str().ok_or(Mismatch::NotAString)?;
        if re.is_match(s) {
            Ok(())
        } else {
            Err(Mismatch::NoMatch {
                value: s.to_owned(),
                pattern: p.clone(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(m: Value, actual: Value, request: Value) -> Result<(), Mismatch> {
        let m: Matcher = serde_json::from_value(m).unwrap();
        m.check(Some(&actual), &request, &|v| v.clone())
    }

    #[test]
    fn types_and_specs() {
        assert!(check(json!("integer"), json!(3), json!({})).is_ok());
        assert!(check(json!("integer"), json!(3.5), json!({})).is_err());
        assert!(check(json!({"equals": 20}), json!(20.0), json!({})).is_ok());
        assert!(check(json!({"equals": "a"}), json!("b"), json!({})).is_err());
        assert!(check(json!({"len": 2}), json!([1, 2]), json!({})).is_ok());
        assert!(check(json!({"min": 1, "max": 2}), json!(3), json!({})).is_err());
        assert!(check(json!({"one_of": ["x", "y"]}), json!("y"), json!({})).is_ok());
        assert!(check(json!({"pattern": "^a+$"}), json!("aab"), json!({})).is_err());
    }

    #[test]
    fn request_references() {
        let req = json!({"query": {"limit": 3}, "json": {"name": "zq"}});
        assert!(check(
            json!({"len_from_request": "query.limit"}),
            json!([1, 2, 3]),
            req.clone()
        )
        .is_ok());
        assert!(check(
            json!({"len_from_request": "query.limit"}),
            json!([1]),
            req.clone()
        )
        .is_err());
        assert!(check(
            json!({"from_request": "json.name"}),
            json!("zq"),
            req.clone()
        )
        .is_ok());
        assert!(check(json!({"from_request": "json.name"}), json!("canned"), req).is_err());
    }

    #[test]
    fn counters_move_by_exactly_the_offset() {
        let m: Matcher =
            serde_json::from_value(json!({"var_plus": {"var": "n", "plus": 2}})).unwrap();
        let vars = crate::Vars::from([("n".to_owned(), json!(5))]);
        let resolve = |v: &Value| crate::prepare::substitute(v, &vars);
        assert!(m.check(Some(&json!(7)), &json!({}), &resolve).is_ok());
        assert!(m.check(Some(&json!(6)), &json!({}), &resolve).is_err());
    }

    #[test]
    fn missing_values_fail() {
        let m: Matcher = serde_json::from_value(json!("any")).unwrap();
        assert!(m.check(None, &json!({}), &|v| v.clone()).is_err());
    }

    #[test]
    fn mismatches_read_as_before() {
        let out_of_range = check(json!({"min": 1, "max": 2}), json!(3), json!({})).unwrap_err();
        assert_eq!(out_of_range.to_string(), "3 outside [Some(1.0), Some(2.0)]");
        let no_match = check(json!({"pattern": "^a+$"}), json!("aab"), json!({})).unwrap_err();
        assert_eq!(no_match.to_string(), r#""aab" does not match ^a+$"#);
        let short = check(json!({"min_len": 2}), json!(5), json!({})).unwrap_err();
        assert_eq!(short.to_string(), "expected length ≥ 2, got None");
    }
}
