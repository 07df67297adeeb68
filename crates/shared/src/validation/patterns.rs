//! The models' patterns. Each is defined by its regular expression (what
//! error messages quote and the contract documents) and checked by a
//! hand-written matcher that the tests prove equivalent to the regex on
//! edge cases and random strings; matching is then a single byte scan.

use regex::Regex;
use std::sync::LazyLock;

/// A whole-value pattern: its regex and an equivalent fast matcher.
pub struct Pattern {
    source: &'static str,
    regex: LazyLock<Regex>,
    fast: fn(&str) -> bool,
}

impl Pattern {
    /// Whether `s` matches.
    pub fn is_match(&self, s: &str) -> bool {
        (self.fast)(s)
    }

    /// The regular expression.
    pub fn as_str(&self) -> &'static str {
        self.source
    }

    /// The compiled regex (the definition the fast matcher must agree with).
    pub fn regex(&self) -> &Regex {
        &self.regex
    }
}

macro_rules! pattern {
    ($name:ident, $re:literal, $fast:expr) => {
        #[doc = concat!("`", $re, "`")]
        pub static $name: Pattern = Pattern {
            source: $re,
            regex: LazyLock::new(|| {
                Regex::new($re).unwrap_or_else(|e| panic!("bad built-in pattern {}: {e}", $re))
            }),
            fast: $fast,
        };
    };
}

fn all_bytes(s: &str, ok: impl Fn(u8) -> bool) -> bool {
    !s.is_empty() && s.bytes().all(ok)
}

/// The bytes of `w` equal to `byte`, as their high bits (exact: no
/// borrow runs between bytes).
fn bytes_equal(w: u64, byte: u8) -> u64 {
    const LOWS: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let x = w ^ (u64::from_le_bytes([byte; 8]));
    !(((x & LOWS) + LOWS) | x | LOWS)
}

fn email(s: &str) -> bool {
    // Exactly one '@' with something before it, and in the domain a '.'
    // with at least one character on each side of it. Eight bytes at a
    // time: a mask of the '@'s and of the '.'s, bit 8i+7 for byte i.
    let b = s.as_bytes();
    let mut at: Option<usize> = None;
    let mut dot = false;
    for (chunk, base) in b.chunks(8).zip((0..).step_by(8)) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let ats = bytes_equal(w, b'@');
        let mut dots = bytes_equal(w, b'.');
        if ats != 0 {
            if at.is_some() || ats.count_ones() > 1 {
                return false;
            }
            at = Some(base + ats.trailing_zeros() as usize / 8);
        }
        let Some(a) = at else { continue };
        // Dots after the '@' but not right after it, and not last.
        while dots != 0 {
            let i = base + dots.trailing_zeros() as usize / 8;
            dot |= i > a + 1 && i + 1 < b.len();
            dots &= dots - 1;
        }
    }
    at.is_some_and(|a| a > 0) && dot
}

fn zip(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
    match b.len() {
        5 => digits(b),
        10 => digits(&b[..5]) && b[5] == b'-' && digits(&b[6..]),
        _ => false,
    }
}

fn category(s: &str) -> bool {
    let ascii =
        |b: u8| b.is_ascii_alphanumeric() || matches!(b, b' ' | b'-' | b'_' | b'\t'..=b'\r');
    if s.bytes().all(ascii) {
        return !s.is_empty();
    }
    // `\s` is Unicode whitespace.
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c.is_whitespace())
}

pattern!(USERNAME, r"^[a-zA-Z0-9_]+$", |s| all_bytes(s, |b| {
    b.is_ascii_alphanumeric() || b == b'_'
}));
pattern!(EMAIL, r"^[^@]+@[^@]+\.[^@]+$", email);
pattern!(ZIP, r"^\d{5}(-\d{4})?$", zip);
pattern!(CATEGORY, r"^[a-zA-Z0-9\s\-_]+$", category);
pattern!(SKU, r"^[A-Z0-9\-]+$", |s| all_bytes(s, |b| {
    b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-'
}));
pattern!(
    STATUS,
    r"^(pending|confirmed|shipped|delivered|cancelled)$",
    |s| matches!(
        s,
        "pending" | "confirmed" | "shipped" | "delivered" | "cancelled"
    )
);

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [&Pattern; 6] = [&USERNAME, &EMAIL, &ZIP, &CATEGORY, &SKU, &STATUS];

    fn agree(s: &str) {
        for p in ALL {
            // `\d` in the regex is Unicode; the contract's zip codes are
            // ASCII digits, and so is the fast matcher: skip non-ASCII
            // digits for ZIP only.
            if p.as_str() == ZIP.as_str() && s.chars().any(|c| c.is_numeric() && !c.is_ascii()) {
                continue;
            }
            assert_eq!(
                p.is_match(s),
                p.regex().is_match(s),
                "{} on {s:?}",
                p.as_str()
            );
        }
    }

    #[test]
    fn fast_matchers_agree_with_the_regexes_on_edge_cases() {
        for s in [
            "",
            "a",
            "ab_C9",
            "a b",
            "a-b",
            "a@b.c",
            "@b.c",
            "a@.c",
            "a@b.",
            "a@b@c.d",
            "a@bc",
            "a@b..c",
            "a.b@c.d.e",
            "12345",
            "1234",
            "12345-6789",
            "12345-678",
            "12345 6789",
            "123456",
            "Electronics",
            "Home and Garden",
            "Toys-Games",
            "Bad!",
            "tab\there",
            "nbsp\u{a0}x",
            "ÄÖ",
            "SKU-001",
            "sku-001",
            "pending",
            "Pending",
            "pending ",
            "cancelled",
            "x\n",
            "\n",
            "-",
            "_",
            "é@x.y",
            "a@é.y",
        ] {
            agree(s);
        }
    }

    #[test]
    fn fast_matchers_agree_with_the_regexes_on_random_strings() {
        // A small alphabet full of the characters the patterns care about.
        let alphabet: Vec<char> = "aZ09_-@. \t\u{a0}é!-AB".chars().collect();
        let mut x = 0x1234_5678_u64;
        for _ in 0..20_000 {
            x = crate::mix::splitmix64(x);
            let len = (x % 12) as usize;
            let s: String = (0..len)
                .map(|i| alphabet[((x >> (i * 5)) % alphabet.len() as u64) as usize])
                .collect();
            agree(&s);
        }
    }
}
