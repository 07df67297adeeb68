//! A JSON tokenizer over text already known to be UTF-8, made for reading
//! values where they stand: strings come back borrowed unless they hold
//! escapes, numbers as their digits (mantissa, scale, exponent) beside their
//! text, and nothing is built that the caller does not ask for. It follows
//! RFC 8259 strictly (no trailing commas, no leading zeros, no control
//! characters in strings, no lone surrogates); the first violation is a
//! [`Fault`] at a byte position.

use std::borrow::Cow;

/// What the next value is, from its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `"…"`.
    String,
    /// `-` or a digit.
    Number,
    /// `{`.
    Object,
    /// `[`.
    Array,
    /// `true` or `false`.
    Bool,
    /// `null`.
    Null,
}

impl Kind {
    /// The JSON type's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Number => "number",
            Kind::Object => "object",
            Kind::Array => "array",
            Kind::Bool => "boolean",
            Kind::Null => "null",
        }
    }
}

/// Why the text is not JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The text ended inside a value.
    Eof,
    /// No value starts here.
    ExpectedValue,
    /// An object member's name is not a string.
    ExpectedKey,
    /// No `:` after a member's name.
    ExpectedColon,
    /// Neither `,` nor `}` after a member.
    ExpectedObjectEnd,
    /// Neither `,` nor `]` after an element.
    ExpectedArrayEnd,
    /// A number breaks the grammar (leading zero, no digits after `.`/`e`).
    InvalidNumber,
    /// A misspelled `true`, `false` or `null`.
    InvalidLiteral,
    /// A backslash not followed by one of `"\/bfnrtu` and valid hex.
    InvalidEscape,
    /// A `\u` escape of half a surrogate pair.
    LoneSurrogate,
    /// A byte below 0x20 inside a string.
    ControlCharacter,
    /// Nesting deeper than [`MAX_DEPTH`].
    TooDeep,
    /// Something after the value.
    TrailingCharacters,
}

impl Fault {
    /// What went wrong, in words.
    pub fn message(self) -> &'static str {
        match self {
            Fault::Eof => "unexpected end of input",
            Fault::ExpectedValue => "expected a value",
            Fault::ExpectedKey => "expected a string key",
            Fault::ExpectedColon => "expected ':'",
            Fault::ExpectedObjectEnd => "expected ',' or '}'",
            Fault::ExpectedArrayEnd => "expected ',' or ']'",
            Fault::InvalidNumber => "invalid number",
            Fault::InvalidLiteral => "invalid literal",
            Fault::InvalidEscape => "invalid escape",
            Fault::LoneSurrogate => "lone surrogate in a \\u escape",
            Fault::ControlCharacter => "control character in a string",
            Fault::TooDeep => "nesting deeper than 200",
            Fault::TrailingCharacters => "trailing characters",
        }
    }
}

/// Deepest nesting of arrays and objects accepted.
pub const MAX_DEPTH: usize = 200;

/// A fault and where it was found.
pub type Res<T> = Result<T, Fault>;

/// A number's text and digits. `mantissa` holds every digit (integer and
/// fraction) unless there were too many for 64 bits (`exact` is then false).
#[derive(Debug, Clone, Copy)]
pub struct Number<'j> {
    /// The number as written.
    pub text: &'j str,
    /// A leading `-`.
    pub negative: bool,
    /// All digits, without the point, when `exact`.
    pub mantissa: u64,
    /// Whether every digit fits in `mantissa`.
    pub exact: bool,
    /// Digits after the point.
    pub scale: u32,
    /// Whether it has an exponent (`e`/`E`).
    pub has_exponent: bool,
}

impl Number<'_> {
    /// No fraction and no exponent.
    pub fn is_integer(self) -> bool {
        self.scale == 0 && !self.has_exponent
    }

    /// The value as `i64`, for an integer that fits.
    pub fn to_i64(self) -> Option<i64> {
        if !self.exact {
            return None;
        }
        if self.negative {
            0i64.checked_sub_unsigned(self.mantissa)
        } else {
            i64::try_from(self.mantissa).ok()
        }
    }

    /// The value as `f64`: exact arithmetic where it is correctly rounded
    /// (mantissa below 2^53, power of ten up to 10^22), the standard
    /// library's parser otherwise.
    pub fn to_f64(self) -> Option<f64> {
        if self.exact && !self.has_exponent && self.mantissa < 1 << 53 {
            if let Some(p) = POW10.get(self.scale as usize) {
                let v = self.mantissa as f64 / p;
                return Some(if self.negative { -v } else { v });
            }
        }
        self.text.parse().ok()
    }
}

/// The text of a string whose content (between the quotes, as written)
/// has escapes, decoded.
pub fn unescape(raw: &str) -> Res<String> {
    let quoted = format!("\"{raw}\"");
    Scan::new(&quoted).string().map(Cow::into_owned)
}

/// Powers of ten that are exact doubles.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// A number read by [`Scan::short_number`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Short {
    /// No fraction, no exponent.
    Int(i64),
    /// With a fraction.
    Float(f64),
}

/// The tokenizer: a position in the text.
pub struct Scan<'j> {
    text: &'j str,
    bytes: &'j [u8],
    pos: usize,
}

/// Bytes that end the fast part of a string: `"`, `\` and controls.
const fn string_stops() -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
}
static STOPS: [bool; 256] = string_stops();

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The bytes of `w` that are `"`, `\\` or below 0x20, as their high bits;
/// the lowest set bit is exact (higher ones may be false alarms).
#[inline(always)]
fn stop_mask(w: u64) -> u64 {
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
    zero(w ^ (ONES * b'"' as u64)) | zero(w ^ (ONES * b'\\' as u64)) | below_space
}

fn hex4(b: &[u8]) -> Option<u32> {
    let mut v = 0;
    for &c in b.get(..4)? {
        v = v * 16 + (c as char).to_digit(16)?;
    }
    Some(v)
}

impl<'j> Scan<'j> {
    /// A tokenizer at the start of `text`.
    pub fn new(text: &'j str) -> Self {
        Self {
            text,
            bytes: text.as_bytes(),
            pos: 0,
        }
    }

    /// The current byte offset.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// The whole text.
    pub fn text(&self) -> &'j str {
        self.text
    }

    #[inline(always)]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next non-space byte (not consumed).
    #[inline(always)]
    fn next_byte(&mut self) -> Res<u8> {
        self.skip_ws();
        self.bytes.get(self.pos).copied().ok_or(Fault::Eof)
    }

    /// What the next value is.
    #[inline(always)]
    pub fn peek(&mut self) -> Res<Kind> {
        Ok(match self.next_byte()? {
            b'"' => Kind::String,
            b'{' => Kind::Object,
            b'[' => Kind::Array,
            b't' | b'f' => Kind::Bool,
            b'n' => Kind::Null,
            b'-' | b'0'..=b'9' => Kind::Number,
            _ => return Err(Fault::ExpectedValue),
        })
    }

    /// Errors unless only whitespace is left.
    pub fn finish(&mut self) -> Res<()> {
        self.skip_ws();
        if self.pos < self.bytes.len() {
            return Err(Fault::TrailingCharacters);
        }
        Ok(())
    }

    fn literal(&mut self, word: &[u8]) -> Res<()> {
        if self.bytes[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else if word.starts_with(&self.bytes[self.pos..]) {
            Err(Fault::Eof)
        } else {
            Err(Fault::InvalidLiteral)
        }
    }

    /// `null`, after [`Scan::peek`] said so.
    pub fn null(&mut self) -> Res<()> {
        self.literal(b"null")
    }

    /// `true` or `false`, after [`Scan::peek`] said so.
    pub fn bool(&mut self) -> Res<bool> {
        if self.bytes.get(self.pos) == Some(&b't') {
            self.literal(b"true").map(|()| true)
        } else {
            self.literal(b"false").map(|()| false)
        }
    }

    /// A number, after [`Scan::peek`] said so.
    pub fn number(&mut self) -> Res<Number<'j>> {
        let b = self.bytes;
        let start = self.pos;
        let negative = b.get(start) == Some(&b'-');
        let mut i = start + usize::from(negative);
        // At most 19 digits always fit in 64 bits.
        let mut mantissa: u64 = 0;
        let mut digits;
        let run = |i: &mut usize, mantissa: &mut u64| {
            let first = *i;
            while let Some(&d @ b'0'..=b'9') = b.get(*i) {
                *mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
                *i += 1;
            }
            *i - first
        };
        match b.get(i) {
            Some(b'0') => {
                i += 1;
                digits = 1;
            }
            Some(b'1'..=b'9') => digits = run(&mut i, &mut mantissa),
            None => return Err(Fault::Eof),
            Some(_) => return Err(Fault::InvalidNumber),
        }
        let mut scale = 0;
        if b.get(i) == Some(&b'.') {
            i += 1;
            scale = run(&mut i, &mut mantissa);
            if scale == 0 {
                return Err(self.number_end(i));
            }
            digits += scale;
        }
        let has_exponent = matches!(b.get(i), Some(b'e' | b'E'));
        if has_exponent {
            i += 1;
            if let Some(b'+' | b'-') = b.get(i) {
                i += 1;
            }
            if run(&mut i, &mut 0) == 0 {
                return Err(self.number_end(i));
            }
        }
        if b.get(i).is_some_and(u8::is_ascii_digit) {
            // A leading zero followed by more digits.
            return Err(Fault::InvalidNumber);
        }
        self.pos = i;
        Ok(Number {
            text: &self.text[start..i],
            negative,
            mantissa,
            exact: digits <= 19,
            scale: u32::try_from(scale).unwrap_or(u32::MAX),
            has_exponent,
        })
    }

    /// The fast path of [`Scan::number`] for the common short forms: an
    /// integer of up to 18 digits (`Int`), or up to 15 digits with a
    /// fraction and no exponent (`Float`), after [`Scan::peek`] said
    /// `Number`. Anything else (nothing is consumed) is `None`, for
    /// [`Scan::number`] to read.
    #[inline(always)]
    pub fn short_number(&mut self) -> Option<Short> {
        let b = self.bytes;
        let negative = b.get(self.pos) == Some(&b'-');
        let first = self.pos + usize::from(negative);
        let mut i = first;
        let mut mantissa: u64 = 0;
        while let Some(&d @ b'0'..=b'9') = b.get(i) {
            mantissa = mantissa * 10 + u64::from(d - b'0');
            i += 1;
            if i - first > 18 {
                return None;
            }
        }
        let int_digits = i - first;
        if int_digits == 0 || (int_digits > 1 && b[first] == b'0') {
            return None;
        }
        let short = match b.get(i) {
            Some(b'e' | b'E') => return None,
            Some(b'.') => {
                i += 1;
                let point = i;
                while let Some(&d @ b'0'..=b'9') = b.get(i) {
                    mantissa = mantissa * 10 + u64::from(d - b'0');
                    i += 1;
                    if i - point + int_digits > 15 {
                        return None;
                    }
                }
                let scale = i - point;
                if scale == 0 || matches!(b.get(i), Some(b'e' | b'E')) {
                    return None;
                }
                // Exact: both operands are exact doubles (below 2^53, a power
                // of ten up to 10^15), so the quotient is correctly rounded.
                let v = mantissa as f64 / POW10[scale];
                Short::Float(if negative { -v } else { v })
            }
            _ => {
                // Below 10^18: fits with either sign.
                let v = mantissa as i64;
                Short::Int(if negative { -v } else { v })
            }
        };
        self.pos = i;
        Some(short)
    }

    /// Why digits are missing at `i`.
    fn number_end(&self, i: usize) -> Fault {
        if i == self.bytes.len() {
            Fault::Eof
        } else {
            Fault::InvalidNumber
        }
    }

    /// A string, after [`Scan::peek`] said so: borrowed when it has no
    /// escapes, decoded otherwise.
    #[inline(always)]
    pub fn string(&mut self) -> Res<Cow<'j, str>> {
        let start = self.pos + 1;
        let end = self.plain_run(start);
        if self.bytes.get(end) == Some(&b'"') {
            self.pos = end + 1;
            return Ok(Cow::Borrowed(&self.text[start..end]));
        }
        self.string_slow(start, end).map(Cow::Owned)
    }

    #[cold]
    fn string_slow(&mut self, start: usize, end: usize) -> Res<String> {
        match self.bytes.get(end) {
            Some(b'\\') => self.decode(start, end),
            Some(_) => Err(Fault::ControlCharacter),
            None => Err(Fault::Eof),
        }
    }

    /// The end of the run of bytes from `i` that need no attention: eight
    /// at a time, then one by one near the end of the text.
    #[inline(always)]
    fn plain_run(&self, mut i: usize) -> usize {
        let b = self.bytes;
        while let Some(word) = b.get(i..).and_then(<[u8]>::first_chunk::<8>) {
            let mask = stop_mask(u64::from_le_bytes(*word));
            if mask != 0 {
                return i + (mask.trailing_zeros() / 8) as usize;
            }
            i += 8;
        }
        while b.get(i).is_some_and(|&c| !STOPS[usize::from(c)]) {
            i += 1;
        }
        i
    }

    /// Decodes a string with escapes; `start` is its first content byte,
    /// `at` the first backslash.
    #[cold]
    fn decode(&mut self, start: usize, at: usize) -> Res<String> {
        let b = self.bytes;
        let mut out = String::with_capacity(at - start + 16);
        out.push_str(&self.text[start..at]);
        let mut i = at;
        loop {
            match b.get(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    let (c, next) = self.escape(i)?;
                    out.push(c);
                    i = next;
                }
                Some(_) => return Err(Fault::ControlCharacter),
                None => return Err(Fault::Eof),
            }
            let end = self.plain_run(i);
            out.push_str(&self.text[i..end]);
            i = end;
        }
    }

    /// The character of the escape at `i` (a backslash) and the position
    /// after it.
    fn escape(&self, i: usize) -> Res<(char, usize)> {
        let b = self.bytes;
        let simple = match b.get(i + 1) {
            None => return Err(Fault::Eof),
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                let hi = hex4(&b[i + 2..]).ok_or(Fault::InvalidEscape)?;
                let (code, next) = match hi {
                    0xD800..=0xDBFF => {
                        let lo = (b.get(i + 6..i + 8) == Some(b"\\u"))
                            .then(|| hex4(&b[i + 8..]))
                            .flatten()
                            .filter(|lo| (0xDC00..=0xDFFF).contains(lo))
                            .ok_or(Fault::LoneSurrogate)?;
                        (0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00), i + 12)
                    }
                    0xDC00..=0xDFFF => return Err(Fault::LoneSurrogate),
                    _ => (hi, i + 6),
                };
                return char::from_u32(code)
                    .map(|c| (c, next))
                    .ok_or(Fault::InvalidEscape);
            }
            Some(_) => return Err(Fault::InvalidEscape),
        };
        Ok((simple, i + 2))
    }

    /// Skips a string, checking its escapes.
    fn skip_string(&mut self) -> Res<()> {
        let mut i = self.pos + 1;
        loop {
            i = self.plain_run(i);
            match self.bytes.get(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(());
                }
                Some(b'\\') => i = self.escape(i)?.1,
                Some(_) => return Err(Fault::ControlCharacter),
                None => return Err(Fault::Eof),
            }
        }
    }

    /// Enters the object at the current position (`{`): whether it has a
    /// member.
    #[inline(always)]
    pub fn object_first(&mut self) -> Res<bool> {
        self.pos += 1;
        if self.next_byte()? == b'}' {
            self.pos += 1;
            return Ok(false);
        }
        Ok(true)
    }

    /// After a member's value: whether another member follows (`,`) or the
    /// object ends.
    #[inline(always)]
    pub fn object_next(&mut self) -> Res<bool> {
        match self.next_byte()? {
            b',' => {
                self.pos += 1;
                Ok(true)
            }
            b'}' => {
                self.pos += 1;
                Ok(false)
            }
            _ => Err(Fault::ExpectedObjectEnd),
        }
    }

    /// A member's name and its colon: the name as written between the
    /// quotes, and whether it has escapes (see [`unescape`]).
    #[inline(always)]
    pub fn key(&mut self) -> Res<(&'j str, bool)> {
        if self.next_byte()? != b'"' {
            return Err(Fault::ExpectedKey);
        }
        let start = self.pos + 1;
        let mut end = self.plain_run(start);
        let escaped = self.bytes.get(end) != Some(&b'"');
        if escaped {
            self.skip_string()?;
            end = self.pos - 1;
        } else {
            self.pos = end + 1;
        }
        // The colon, usually right after the name.
        if self.bytes.get(self.pos) != Some(&b':') && self.next_byte()? != b':' {
            return Err(Fault::ExpectedColon);
        }
        self.pos += 1;
        Ok((&self.text[start..end], escaped))
    }

    /// Enters the array at the current position (`[`): whether it has a
    /// first element.
    pub fn array_first(&mut self) -> Res<bool> {
        self.pos += 1;
        if self.next_byte()? == b']' {
            self.pos += 1;
            return Ok(false);
        }
        Ok(true)
    }

    /// After an element: whether another follows (`,`) or the array ends.
    #[inline(always)]
    pub fn array_next(&mut self) -> Res<bool> {
        match self.next_byte()? {
            b',' => {
                self.pos += 1;
                Ok(true)
            }
            b']' => {
                self.pos += 1;
                Ok(false)
            }
            _ => Err(Fault::ExpectedArrayEnd),
        }
    }

    /// Skips the next value, whatever it is; `depth` is the nesting it
    /// stands at (the walk stops past [`MAX_DEPTH`]). Iterative, so a deep
    /// document cannot exhaust the stack.
    pub fn skip(&mut self, depth: usize) -> Res<()> {
        // Open containers, innermost last: true for objects.
        let mut open: Vec<bool> = Vec::new();
        loop {
            // A value.
            match self.peek()? {
                Kind::String => self.skip_string()?,
                Kind::Number => self.number().map(drop)?,
                Kind::Bool => self.bool().map(drop)?,
                Kind::Null => self.null()?,
                kind @ (Kind::Object | Kind::Array) => {
                    if depth + open.len() >= MAX_DEPTH {
                        return Err(Fault::TooDeep);
                    }
                    let is_object = kind == Kind::Object;
                    let has_first = if is_object {
                        self.pos += 1;
                        match self.next_byte()? {
                            b'}' => {
                                self.pos += 1;
                                false
                            }
                            _ => {
                                self.key()?;
                                true
                            }
                        }
                    } else {
                        self.array_first()?
                    };
                    if has_first {
                        open.push(is_object);
                        continue;
                    }
                }
            }
            // After a value: close what ends, stop at the next one.
            loop {
                let Some(&is_object) = open.last() else {
                    return Ok(());
                };
                let more = match (self.next_byte()?, is_object) {
                    (b',', true) => {
                        self.pos += 1;
                        self.key()?;
                        true
                    }
                    (b',', false) => {
                        self.pos += 1;
                        true
                    }
                    (b'}', true) | (b']', false) => {
                        self.pos += 1;
                        false
                    }
                    (_, true) => return Err(Fault::ExpectedObjectEnd),
                    (_, false) => return Err(Fault::ExpectedArrayEnd),
                };
                if more {
                    break;
                }
                open.pop();
            }
        }
    }

    /// Line and column (1-based, in characters) of byte `pos`.
    pub fn line_column(&self, pos: usize) -> (usize, usize) {
        let mut end = pos.min(self.text.len());
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let before = &self.text[..end];
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |n| n + 1);
        (line, before[line_start..].chars().count() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Skips one document: `Ok` when it is valid JSON.
    fn check(text: &str) -> Res<()> {
        let mut s = Scan::new(text);
        s.skip(0)?;
        s.finish()
    }

    #[test]
    fn agrees_with_serde_json_on_what_is_json() {
        let cases = [
            "0",
            "-0",
            "1.5",
            "-1.5e10",
            "1E+2",
            "1e-2",
            "01",
            "1.",
            ".5",
            "-",
            "1e",
            "1e+",
            "+1",
            "--1",
            "0x10",
            "1.5.2",
            r#""a""#,
            r#""\u00e9\n\t\"""#,
            r#""\ud83d\ude00""#,
            r#""\ud83d""#,
            r#""\ude00""#,
            r#""\x""#,
            r#""\u12""#,
            "\"a\u{1}\"",
            "\"open",
            "[]",
            "[1,]",
            "[,1]",
            "[1 2]",
            "{}",
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            r#"{1:2}"#,
            r#"{"a":[{"b":null}],"c":true}"#,
            "tru",
            "trUe",
            "nul",
            "falsey",
            "[1]]",
            " [ 1 , 2 ] ",
            "",
            "  ",
            "{\"a\":1}{",
            "[\"é\", \"日本\"]",
            "1 2",
            "[true,false,null]",
        ];
        for text in cases {
            let ours = check(text).is_ok();
            let theirs = serde_json::from_str::<serde_json::Value>(text).is_ok();
            assert_eq!(ours, theirs, "{text:?}");
        }
    }

    #[test]
    fn agrees_with_serde_json_on_random_text() {
        // Oracle: serde_json's verdict and decoded value on short random
        // texts over JSON's own alphabet (shallow, so its nesting limit of
        // 128 never decides).
        let pieces = [
            "{", "}", "[", "]", ",", ":", "\"", "\"a\"", "\\", "\\u00e9", "\\ud83d", "\\n", "0",
            "1", "-", ".", "5", "e", "E", "+", "true", "false", "null", "nul", " ", "\n", "é",
            "\u{1}", "01", "1.5", "\"k\":",
        ];
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let mut valid = 0;
        for _ in 0..60_000 {
            x = crate::mix::splitmix64(x);
            let len = (x % 9) as usize + 1;
            let text: String = (0..len)
                .map(|i| pieces[((x >> (i * 6)) % pieces.len() as u64) as usize])
                .collect();
            let theirs = serde_json::from_str::<serde_json::Value>(&text);
            assert_eq!(check(&text).is_ok(), theirs.is_ok(), "{text:?}");
            valid += usize::from(theirs.is_ok());
            if let Ok(serde_json::Value::String(want)) = theirs {
                let mut s = Scan::new(&text);
                s.peek().unwrap();
                assert_eq!(s.string().unwrap(), want, "{text:?}");
            }
        }
        // Enough valid documents for the agreement to mean something.
        assert!(valid > 2_000, "only {valid} valid texts");
    }

    #[test]
    fn strings_are_borrowed_unless_escaped() {
        for (text, want, borrowed) in [
            (r#""plain""#, "plain", true),
            (
                r#""héllo wörld, long enough for a word""#,
                "héllo wörld, long enough for a word",
                true,
            ),
            (r#""a\"b\u00e9\/""#, "a\"bé/", false),
            (
                r#""\ud83d\ude00 and more text after it""#,
                "😀 and more text after it",
                false,
            ),
        ] {
            let mut s = Scan::new(text);
            assert_eq!(s.peek(), Ok(Kind::String));
            let got = s.string().unwrap();
            assert_eq!(got, want);
            assert_eq!(matches!(got, Cow::Borrowed(_)), borrowed, "{text}");
            assert_eq!(s.finish(), Ok(()));
        }
    }

    #[test]
    fn a_stop_byte_anywhere_in_a_word_is_found() {
        // Each position of the first special byte, in and across 8-byte words.
        for at in 0..20 {
            for stop in ['"', '\\', '\u{1f}'] {
                let text = format!("\"{}{stop}x\"", "a".repeat(at));
                let got = Scan::new(&text).string();
                match stop {
                    '"' => assert_eq!(got.unwrap(), "a".repeat(at)),
                    '\\' => assert_eq!(got, Err(Fault::InvalidEscape)),
                    _ => assert_eq!(got, Err(Fault::ControlCharacter)),
                }
            }
        }
    }

    #[test]
    fn numbers_keep_their_digits() {
        let n = |t: &'static str| Scan::new(t).number().unwrap();
        assert_eq!(n("-12").to_i64(), Some(-12));
        assert_eq!(n("-9223372036854775808").to_i64(), Some(i64::MIN));
        assert_eq!(n("9223372036854775808").to_i64(), None);
        assert!(!n("123456789012345678901234").exact);
        assert_eq!((n("29.990").mantissa, n("29.990").scale), (29990, 3));
        assert!(!n("1.5").is_integer() && !n("1e2").is_integer() && n("-7").is_integer());
        for t in [
            "1.75",
            "0.1",
            "2.2250738585072014e-308",
            "123456789012345678",
            "-0.0",
            "1e22",
            "3.0",
        ] {
            assert_eq!(n(t).to_f64(), t.parse().ok(), "{t}");
        }
    }

    #[test]
    fn short_numbers_agree_with_the_full_reader() {
        let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut texts: Vec<String> = [
            "0",
            "-0",
            "7",
            "-12",
            "999999999999999999",
            "9999999999999999999",
            "0.5",
            "-0.0",
            "1.75",
            "123456789012345",
            "12345678901234.5",
            "1234567890123.456",
            "0.000000000000001",
            "1e5",
            "1.5e3",
            "01",
            "1.",
            "-",
            "00.5",
            "3.0",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        for _ in 0..20_000 {
            let int = next() % 10u64.pow((next() % 19) as u32 + 1);
            let frac = next() % 10u64.pow((next() % 12) as u32 + 1);
            let sign = if next() % 2 == 0 { "" } else { "-" };
            texts.push(format!("{sign}{int}"));
            texts.push(format!(
                "{sign}{int}.{frac:0width$}",
                width = (next() % 8) as usize + 1
            ));
        }
        for text in &texts {
            let mut fast = Scan::new(text);
            let Ok(Kind::Number) = fast.peek() else {
                continue;
            };
            let Some(short) = fast.short_number() else {
                continue;
            };
            let n = Scan::new(text).number().unwrap();
            assert_eq!(fast.pos(), text.len(), "{text}");
            match short {
                Short::Int(v) => {
                    assert_eq!(Some(v), n.to_i64().filter(|_| n.is_integer()), "{text}")
                }
                Short::Float(v) => {
                    assert!(!n.is_integer(), "{text}");
                    assert_eq!(
                        v.to_bits(),
                        text.parse::<f64>().unwrap().to_bits(),
                        "{text}"
                    );
                }
            }
        }
    }

    #[test]
    fn nesting_is_bounded_without_recursion() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(check(&ok), Ok(()));
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(check(&deep), Err(Fault::TooDeep));
        assert_eq!(check(&"{\"a\":".repeat(100_000)), Err(Fault::TooDeep));
    }

    #[test]
    fn positions_are_lines_and_characters() {
        let s = Scan::new("{\n  \"é\": x");
        assert_eq!(s.line_column(10), (2, 8));
    }
}
