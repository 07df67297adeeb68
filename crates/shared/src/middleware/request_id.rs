//! Request ids: a client's `X-Request-ID` is kept when it is 1 to 64 of
//! `[A-Za-z0-9._-]` (nothing that could forge a log line or a header),
//! else the server makes a UUID v4.

/// The longest id kept.
pub const MAX_LEN: usize = 64;

/// Whether a client's id is kept.
pub fn is_valid(id: &str) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A new id: a random UUID v4, lowercase and hyphenated.
pub fn generate() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The id of a request whose `X-Request-ID` is `given`, and whether it
/// was kept.
pub fn resolve(given: Option<&str>) -> (String, bool) {
    match given {
        Some(id) if is_valid(id) => (id.to_owned(), true),
        _ => (generate(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_ids_are_kept_and_others_replaced() {
        assert_eq!(
            resolve(Some("client-req.42_A")),
            ("client-req.42_A".into(), true)
        );
        assert!(is_valid(&"a".repeat(64)));
        for bad in ["", "bad id", "a\r\nx: y", "é", &"a".repeat(65)] {
            let (id, kept) = resolve(Some(bad));
            assert!(!kept, "{bad:?}");
            assert_eq!(id.len(), 36);
            assert_eq!(&id[14..15], "4", "{id}");
        }
        assert!(!resolve(None).1);
        assert_ne!(generate(), generate());
    }
}
