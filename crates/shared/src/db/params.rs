//! Query parameters of the database endpoints, read as TechEmpower's rules
//! say.

/// Most rows one request reads (`queries`, `count`).
pub const MAX_QUERIES: u16 = 500;

/// The row count asked for: missing, not an integer or below 1 → 1, above
/// 500 → 500 (an integer too large for any type is above 500).
pub fn row_count(raw: Option<&str>) -> u16 {
    let Some(raw) = raw else { return 1 };
    let digits = raw.strip_prefix('+').unwrap_or(raw);
    // A sign left ("-3": below 1) or anything else but digits: 1.
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return 1;
    }
    match digits.parse::<u64>() {
        Ok(0) => 1,
        Ok(n) => n.min(u64::from(MAX_QUERIES)) as u16,
        Err(_) => MAX_QUERIES,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_the_published_rules() {
        // TechEmpower's verifier: 2, 0, foo, 501, "" → 2, 1, 1, 500, 1.
        for (raw, want) in [
            (Some("2"), 2),
            (Some("0"), 1),
            (Some("foo"), 1),
            (Some("501"), 500),
            (Some(""), 1),
            (None, 1),
            (Some("-3"), 1),
            (Some("500"), 500),
            (Some("1"), 1),
            (Some("99999999999999999999999"), 500),
            (Some("2.5"), 1),
            (Some(" 7"), 1),
        ] {
            assert_eq!(row_count(raw), want, "{raw:?}");
        }
    }
}
