//! A single-pass reader for validation: the JSON text is walked once with
//! jiter (pydantic's own parser), each value is read and checked where it
//! stands, strings are borrowed from the input when they have no escapes,
//! numbers are read from their text (exact decimals), and every failure is
//! recorded with its path instead of stopping at the first. Only broken JSON
//! stops the walk.

use crate::FieldError;
use jiter::{Jiter, JiterError, Peek};
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

/// Collects failures; `path` is where the value being read stands.
#[derive(Debug)]
pub struct Checker {
    /// Failures recorded so far, in document order (at most
    /// [`MAX_RECORDED_ERRORS`] per request; [`Checker::total`] counts all).
    pub errors: Vec<FieldError>,
    /// Failures found so far, recorded or not.
    pub total: usize,
    /// Failures that may still be recorded.
    budget: usize,
    path: String,
}

pub use crate::field_error::MAX_RECORDED_ERRORS;

impl Default for Checker {
    fn default() -> Self {
        Self {
            errors: Vec::new(),
            total: 0,
            budget: MAX_RECORDED_ERRORS,
            path: String::new(),
        }
    }
}

impl Checker {
    /// Records a failure at the current path (only counts it once
    /// [`MAX_RECORDED_ERRORS`] are recorded).
    pub fn fail(&mut self, code: &str, message: impl Into<String>) {
        self.total += 1;
        if self.budget > 0 {
            self.budget -= 1;
            self.errors
                .push(FieldError::new(self.path.clone(), code, message.into()));
        }
    }

    /// Exchanges the current path with `other` (batches read each item
    /// from an empty path, reusing one spare buffer).
    pub fn swap_path(&mut self, other: &mut String) {
        std::mem::swap(&mut self.path, other);
    }

    /// Runs `f` one object member deeper.
    pub fn field<T>(&mut self, name: &str, f: impl FnOnce(&mut Self) -> T) -> T {
        let len = self.push_field(name);
        let out = f(self);
        self.path.truncate(len);
        out
    }

    fn push_field(&mut self, name: &str) -> usize {
        let len = self.path.len();
        if !self.path.is_empty() {
            self.path.push('.');
        }
        self.path.push_str(name);
        len
    }

    fn push_index(&mut self, i: usize) -> usize {
        let len = self.path.len();
        self.path.push('[');
        self.path.push_str(itoa::Buffer::new().format(i));
        self.path.push(']');
        len
    }

    /// A required field: absent and `null` are failures.
    pub fn req<T>(&mut self, name: &str, slot: Slot<T>) -> Option<T> {
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
    pub fn pattern(&mut self, s: &str, re: &super::patterns::Pattern) -> bool {
        let ok = re.is_match(s);
        if !ok {
            self.fail("pattern", format!("must match {}", re.as_str()));
        }
        ok
    }
}

/// An optional field: absent or `null` is `Some(None)`, failing is `None`.
pub fn opt<T>(slot: Slot<T>) -> Option<Option<T>> {
    match slot {
        Slot::Ok(v) => Some(Some(v)),
        Slot::Absent | Slot::Null => Some(None),
        Slot::Bad => None,
    }
}

fn type_name(peek: Peek) -> &'static str {
    match peek {
        Peek::String => "string",
        Peek::Object => "object",
        Peek::Array => "array",
        Peek::True | Peek::False => "boolean",
        Peek::Null => "null",
        _ => "number",
    }
}

fn stop(data: &[u8], e: JiterError) -> Stop {
    let pos = jiter::LinePosition::find(data, e.index);
    Stop(format!(
        "malformed JSON: {} at line {} column {}",
        e.error_type, pos.line, pos.column
    ))
}

/// Walks one JSON document.
pub struct Reader<'j> {
    it: Jiter<'j>,
    text: &'j str,
    data: &'j [u8],
    /// Failures found so far.
    pub c: Checker,
}

/// A JSON string's content (between the quotes): borrowed when it has no
/// escapes, decoded otherwise.
fn unescape<'j>(quoted: &'j str, data: &[u8]) -> R<Cow<'j, str>> {
    let content = &quoted[1..quoted.len() - 1];
    if !content.as_bytes().contains(&b'\\') {
        return Ok(Cow::Borrowed(content));
    }
    Jiter::new(quoted.as_bytes())
        .next_str()
        .map(|s| Cow::Owned(s.to_owned()))
        .map_err(|e| stop(data, e))
}

impl<'j> Reader<'j> {
    /// A reader over a document already known to be UTF-8 (so that any
    /// slice between JSON tokens is a `&str` without another check).
    pub fn new(text: &'j str) -> Self {
        let mut c = Checker::default();
        c.path.reserve(64);
        Self {
            it: Jiter::new(text.as_bytes()),
            text,
            data: text.as_bytes(),
            c,
        }
    }

    fn stop(&self, e: JiterError) -> Stop {
        stop(self.data, e)
    }

    /// The type of the next value.
    pub fn peek(&mut self) -> R<Peek> {
        self.it.peek().map_err(|e| self.stop(e))
    }

    /// Errors unless only whitespace is left.
    pub fn finish(&mut self) -> R<()> {
        self.it.finish().map_err(|e| self.stop(e))
    }

    /// Consumes the next value, whatever it is.
    pub fn skip(&mut self) -> R<()> {
        let peek = self.peek()?;
        self.it.known_skip(peek).map_err(|e| self.stop(e))
    }

    fn wrong(&mut self, expected: &str, peek: Peek) -> R<()> {
        self.c.fail(
            "type",
            format!("expected {expected}, got {}", type_name(peek)),
        );
        self.it.known_skip(peek).map_err(|e| self.stop(e))
    }

    /// Reads a field's value: `null` gives [`Slot::Null`], a failure
    /// [`Slot::Bad`].
    pub fn slot<T>(&mut self, read: impl FnOnce(&mut Self) -> R<Option<T>>) -> R<Slot<T>> {
        if self.peek()? == Peek::Null {
            self.it.known_null().map_err(|e| self.stop(e))?;
            return Ok(Slot::Null);
        }
        Ok(match read(self)? {
            Some(v) => Slot::Ok(v),
            None => Slot::Bad,
        })
    }

    fn number_text(&mut self, peek: Peek) -> R<&'j str> {
        let start = self.it.current_index();
        let data = self.data;
        self.it
            .known_number_bytes(peek)
            .map_err(|e| stop(data, e))?;
        Ok(&self.text[start..self.it.current_index()])
    }

    /// The quoted string that starts at the current position, consumed.
    fn quoted(&mut self) -> R<&'j str> {
        let start = self.it.current_index();
        let data = self.data;
        self.it.known_bytes().map_err(|e| stop(data, e))?;
        Ok(&self.text[start..self.it.current_index()])
    }

    /// A JSON integer (no fraction, no exponent) that fits in 64 bits.
    pub fn int(&mut self) -> R<Option<i64>> {
        let peek = self.peek()?;
        if !peek.is_num() {
            return self.wrong("an integer", peek).map(|()| None);
        }
        let text = self.number_text(peek)?;
        if text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
            self.c
                .fail("type", format!("expected an integer, got {text}"));
            return Ok(None);
        }
        match text.parse() {
            Ok(v) => Ok(Some(v)),
            Err(_) => {
                self.c.fail("range", "integer does not fit in 64 bits");
                Ok(None)
            }
        }
    }

    /// An integer within bounds.
    pub fn int_in(&mut self, min: Option<i64>, max: Option<i64>) -> R<Option<i64>> {
        Ok(self.int()?.filter(|&v| self.c.range_i(v, min, max)))
    }

    /// A JSON number as `f64`.
    pub fn float(&mut self) -> R<Option<f64>> {
        let peek = self.peek()?;
        if !peek.is_num() {
            return self.wrong("a number", peek).map(|()| None);
        }
        match self.number_text(peek)?.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v)),
            _ => {
                self.c.fail("range", "number is out of range");
                Ok(None)
            }
        }
    }

    /// A JSON boolean.
    pub fn bool(&mut self) -> R<Option<bool>> {
        match self.peek()? {
            p @ (Peek::True | Peek::False) => {
                self.it.known_bool(p).map(Some).map_err(|e| self.stop(e))
            }
            p => self.wrong("a boolean", p).map(|()| None),
        }
    }

    /// A JSON string, borrowed from the input when it has no escapes.
    pub fn str(&mut self) -> R<Option<Cow<'j, str>>> {
        let peek = self.peek()?;
        if peek != Peek::String {
            return self.wrong("a string", peek).map(|()| None);
        }
        let quoted = self.quoted()?;
        unescape(quoted, self.data).map(Some)
    }

    /// A string of `min..=max` characters.
    pub fn text(&mut self, min: usize, max: Option<usize>) -> R<Option<Cow<'j, str>>> {
        Ok(self.str()?.filter(|s| self.c.length(s, min, max)))
    }

    /// A string matching a whole-value pattern.
    pub fn matching(&mut self, re: &super::patterns::Pattern) -> R<Option<Cow<'j, str>>> {
        Ok(self.str()?.filter(|s| self.c.pattern(s, re)))
    }

    /// An exact decimal from a JSON number or numeric string, never through
    /// binary floating point.
    pub fn decimal(&mut self) -> R<Option<Decimal>> {
        let peek = self.peek()?;
        let text: Cow<'j, str> = if peek.is_num() {
            Cow::Borrowed(self.number_text(peek)?)
        } else if peek == Peek::String {
            match self.str()? {
                Some(s) => s,
                None => return Ok(None),
            }
        } else {
            return self
                .wrong("a decimal number or numeric string", peek)
                .map(|()| None);
        };
        let t = text.trim();
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
        let peek = self.peek()?;
        let start = self.it.current_index();
        self.it.known_skip(peek).map_err(|e| self.stop(e))?;
        Ok(&self.text[start..self.it.current_index()])
    }

    /// The position in `names` of the next object key: `None` at the end of
    /// the object, `Some(None)` for a key not in `names`. Keys are compared
    /// as raw bytes; only a key with escapes is decoded first.
    fn field_index(&mut self, first: bool, names: &[&str]) -> R<Option<Option<usize>>> {
        let data = self.data;
        let step = if first {
            self.it.next_object_bytes()
        } else {
            self.it.next_key_bytes()
        };
        let Some(raw) = step.map_err(|e| stop(data, e))? else {
            return Ok(None);
        };
        if let Some(i) = names.iter().position(|n| n.as_bytes() == raw) {
            return Ok(Some(Some(i)));
        }
        if !raw.contains(&b'\\') {
            return Ok(Some(None));
        }
        let mut quoted = Vec::with_capacity(raw.len() + 2);
        quoted.push(b'"');
        quoted.extend_from_slice(raw);
        quoted.push(b'"');
        let decoded = Jiter::new(&quoted)
            .next_str()
            .map(str::to_owned)
            .map_err(|e| stop(data, e))?;
        Ok(Some(names.iter().position(|n| *n == decoded)))
    }

    /// The next object key (raw; escaped keys decoded), or `None` at the end.
    fn key(&mut self, first: bool) -> R<Option<Cow<'j, str>>> {
        let data = self.data;
        let step = if first {
            self.it.next_object_bytes()
        } else {
            self.it.next_key_bytes()
        };
        let Some(raw) = step.map_err(|e| stop(data, e))?.map(<[u8]>::len) else {
            return Ok(None);
        };
        // The key's content ends just before the closing quote, which is
        // followed by optional whitespace and the colon already consumed.
        let mut end = self.it.current_index();
        while end > 0 && data[end - 1] != b'"' {
            end -= 1;
        }
        let quoted = &self.text[end - 1 - raw - 1..end];
        unescape(quoted, data).map(Some)
    }

    /// Walks an object whose known members are `names`: `each(reader, i)`
    /// reads member `names[i]` (with the path set); other members are
    /// skipped. `false` (with a failure) when the value is not an object.
    pub fn object(
        &mut self,
        names: &[&str],
        mut each: impl FnMut(&mut Self, usize) -> R<()>,
    ) -> R<bool> {
        let peek = self.peek()?;
        if peek != Peek::Object {
            return self.wrong("an object", peek).map(|()| false);
        }
        let mut key = self.field_index(true, names)?;
        while let Some(found) = key {
            match found {
                Some(i) => {
                    let len = self.c.push_field(names[i]);
                    let result = each(self, i);
                    self.c.path.truncate(len);
                    result?;
                }
                None => self.skip()?,
            }
            key = self.field_index(false, names)?;
        }
        Ok(true)
    }

    /// Walks an object with any keys: `each(reader, key)` reads each value
    /// (with the path set). `false` when the value is not an object.
    pub fn map(&mut self, mut each: impl FnMut(&mut Self, Cow<'j, str>) -> R<()>) -> R<bool> {
        let peek = self.peek()?;
        if peek != Peek::Object {
            return self.wrong("an object", peek).map(|()| false);
        }
        let mut key = self.key(true)?;
        while let Some(k) = key {
            let len = self.c.push_field(&k);
            let result = each(self, k);
            self.c.path.truncate(len);
            result?;
            key = self.key(false)?;
        }
        Ok(true)
    }

    /// Walks an array: `each(reader, i)` reads element `i` (with the path
    /// set). `false` when the value is not an array.
    pub fn array(&mut self, mut each: impl FnMut(&mut Self, usize) -> R<()>) -> R<bool> {
        let peek = self.peek()?;
        if peek != Peek::Array {
            return self.wrong("an array", peek).map(|()| false);
        }
        let mut next = self.it.known_array().map_err(|e| self.stop(e))?;
        let mut i = 0;
        while next.is_some() {
            let len = self.c.push_index(i);
            let result = each(self, i);
            self.c.path.truncate(len);
            result?;
            i += 1;
            next = self.it.array_step().map_err(|e| self.stop(e))?;
        }
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
