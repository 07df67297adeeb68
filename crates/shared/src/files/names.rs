//! Ids, client file names, categories and content types: what a client may
//! say about a file, made safe. No client string ever becomes a path.

use rand::Rng;

/// Longest id accepted in a URL.
pub const MAX_ID_LEN: usize = 64;

/// A fresh server-generated id: `f-` and 20 random hex digits.
pub fn new_id() -> String {
    let n: u128 = rand::rng().random();
    format!("f-{:020x}", n >> 48)
}

/// Whether `id` has the shape of an id (`[a-z0-9][a-z0-9-]*`, at most 64
/// bytes). Ids are only ever looked up in the index; this check just lets
/// obvious garbage (`../etc/passwd`) be refused without a lookup.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id.as_bytes()[0].is_ascii_alphanumeric()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The client's file name reduced to something safe to show and to put in a
/// `Content-Disposition`: the last path component, without control
/// characters or quotes, at most 200 characters; `upload.bin` when nothing
/// is left.
pub fn sanitize_filename(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | ';' | '\0'))
        .take(200)
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    if trimmed.is_empty() {
        "upload.bin".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// Whether `category` is a slug: 1–32 of `a-z`, `0-9`, `-`, `_`.
pub fn is_valid_category(category: &str) -> bool {
    (1..=32).contains(&category.len())
        && category
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// The declared content type when it is a plain `type/subtype` (parameters
/// dropped, lower-cased); `application/octet-stream` otherwise.
pub fn normalize_content_type(declared: Option<&str>) -> String {
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    declared
        .and_then(|d| d.split(';').next())
        .map(|d| d.trim().to_ascii_lowercase())
        .filter(|d| d.split_once('/').is_some_and(|(t, s)| token(t) && token(s)))
        .unwrap_or_else(|| "application/octet-stream".to_owned())
}

/// A `Content-Disposition` value naming `filename`: an ASCII fallback and
/// the exact UTF-8 name (RFC 6266 / RFC 8187).
pub fn content_disposition(kind: &str, filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| if c.is_ascii() && c != '\\' { c } else { '_' })
        .collect();
    let mut encoded = String::new();
    for b in filename.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        let id = new_id();
        assert!(is_valid_id(&id), "{id}");
        assert_eq!(id.len(), 22);
        assert_ne!(new_id(), id);
        for bad in [
            "",
            "../etc/passwd",
            "..",
            "a/b",
            "A",
            "-x",
            "a%2F",
            &"a".repeat(65),
        ] {
            assert!(!is_valid_id(bad), "{bad}");
        }
        assert!(is_valid_id("test-file-1"));
    }

    #[test]
    fn filenames_lose_their_paths_and_tricks() {
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_filename("C:\\x\\report.pdf"), "report.pdf");
        assert_eq!(sanitize_filename("a\"b;\nc.txt"), "abc.txt");
        assert_eq!(sanitize_filename("..."), "upload.bin");
        assert_eq!(sanitize_filename(".hidden"), "hidden");
        assert_eq!(sanitize_filename("é.txt"), "é.txt");
        assert_eq!(sanitize_filename(&"x".repeat(500)).len(), 200);
    }

    #[test]
    fn categories_and_types() {
        assert!(is_valid_category("documents"));
        assert!(!is_valid_category("Docs"));
        assert!(!is_valid_category(""));
        assert!(!is_valid_category("../x"));
        assert_eq!(
            normalize_content_type(Some("Text/Plain; charset=utf-8")),
            "text/plain"
        );
        assert_eq!(
            normalize_content_type(Some("nonsense")),
            "application/octet-stream"
        );
        assert_eq!(
            normalize_content_type(Some("a/b\r\nX: y")),
            "application/octet-stream"
        );
        assert_eq!(normalize_content_type(None), "application/octet-stream");
    }

    #[test]
    fn dispositions_quote_safely() {
        assert_eq!(
            content_disposition("attachment", "é a.txt"),
            "attachment; filename=\"_ a.txt\"; filename*=UTF-8''%C3%A9%20a.txt"
        );
    }
}
