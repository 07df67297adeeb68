//! A single-pass reader for validation: the JSON text is walked once by
//! [`Scan`], each value is read and checked where it stands, strings are
//! borrowed from the input when they have no escapes, numbers are read from
//! their digits (exact decimals), and every failure is recorded with its path
//! instead of stopping at the first. Only broken JSON stops the walk.
//!
//! Paths cost nothing until a failure: the reader keeps a stack of the
//! members and indexes it stands in, and a failure renders it to text.

use super::scan::{unescape, Fault, Kind, Number, Scan, Short, MAX_DEPTH};
use crate::FieldError;
use rust_decimal::Decimal;
use std::borrow::Cow;

/// Broken JSON (syntax, nesting deeper than 200, trailing data): the walk
/// stops and the request is malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop(pub String);

/// Result of a read step: `Err` only for broken JSON.
pub type R<T> = Result<T, Stop>;

/// What a field held after reading.
#[derive(Debug, Default)]
pub enum Slot<T> {
    /// Not in the object.
    #[default]
    Absent,
    /// `null`.
    Null,
    /// Present but failing (the failure is recorded).
    Bad,
    /// Present and valid.
    Ok(T),
}

/// One step of a path.
#[derive(Debug)]
enum Step<'j> {
    /// An object member whose name is in the text or the model.
    Name(&'j str),
    /// A member whose name had escapes, decoded.
    Decoded(Box<str>),
    /// An array element.
    Index(usize),
}

/// Collects failures; the path of the value being read is a stack of steps,
/// rendered only when a failure is recorded.
#[derive(Debug)]
pub struct Checker<'j> {
    /// Failures recorded so far, in document order (at most
    /// [`MAX_RECORDED_ERRORS`] per request; [`Checker::total`] counts all).
    pub errors: Vec<FieldError>,
    /// Failures found so far, recorded or not.
    pub total: usize,
    /// Failures that may still be recorded.
    budget: usize,
    steps: Vec<Step<'j>>,
    /// Steps before this one are not part of recorded paths.
    base: usize,
}

pub use crate::field_error::MAX_RECORDED_ERRORS;

impl Default for Checker<'_> {
    fn default() -> Self {
        Self {
            errors: Vec::new(),
            total: 0,
            budget: MAX_RECORDED_ERRORS,
            steps: Vec::with_capacity(16),
            base: 0,
        }
    }
}

impl<'j> Checker<'j> {
    /// Records a failure at the current path (only counts it once
    /// [`MAX_RECORDED_ERRORS`] are recorded).
    pub fn fail(&mut self, code: &str, message: impl Into<String>) {
        self.total += 1;
        if self.budget > 0 {
            self.budget -= 1;
            self.errors
                .push(FieldError::new(self.path(), code, message.into()));
        }
    }

    /// The current path: `personal_info.email`, `items[2].quantity`.
    pub fn path(&self) -> String {
        let mut path = String::new();
        for step in &self.steps[self.base..] {
            match step {
                Step::Name(name) => push_name(&mut path, name),
                Step::Decoded(name) => push_name(&mut path, name),
                Step::Index(i) => {
                    path.push('[');
                    path.push_str(itoa::Buffer::new().format(*i));
                    path.push(']');
                }
            }
        }
        path
    }

    /// Runs `f` one object member deeper.
    pub fn field<T>(&mut self, name: &'j str, f: impl FnOnce(&mut Self) -> T) -> T {
        self.steps.push(Step::Name(name));
        let out = f(self);
        self.steps.pop();
        out
    }

    /// A required field: absent and `null` are failures.
    #[inline]
    pub fn req<T>(&mut self, name: &'j str, slot: Slot<T>) -> Option<T> {
        match slot {
            Slot::Ok(v) => Some(v),
            Slot::Bad => None,
            Slot::Absent => self.field(name, |c| {
                c.fail("required", "is required");
                None
            }),
            Slot::Null => self.field(name, |c| {
                c.fail("required", "must not be null");
                None
            }),
        }
    }

    /// Checks `min <= v <= max`.
    #[inline]
    pub fn range_i(&mut self, v: i64, min: Option<i64>, max: Option<i64>) -> bool {
        let ok = min.is_none_or(|m| v >= m) && max.is_none_or(|m| v <= m);
        if !ok {
            let message = match (min, max) {
                (Some(a), Some(b)) => format!("must be at least {a} and at most {b}"),
                (Some(a), None) => format!("must be at least {a}"),
                (None, Some(b)) => format!("must be at most {b}"),
                (None, None) => "out of range".to_owned(),
            };
            self.fail("range", message);
        }
        ok
    }

    /// Checks a length in characters.
    #[inline]
    pub fn length(&mut self, s: &str, min: usize, max: Option<usize>) -> bool {
        // Byte length bounds the character count: skip counting when it can.
        let ok = if max.is_none_or(|m| s.len() <= m) && s.len() >= min && s.is_ascii() {
            true
        } else {
            let n = s.chars().count();
            n >= min && max.is_none_or(|m| n <= m)
        };
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
    #[inline]
    pub fn pattern(&mut self, s: &str, re: &super::patterns::Pattern) -> bool {
        let ok = re.is_match(s);
        if !ok {
            self.fail("pattern", format!("must match {}", re.as_str()));
        }
        ok
    }
}

fn push_name(path: &mut String, name: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(name);
}

/// An optional field: absent or `null` is `Some(None)`, failing is `None`.
pub fn opt<T>(slot: Slot<T>) -> Option<Option<T>> {
    match slot {
        Slot::Ok(v) => Some(Some(v)),
        Slot::Absent | Slot::Null => Some(None),
        Slot::Bad => None,
    }
}

/// The position of `key` in `names`.
#[inline]
fn position(names: &[&str], key: &str) -> Option<usize> {
    let key = key.as_bytes();
    names
        .iter()
        .position(|n| n.len() == key.len() && n.as_bytes() == key)
}

/// An exact decimal from a number's digits, when they fit without rounding.
fn exact_decimal(n: Number<'_>) -> Option<Decimal> {
    if !n.exact || n.has_exponent || (n.negative && n.mantissa == 0) {
        return None;
    }
    let m = i128::from(n.mantissa);
    Decimal::try_from_i128_with_scale(if n.negative { -m } else { m }, n.scale).ok()
}

/// Walks one JSON document.
pub struct Reader<'j> {
    s: Scan<'j>,
    /// Arrays and objects the reader stands in.
    depth: usize,
    /// Failures found so far.
    pub c: Checker<'j>,
}

impl<'j> Reader<'j> {
    /// A reader over a document already known to be UTF-8.
    pub fn new(text: &'j str) -> Self {
        Self {
            s: Scan::new(text),
            depth: 0,
            c: Checker::default(),
        }
    }

    /// Bytes read so far and bytes left.
    pub fn progress(&self) -> (usize, usize) {
        let at = self.s.pos();
        (at, self.s.text().len() - at)
    }

    #[cold]
    fn stop(&self, fault: Fault) -> Stop {
        let (line, column) = self.s.line_column(self.s.pos());
        Stop(format!(
            "malformed JSON: {} at line {line} column {column}",
            fault.message()
        ))
    }

    /// The type of the next value.
    #[inline(always)]
    pub fn peek(&mut self) -> R<Kind> {
        self.s.peek().map_err(|f| self.stop(f))
    }

    /// Errors unless only whitespace is left.
    pub fn finish(&mut self) -> R<()> {
        self.s.finish().map_err(|f| self.stop(f))
    }

    /// Consumes the next value, whatever it is.
    pub fn skip(&mut self) -> R<()> {
        self.s.skip(self.depth).map_err(|f| self.stop(f))
    }

    #[cold]
    fn wrong(&mut self, expected: &str, kind: Kind) -> R<()> {
        self.c
            .fail("type", format!("expected {expected}, got {}", kind.name()));
        self.skip()
    }

    /// Runs `f` with failure paths relative to the current position (batch
    /// items report paths inside the item).
    pub fn relative<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        let base = std::mem::replace(&mut self.c.base, self.c.steps.len());
        let out = f(self);
        self.c.base = base;
        out
    }

    /// Reads a field's value: `null` gives [`Slot::Null`], a failure
    /// [`Slot::Bad`].
    #[inline(always)]
    pub fn slot<T>(&mut self, read: impl FnOnce(&mut Self) -> R<Option<T>>) -> R<Slot<T>> {
        if self.peek()? == Kind::Null {
            self.s.null().map_err(|f| self.stop(f))?;
            return Ok(Slot::Null);
        }
        Ok(match read(self)? {
            Some(v) => Slot::Ok(v),
            None => Slot::Bad,
        })
    }

    fn number(&mut self) -> R<Number<'j>> {
        self.s.number().map_err(|f| self.stop(f))
    }

    /// A JSON integer (no fraction, no exponent) that fits in 64 bits.
    #[inline]
    pub fn int(&mut self) -> R<Option<i64>> {
        let kind = self.peek()?;
        if kind != Kind::Number {
            return self.wrong("an integer", kind).map(|()| None);
        }
        let start = self.s.pos();
        match self.s.short_number() {
            Some(Short::Int(v)) => return Ok(Some(v)),
            Some(Short::Float(_)) => {
                let text = &self.s.text()[start..self.s.pos()];
                self.c
                    .fail("type", format!("expected an integer, got {text}"));
                return Ok(None);
            }
            None => {}
        }
        let n = self.number()?;
        if !n.is_integer() {
            self.c
                .fail("type", format!("expected an integer, got {}", n.text));
            return Ok(None);
        }
        match n.to_i64() {
            Some(v) => Ok(Some(v)),
            None => {
                self.c.fail("range", "integer does not fit in 64 bits");
                Ok(None)
            }
        }
    }

    /// An integer within bounds.
    #[inline]
    pub fn int_in(&mut self, min: Option<i64>, max: Option<i64>) -> R<Option<i64>> {
        Ok(self.int()?.filter(|&v| self.c.range_i(v, min, max)))
    }

    /// A JSON number as `f64`.
    #[inline]
    pub fn float(&mut self) -> R<Option<f64>> {
        let kind = self.peek()?;
        if kind != Kind::Number {
            return self.wrong("a number", kind).map(|()| None);
        }
        match self.s.short_number() {
            Some(Short::Int(v)) => return Ok(Some(v as f64)),
            Some(Short::Float(v)) => return Ok(Some(v)),
            None => {}
        }
        match self.number()?.to_f64() {
            Some(v) if v.is_finite() => Ok(Some(v)),
            _ => {
                self.c.fail("range", "number is out of range");
                Ok(None)
            }
        }
    }

    /// A JSON boolean.
    pub fn bool(&mut self) -> R<Option<bool>> {
        match self.peek()? {
            Kind::Bool => self.s.bool().map(Some).map_err(|f| self.stop(f)),
            kind => self.wrong("a boolean", kind).map(|()| None),
        }
    }

    /// A JSON string, borrowed from the input when it has no escapes.
    #[inline(always)]
    pub fn str(&mut self) -> R<Option<Cow<'j, str>>> {
        let kind = self.peek()?;
        if kind != Kind::String {
            return self.wrong("a string", kind).map(|()| None);
        }
        self.s.string().map(Some).map_err(|f| self.stop(f))
    }

    /// A string of `min..=max` characters.
    #[inline]
    pub fn text(&mut self, min: usize, max: Option<usize>) -> R<Option<Cow<'j, str>>> {
        Ok(self.str()?.filter(|s| self.c.length(s, min, max)))
    }

    /// A string matching a whole-value pattern.
    #[inline]
    pub fn matching(&mut self, re: &super::patterns::Pattern) -> R<Option<Cow<'j, str>>> {
        Ok(self.str()?.filter(|s| self.c.pattern(s, re)))
    }

    /// An exact decimal from a JSON number or numeric string, never through
    /// binary floating point.
    #[inline]
    pub fn decimal(&mut self) -> R<Option<Decimal>> {
        let text: Cow<'j, str> = match self.peek()? {
            Kind::Number => {
                let n = self.number()?;
                if let Some(d) = exact_decimal(n) {
                    return Ok(Some(d));
                }
                Cow::Borrowed(n.text)
            }
            Kind::String => match self.str()? {
                Some(s) => s,
                None => return Ok(None),
            },
            kind => {
                return self
                    .wrong("a decimal number or numeric string", kind)
                    .map(|()| None)
            }
        };
        let t = text.trim();
        let mut digits = Scan::new(t);
        if digits.peek() == Ok(Kind::Number) {
            if let Ok(n) = digits.number() {
                if let (Ok(()), Some(d)) = (digits.finish(), exact_decimal(n)) {
                    return Ok(Some(d));
                }
            }
        }
        let parsed = if t.contains(['e', 'E']) {
            Decimal::from_scientific(t)
        } else {
            Decimal::from_str_exact(t)
        };
        match parsed {
            Ok(d) => Ok(Some(d)),
            Err(_) => {
                self.c
                    .fail("decimal", format!("{t:?} is not a decimal number"));
                Ok(None)
            }
        }
    }

    /// An RFC 3339 date-time string, normalized to RFC 3339 with its offset.
    pub fn datetime(&mut self) -> R<Option<String>> {
        let Some(s) = self.str()? else {
            return Ok(None);
        };
        match chrono::DateTime::parse_from_rfc3339(&s) {
            Ok(t) => Ok(Some(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))),
            Err(e) => {
                self.c
                    .fail("datetime", format!("not an RFC 3339 date-time: {e}"));
                Ok(None)
            }
        }
    }

    /// The next value as raw JSON text (for values kept as sent).
    pub fn raw(&mut self) -> R<&'j str> {
        self.peek()?;
        let start = self.s.pos();
        self.skip()?;
        Ok(&self.s.text()[start..self.s.pos()])
    }

    /// Enters a container, or stops past [`MAX_DEPTH`].
    fn enter(&mut self) -> R<()> {
        if self.depth >= MAX_DEPTH {
            return Err(self.stop(Fault::TooDeep));
        }
        self.depth += 1;
        Ok(())
    }

    /// Walks an object whose known members are `names`: `each(reader, i)`
    /// reads member `names[i]` (with the path set); other members are
    /// skipped. `false` (with a failure) when the value is not an object.
    /// (The loop is written out here and in [`Reader::map`]: one walker
    /// shared through a closure cost 5 % more instructions per item.)
    pub fn object(
        &mut self,
        names: &[&'j str],
        mut each: impl FnMut(&mut Self, usize) -> R<()>,
    ) -> R<bool> {
        let kind = self.peek()?;
        if kind != Kind::Object {
            return self.wrong("an object", kind).map(|()| false);
        }
        self.enter()?;
        let mut more = self.s.object_first().map_err(|f| self.stop(f))?;
        while more {
            let (raw, escaped) = self.s.key().map_err(|f| self.stop(f))?;
            let found = if escaped {
                let name = unescape(raw).map_err(|f| self.stop(f))?;
                position(names, &name)
            } else {
                position(names, raw)
            };
            match found {
                Some(i) => {
                    self.c.steps.push(Step::Name(names[i]));
                    each(self, i)?;
                    self.c.steps.pop();
                }
                None => self.skip()?,
            }
            more = self.s.object_next().map_err(|f| self.stop(f))?;
        }
        self.depth -= 1;
        Ok(true)
    }

    /// Walks an object with any keys: `each(reader, key)` reads each value
    /// (with the path set). `false` when the value is not an object.
    pub fn map(&mut self, mut each: impl FnMut(&mut Self, Cow<'j, str>) -> R<()>) -> R<bool> {
        let kind = self.peek()?;
        if kind != Kind::Object {
            return self.wrong("an object", kind).map(|()| false);
        }
        self.enter()?;
        let mut more = self.s.object_first().map_err(|f| self.stop(f))?;
        while more {
            let (raw, escaped) = self.s.key().map_err(|f| self.stop(f))?;
            let key = if escaped {
                let name = unescape(raw).map_err(|f| self.stop(f))?;
                self.c.steps.push(Step::Decoded(name.as_str().into()));
                Cow::Owned(name)
            } else {
                self.c.steps.push(Step::Name(raw));
                Cow::Borrowed(raw)
            };
            each(self, key)?;
            self.c.steps.pop();
            more = self.s.object_next().map_err(|f| self.stop(f))?;
        }
        self.depth -= 1;
        Ok(true)
    }

    /// Walks an array: `each(reader, i)` reads element `i` (with the path
    /// set). `false` when the value is not an array.
    pub fn array(&mut self, mut each: impl FnMut(&mut Self, usize) -> R<()>) -> R<bool> {
        let kind = self.peek()?;
        if kind != Kind::Array {
            return self.wrong("an array", kind).map(|()| false);
        }
        self.enter()?;
        let mut more = self.s.array_first().map_err(|f| self.stop(f))?;
        let mut i = 0;
        self.c.steps.push(Step::Index(0));
        while more {
            if let Some(last) = self.c.steps.last_mut() {
                *last = Step::Index(i);
            }
            each(self, i)?;
            i += 1;
            more = self.s.array_next().map_err(|f| self.stop(f))?;
        }
        self.c.steps.pop();
        self.depth -= 1;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one<'j, T>(
        json: &'j str,
        f: impl FnOnce(&mut Reader<'j>) -> R<Option<T>>,
    ) -> (Option<T>, Vec<String>) {
        let mut r = Reader::new(json);
        let v = f(&mut r).unwrap();
        r.finish().unwrap();
        (v, r.c.errors.iter().map(|e| e.code.clone()).collect())
    }

    #[test]
    fn scalars_are_read_from_their_text() {
        assert_eq!(one("42", |r| r.int()).0, Some(42));
        assert_eq!(one(" -7 ", |r| r.int()).0, Some(-7));
        assert_eq!(one("1.5e2", |r| r.float()).0, Some(150.0));
        assert_eq!(one("true", |r| r.bool()).0, Some(true));
        let (s, _) = one(r#""plain""#, |r| r.str());
        assert!(matches!(s, Some(Cow::Borrowed("plain"))));
        let (s, _) = one(r#""a\"b\u00e9""#, |r| r.str());
        assert_eq!(s.unwrap(), "a\"bé");
        let (s, _) = one(r#""héllo""#, |r| r.str());
        assert!(matches!(s, Some(Cow::Borrowed("héllo"))));
    }

    #[test]
    fn wrong_types_and_overflow_are_recorded_and_skipped() {
        assert_eq!(one("1.0", |r| r.int()), (None, vec!["type".to_owned()]));
        assert_eq!(
            one("99999999999999999999", |r| r.int()),
            (None, vec!["range".to_owned()])
        );
        assert_eq!(
            one(r#"{"a":[1]}"#, |r| r.str()),
            (None, vec!["type".to_owned()])
        );
    }

    #[test]
    fn decimals_are_exact() {
        assert_eq!(
            one("29.99", |r| r.decimal()).0.unwrap().to_string(),
            "29.99"
        );
        assert_eq!(
            one(r#""29.90""#, |r| r.decimal()).0.unwrap().to_string(),
            "29.90"
        );
        assert_eq!(one("0.1", |r| r.decimal()).0.unwrap().to_string(), "0.1");
        assert_eq!(one("1e2", |r| r.decimal()).0.unwrap().to_string(), "100");
        assert_eq!(one(r#""cheap""#, |r| r.decimal()).1, ["decimal"]);
        // Found by fuzzing: an empty or blank numeric string once panicked.
        assert_eq!(one(r#""""#, |r| r.decimal()).1, ["decimal"]);
        assert_eq!(one(r#"" ""#, |r| r.decimal()).1, ["decimal"]);
        assert_eq!(one("true", |r| r.decimal()).1, ["type"]);
    }

    #[test]
    fn datetimes() {
        assert_eq!(
            one(r#""2024-01-01T10:30:00.5+02:00""#, |r| r.datetime())
                .0
                .unwrap(),
            "2024-01-01T10:30:00.500+02:00"
        );
        assert_eq!(
            one(r#""2024-02-30T00:00:00Z""#, |r| r.datetime()).1,
            ["datetime"]
        );
    }

    #[test]
    fn paths_follow_objects_and_arrays() {
        let mut r = Reader::new(r#"{"items":[{"n":1},{"n":"x"}],"skip":{"deep":[1,2]}}"#);
        r.object(&["items"], |r, _| {
            r.array(|r, _| r.object(&["n"], |r, _| r.int().map(|_| ())).map(|_| ()))
                .map(|_| ())
        })
        .unwrap();
        r.finish().unwrap();
        assert_eq!(r.c.errors[0].field, "items[1].n");
        assert_eq!(r.c.errors.len(), 1);
    }

    #[test]
    fn escaped_keys_are_decoded() {
        let mut r = Reader::new(r#"{ "\u0069d" : 5 , "x":1}"#);
        let mut got = None;
        r.object(&["id"], |r, _| {
            got = r.int()?;
            Ok(())
        })
        .unwrap();
        assert_eq!(got, Some(5));
    }

    #[test]
    fn broken_json_stops() {
        let mut r = Reader::new("{\"a\": [1,}");
        assert!(r.object(&["a"], |r, _| r.skip()).is_err());
        let deep = "[".repeat(10_000);
        let mut r = Reader::new(&deep);
        assert!(r.skip().is_err());
    }
}
