//! A borrowed view of a JSON document for validation: objects become lists
//! of `(key, raw value)` without building a tree, scalars are read straight
//! from their text, and every failure is recorded with its path instead of
//! stopping at the first.

use crate::FieldError;
use rust_decimal::Decimal;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// The members of one JSON object, in document order.
#[derive(Debug, Default)]
pub struct Fields<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Fields<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Fields<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Fields<'a>, M::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    out.push((key, map.next_value::<&'de RawValue>()?));
                }
                Ok(Fields(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

impl<'a> Fields<'a> {
    /// The value of `name` (the last one, if repeated).
    pub fn get(&self, name: &str) -> Option<&'a RawValue> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| *v)
    }

    /// All members.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &'a RawValue)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), *v))
    }
}

/// The JSON type of a raw value, from its first byte.
pub fn kind(raw: &RawValue) -> &'static str {
    match raw.get().as_bytes().first() {
        Some(b'"') => "string",
        Some(b'{') => "object",
        Some(b'[') => "array",
        Some(b't' | b'f') => "boolean",
        Some(b'n') => "null",
        _ => "number",
    }
}

/// Collects failures while a document is read; `path` is the location of
/// the value being read (`items[2].quantity`).
#[derive(Debug, Default)]
pub struct Checker {
    /// Failures so far.
    pub errors: Vec<FieldError>,
    path: String,
}

impl Checker {
    /// A checker with no failures at the root.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a failure at the current path.
    pub fn fail(&mut self, code: &str, message: impl Into<String>) {
        self.errors
            .push(FieldError::new(self.path.clone(), code, message.into()));
    }

    /// Number of failures so far (to tell whether a sub-read failed).
    pub fn mark(&self) -> usize {
        self.errors.len()
    }

    /// Runs `f` one object member deeper.
    pub fn field<T>(&mut self, name: &str, f: impl FnOnce(&mut Self) -> T) -> T {
        let len = self.path.len();
        if !self.path.is_empty() {
            self.path.push('.');
        }
        self.path.push_str(name);
        let out = f(self);
        self.path.truncate(len);
        out
    }

    /// Runs `f` one array element deeper.
    pub fn index<T>(&mut self, i: usize, f: impl FnOnce(&mut Self) -> T) -> T {
        let len = self.path.len();
        self.path.push('[');
        self.path.push_str(itoa::Buffer::new().format(i));
        self.path.push(']');
        let out = f(self);
        self.path.truncate(len);
        out
    }

    fn wrong_type(&mut self, expected: &str, raw: &RawValue) {
        self.fail("type", format!("expected {expected}, got {}", kind(raw)));
    }

    /// A required value: `None` (absent) and JSON `null` are failures.
    pub fn required<'a>(&mut self, raw: Option<&'a RawValue>) -> Option<&'a RawValue> {
        match raw {
            None => {
                self.fail("required", "is required");
                None
            }
            Some(r) if r.get() == "null" => {
                self.fail("required", "must not be null");
                None
            }
            Some(r) => Some(r),
        }
    }

    /// An optional value: absent and `null` both mean "not given".
    pub fn optional(raw: Option<&RawValue>) -> Option<&RawValue> {
        raw.filter(|r| r.get() != "null")
    }

    /// A JSON integer (no fraction, no exponent) that fits in 64 bits.
    pub fn int(&mut self, raw: &RawValue) -> Option<i64> {
        let text = raw.get();
        if kind(raw) != "number" || text.contains(['.', 'e', 'E']) {
            self.wrong_type("an integer", raw);
            return None;
        }
        match text.parse() {
            Ok(v) => Some(v),
            Err(_) => {
                self.fail("range", "integer does not fit in 64 bits");
                None
            }
        }
    }

    /// A JSON number as `f64`.
    pub fn float(&mut self, raw: &RawValue) -> Option<f64> {
        if kind(raw) != "number" {
            self.wrong_type("a number", raw);
            return None;
        }
        match raw.get().parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            _ => {
                self.fail("range", "number is out of range");
                None
            }
        }
    }

    /// A JSON boolean.
    pub fn bool(&mut self, raw: &RawValue) -> Option<bool> {
        match raw.get() {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                self.wrong_type("a boolean", raw);
                None
            }
        }
    }

    /// A JSON string, borrowed when it has no escapes.
    pub fn str<'a>(&mut self, raw: &'a RawValue) -> Option<Cow<'a, str>> {
        let text = raw.get();
        if kind(raw) != "string" {
            self.wrong_type("a string", raw);
            return None;
        }
        if !text.contains('\\') {
            return Some(Cow::Borrowed(&text[1..text.len() - 1]));
        }
        match serde_json::from_str::<String>(text) {
            Ok(s) => Some(Cow::Owned(s)),
            Err(e) => {
                self.fail("type", format!("invalid string: {e}"));
                None
            }
        }
    }

    /// An exact decimal, from a JSON number or a numeric string; never
    /// through binary floating point.
    pub fn decimal(&mut self, raw: &RawValue) -> Option<Decimal> {
        let text = match kind(raw) {
            "number" => Cow::Borrowed(raw.get()),
            "string" => self.str(raw)?,
            _ => {
                self.wrong_type("a decimal number or numeric string", raw);
                return None;
            }
        };
        let text = text.trim();
        let parsed = if text.contains(['e', 'E']) {
            Decimal::from_scientific(text)
        } else {
            Decimal::from_str_exact(text)
        };
        match parsed {
            Ok(d) => Some(d),
            Err(_) => {
                self.fail("decimal", format!("{text:?} is not a decimal number"));
                None
            }
        }
    }

    /// An RFC 3339 date-time string, normalized to RFC 3339 with its offset.
    pub fn datetime(&mut self, raw: &RawValue) -> Option<String> {
        let s = self.str(raw)?;
        match chrono::DateTime::parse_from_rfc3339(&s) {
            Ok(t) => Some(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
            Err(e) => {
                self.fail("datetime", format!("not an RFC 3339 date-time: {e}"));
                None
            }
        }
    }

    /// A JSON object's members.
    pub fn object<'a>(&mut self, raw: &'a RawValue) -> Option<Fields<'a>> {
        if kind(raw) != "object" {
            self.wrong_type("an object", raw);
            return None;
        }
        match serde_json::from_str(raw.get()) {
            Ok(f) => Some(f),
            Err(e) => {
                self.fail("type", format!("invalid object: {e}"));
                None
            }
        }
    }

    /// A JSON array's elements.
    pub fn array<'a>(&mut self, raw: &'a RawValue) -> Option<Vec<&'a RawValue>> {
        if kind(raw) != "array" {
            self.wrong_type("an array", raw);
            return None;
        }
        match serde_json::from_str(raw.get()) {
            Ok(v) => Some(v),
            Err(e) => {
                self.fail("type", format!("invalid array: {e}"));
                None
            }
        }
    }

    /// Checks `min <= v <= max`.
    pub fn range_i(&mut self, v: i64, min: Option<i64>, max: Option<i64>) -> bool {
        let ok = min.is_none_or(|m| v >= m) && max.is_none_or(|m| v <= m);
        if !ok {
            self.fail("range", bounds_message(min, max));
        }
        ok
    }

    /// Checks a length in characters.
    pub fn length(&mut self, s: &str, min: usize, max: Option<usize>) -> bool {
        let n = s.chars().count();
        let ok = n >= min && max.is_none_or(|m| n <= m);
        if !ok {
            let message = match max {
                Some(max) if max == min => format!("length must be exactly {min}"),
                Some(max) => format!("length must be between {min} and {max}"),
                None => format!("length must be at least {min}"),
            };
            self.fail("length", message);
        }
        ok
    }

    /// Checks `s` against a whole-value pattern.
    pub fn pattern(&mut self, s: &str, re: &regex::Regex) -> bool {
        let ok = re.is_match(s);
        if !ok {
            self.fail("pattern", format!("must match {}", re.as_str()));
        }
        ok
    }
}

fn bounds_message(min: Option<i64>, max: Option<i64>) -> String {
    match (min, max) {
        (Some(a), Some(b)) => format!("must be at least {a} and at most {b}"),
        (Some(a), None) => format!("must be at least {a}"),
        (None, Some(b)) => format!("must be at most {b}"),
        (None, None) => "out of range".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> &RawValue {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn scalars_are_read_from_their_text() {
        let mut c = Checker::new();
        assert_eq!(c.int(raw("42")), Some(42));
        assert_eq!(c.int(raw("-7")), Some(-7));
        assert_eq!(c.float(raw("1.5e2")), Some(150.0));
        assert_eq!(c.bool(raw("true")), Some(true));
        assert_eq!(c.str(raw(r#""plain""#)).unwrap(), "plain");
        assert!(matches!(c.str(raw(r#""plain""#)), Some(Cow::Borrowed(_))));
        assert_eq!(c.str(raw(r#""a\"b\u00e9""#)).unwrap(), "a\"bé");
        assert!(c.errors.is_empty());
    }

    #[test]
    fn wrong_types_and_overflow_are_failures_with_paths() {
        let mut c = Checker::new();
        c.field("id", |c| c.int(raw("1.0")));
        c.field("items", |c| {
            c.index(2, |c| c.field("n", |c| c.int(raw("99999999999999999999"))))
        });
        c.field("name", |c| c.str(raw("5")));
        let got: Vec<_> = c
            .errors
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            got,
            [("id", "type"), ("items[2].n", "range"), ("name", "type")]
        );
    }

    #[test]
    fn decimals_are_exact() {
        let mut c = Checker::new();
        assert_eq!(c.decimal(raw("29.99")).unwrap().to_string(), "29.99");
        assert_eq!(c.decimal(raw(r#""29.90""#)).unwrap().to_string(), "29.90");
        assert_eq!(c.decimal(raw("0.1")).unwrap().to_string(), "0.1");
        assert_eq!(c.decimal(raw("1e2")).unwrap().to_string(), "100");
        assert!(c.decimal(raw(r#""cheap""#)).is_none());
        assert!(c.decimal(raw("true")).is_none());
        assert_eq!(c.errors.len(), 2);
    }

    #[test]
    fn datetimes() {
        let mut c = Checker::new();
        assert_eq!(
            c.datetime(raw(r#""2024-01-01T00:00:00Z""#)).unwrap(),
            "2024-01-01T00:00:00Z"
        );
        assert_eq!(
            c.datetime(raw(r#""2024-01-01T10:30:00.5+02:00""#)).unwrap(),
            "2024-01-01T10:30:00.500+02:00"
        );
        assert!(c.datetime(raw(r#""2024-13-01T00:00:00Z""#)).is_none());
        assert!(c.datetime(raw(r#""yesterday""#)).is_none());
    }

    #[test]
    fn required_and_null() {
        let mut c = Checker::new();
        assert!(c.required(None).is_none());
        assert!(c.required(Some(raw("null"))).is_none());
        assert!(Checker::optional(Some(raw("null"))).is_none());
        assert_eq!(c.errors.len(), 2);
    }
}
