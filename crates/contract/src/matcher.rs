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

impl Matcher {
    /// Checks `actual`; `request` resolves `from_request` references and
    /// `resolve` replaces `${var}` values in `equals`.
    pub fn check(
        &self,
        actual: Option<&Value>,
        request: &Value,
        resolve: &dyn Fn(&Value) -> Value,
    ) -> Result<(), String> {
        let actual = actual.ok_or("missing")?;
        let spec = match self {
            Self::Type(t) => {
                return if t.admits(actual) {
                    Ok(())
                } else {
                    Err(format!("expected {t:?}, got {}", short(actual)))
                }
            }
            Self::Spec(s) => s,
        };
        if let Some(t) = spec.kind {
            if !t.admits(actual) {
                return Err(format!("expected {t:?}, got {}", short(actual)));
            }
        }
        if let Some(want) = &spec.equals {
            let want = resolve(want);
            if !same(actual, &want) {
                return Err(format!("expected {}, got {}", short(&want), short(actual)));
            }
        }
        if let Some(reference) = &spec.from_request {
            let want = crate::lookup(request, reference)
                .ok_or_else(|| format!("the request has no `{reference}`"))?;
            if !same(actual, want) {
                return Err(format!(
                    "expected the request's {reference} = {}, got {}",
                    short(want),
                    short(actual)
                ));
            }
        }
        let len = length(actual);
        let want_len = match &spec.len_from_request {
            Some(r) => Some(
                crate::lookup(request, r)
                    .and_then(Value::as_u64)
                    .ok_or_else(|| format!("the request has no number at `{r}`"))?
                    as usize,
            ),
            None => spec.len,
        };
        if let Some(n) = want_len {
            if len != Some(n) {
                return Err(format!("expected length {n}, got {len:?}"));
            }
        }
        if let Some(n) = spec.min_len {
            if len.is_none_or(|l| l < n) {
                return Err(format!("expected length ≥ {n}, got {len:?}"));
            }
        }
        if spec.min.is_some() || spec.max.is_some() {
            let x = actual.as_f64().ok_or("expected a number")?;
            if spec.min.is_some_and(|m| x < m) || spec.max.is_some_and(|m| x > m) {
                return Err(format!("{x} outside [{:?}, {:?}]", spec.min, spec.max));
            }
        }
        if let Some(choices) = &spec.one_of {
            if !choices.iter().any(|c| same(c, actual)) {
                return Err(format!(
                    "{} is not one of the allowed values",
                    short(actual)
                ));
            }
        }
        if let Some(vp) = &spec.var_plus {
            let base = resolve(&Value::String(format!("${{{}}}", vp.var)));
            let base = base
                .as_f64()
                .ok_or_else(|| format!("captured `{}` is not a number", vp.var))?;
            let want = base + vp.plus;
            let got = actual.as_f64().ok_or("expected a number")?;
            if (got - want).abs() > 1e-9 {
                return Err(format!(
                    "expected {} + {} = {want}, got {got}",
                    vp.var, vp.plus
                ));
            }
        }
        if let Some(p) = &spec.pattern {
            let re = regex::Regex::new(p).map_err(|e| format!("bad pattern {p}: {e}"))?;
            let s = actual.as_str().ok_or("expected a string")?;
            if !re.is_match(s) {
                return Err(format!("{s:?} does not match {p}"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(m: Value, actual: Value, request: Value) -> Result<(), String> {
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
}
