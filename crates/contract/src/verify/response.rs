//! Pure checks of one answer against an [`Expect`]: status, the headers
//! every response needs, the body (exact, CSV, bytes), JSON values and the
//! error shape. No I/O: an [`Exchange`] is what the session received.

use super::failure::{joined, Failure};
use crate::jsonpath::lookup;
use crate::model::{BodyBytes, CsvExpect, Expect};
use crate::prepare::{sha256_hex, substitute, substitute_str, Vars};
use bytes::Bytes;
use reqwest::header::{HeaderMap, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use serde_json::Value;

/// An answer as received.
pub(super) struct Exchange {
    /// Its status code.
    pub(super) status: u16,
    /// Its headers.
    pub(super) headers: HeaderMap,
    /// Its whole body.
    pub(super) body: Bytes,
    /// From sending the request to the end of the body.
    pub(super) elapsed: std::time::Duration,
}

/// A body's first 200 bytes, newlines escaped, for a failure's text.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    text.replace('\n', "\\n")
}

/// Checks status, the headers every response needs, and `expect`.
pub(super) fn check_response(
    expect: &Expect,
    ex: &Exchange,
    request: &Value,
    vars: &Vars,
    error_case: bool,
) -> Result<Option<Value>, Failure> {
    let mut f = Vec::new();
    if ex.status != expect.status {
        f.push(format!(
            "status {} (expected {}), body: {}",
            ex.status,
            expect.status,
            excerpt(&ex.body)
        ));
    }
    if let Some(min) = expect.min_duration_ms {
        if ex.elapsed.as_millis() < u128::from(min) {
            f.push(format!(
                "answered in {} ms, sooner than the {min} ms it must take",
                ex.elapsed.as_millis()
            ));
        }
    }
    // 204 and 304 have no body (RFC 9110): no type, and no length needed.
    // Nor does an empty body have a type (a CORS preflight's 200).
    let bodiless = matches!(ex.status, 204 | 304);
    let needed: &[&str] = if bodiless || ex.body.is_empty() {
        &["server", "date"]
    } else {
        &["server", "date", "content-type"]
    };
    for name in needed {
        if !ex.headers.contains_key(*name) {
            f.push(format!("no {name} header"));
        }
    }
    let header = |name| ex.headers.get(name).and_then(|v| v.to_str().ok());
    let chunked =
        header(TRANSFER_ENCODING).is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    if !bodiless && !chunked && !ex.headers.contains_key(CONTENT_LENGTH) {
        f.push("neither Content-Length nor chunked Transfer-Encoding".into());
    }
    let want_type = expect
        .content_type
        .as_deref()
        .or(error_case.then_some("application/json"));
    if let Some(want) = want_type {
        let got = header(CONTENT_TYPE).unwrap_or("");
        if !got.eq_ignore_ascii_case(want) {
            f.push(format!("Content-Type {got:?} (expected {want:?})"));
        }
    }
    if let Some(want) = expect.chunked {
        if want != chunked {
            f.push(format!("chunked is {chunked} (expected {want})"));
        }
    }
    for (name, want) in &expect.headers {
        // A header sent on several lines is one comma-separated list
        // (RFC 9110 §5.3): `Vary` from both CORS and compression.
        let lines: Vec<&str> = ex
            .headers
            .get_all(name.as_str())
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let joined_lines = lines.join(", ");
        let got = (!lines.is_empty()).then_some(joined_lines.as_str());
        if want == "*" {
            if got.is_none() {
                f.push(format!("no {name} header"));
            }
            continue;
        }
        let want = match substitute_str(want, vars) {
            Value::String(s) => s,
            other => other.to_string(),
        };
        let want = &want;
        let tokens = |s: &str| -> Vec<String> {
            s.split(',')
                .map(|t| t.trim().to_ascii_lowercase())
                .collect()
        };
        let have = got.map(tokens).unwrap_or_default();
        if !tokens(want).iter().all(|t| have.contains(t)) {
            f.push(format!("header {name}: {got:?} (must list {want:?})"));
        }
    }
    for (name, pattern) in &expect.header_patterns {
        let got = ex.headers.get(name.as_str()).and_then(|v| v.to_str().ok());
        match regex::Regex::new(&format!("^(?:{pattern})$")) {
            Err(e) => f.push(format!("header {name}: bad pattern {pattern:?}: {e}")),
            Ok(re) if !got.is_some_and(|v| re.is_match(v)) => {
                f.push(format!("header {name}: {got:?} (must match {pattern:?})"));
            }
            Ok(_) => {}
        }
    }
    for name in &expect.headers_absent {
        if let Some(v) = ex.headers.get(name.as_str()) {
            f.push(format!("header {name}: {v:?} (must be absent)"));
        }
    }
    // A gzip-encoded answer is read as the client would: inflated.
    let body = match decoded(ex) {
        Ok(body) => body,
        Err(e) => {
            f.push(e);
            ex.body.clone()
        }
    };
    if let Some(want) = &expect.body {
        if body.as_ref() != want.as_bytes() {
            f.push(format!("body {:?} (expected {want:?})", excerpt(&body)));
        }
    }
    if let Some(csv) = &expect.csv {
        check_csv(csv, &ex.body, request, &mut f);
    }
    if let Some(b) = &expect.body_bytes {
        check_body_bytes(b, &ex.body, request, vars, &mut f);
    }
    if !expect.html_table.is_empty() {
        check_html_table(&expect.html_table, &ex.body, &mut f);
    }
    for text in &expect.body_excludes {
        if memchr::memmem::find(&ex.body, text.as_bytes()).is_some() {
            f.push(format!("body contains {text:?}"));
        }
    }
    let needs_json = !expect.json.is_empty() || error_case || expect.error.is_some();
    let doc: Option<Value> = serde_json::from_slice(&body).ok();
    match (&doc, needs_json) {
        (None, true) => f.push(format!("body is not JSON: {}", excerpt(&body))),
        (Some(doc), _) => {
            for (path, m) in &expect.json {
                if let Err(e) = m.check(lookup(doc, path), request, &|v| substitute(v, vars)) {
                    let at = if path.is_empty() { "(root)" } else { path };
                    f.push(format!("{at}: {e}"));
                }
            }
            if error_case {
                check_error_shape(expect, doc, &mut f);
            }
        }
        (None, false) => {}
    }
    joined(f).map(|()| doc)
}

/// Errors are `{"error": code, "message": text, "details": [...]}`.
fn check_error_shape(expect: &Expect, doc: &Value, f: &mut Vec<String>) {
    let code = doc.get("error").and_then(Value::as_str);
    if code.is_none() {
        f.push("error body has no string `error`".into());
    }
    if !doc.get("message").is_some_and(Value::is_string) {
        f.push("error body has no string `message`".into());
    }
    let details = doc.get("details").and_then(Value::as_array);
    if details.is_none() {
        f.push("error body has no array `details`".into());
    }
    if let Some(want) = &expect.error {
        if code != Some(want.as_str()) {
            f.push(format!("error code {code:?} (expected {want:?})"));
        }
    }
    let fields: Vec<&str> = details
        .into_iter()
        .flatten()
        .filter_map(|d| d.get("field").and_then(Value::as_str))
        .collect();
    for want in &expect.detail_fields {
        if !fields.iter().any(|named| names_field(named, want)) {
            f.push(format!("details do not name `{want}` (named: {fields:?})"));
        }
    }
}

/// Whether a detail naming `named` names the field `want`: the field itself
/// or a value inside it (`tags[1]` and `address.city` are inside `tags` and
/// `address`), so a framework that reports the exact item is not wrong.
fn names_field(named: &str, want: &str) -> bool {
    named
        .strip_prefix(want)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['[', '.']))
}

/// Largest gunzipped body the verifier inflates.
const MAX_GUNZIP: u64 = 1 << 30;

/// The body as the client reads it: inflated when `Content-Encoding` says
/// gzip, as is otherwise; why not when it does not inflate.
fn decoded(ex: &Exchange) -> Result<Bytes, String> {
    use std::io::Read;
    let gzip = ex
        .headers
        .get(reqwest::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
    if !gzip {
        return Ok(ex.body.clone());
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(ex.body.as_ref())
        .take(MAX_GUNZIP)
        .read_to_end(&mut out)
        .map_err(|e| format!("Content-Encoding: gzip, but the body does not inflate: {e}"))?;
    Ok(Bytes::from(out))
}

/// Checks the body's bytes (gunzipped first when asked): length, digest,
/// and the generated byte pattern.
fn check_body_bytes(b: &BodyBytes, body: &[u8], request: &Value, vars: &Vars, f: &mut Vec<String>) {
    use std::io::Read;
    let inflated;
    let data: &[u8] = if b.gunzip {
        let mut out = Vec::new();
        let read = flate2::read::GzDecoder::new(body)
            .take(MAX_GUNZIP)
            .read_to_end(&mut out);
        if let Err(e) = read {
            f.push(format!("body is not gzip: {e}"));
            return;
        }
        inflated = out;
        &inflated
    } else {
        body
    };
    let facts = serde_json::json!({
        "length": data.len(),
        "sha256": sha256_hex(data),
    });
    for (name, m) in [("length", &b.length), ("sha256", &b.sha256)] {
        if let Some(m) = m {
            if let Err(e) = m.check(facts.get(name), request, &|v| substitute(v, vars)) {
                f.push(format!("body {name}: {e}"));
            }
        }
    }
    if let Some([start, end]) = b.generated {
        let want = end.saturating_sub(start) + 1;
        if data.len() as u64 != want {
            f.push(format!(
                "body has {} bytes (expected {want}: generated bytes {start}..={end})",
                data.len()
            ));
        } else if let Some(at) =
            (0..data.len()).find(|&i| u64::from(data[i]) != (start + i as u64) % 251)
        {
            f.push(format!(
                "body differs from the generated bytes at offset {}",
                start + at as u64
            ));
        }
    }
}

/// Checks an HTML table row by row, naming the first rows that differ.
fn check_html_table(want: &[Vec<String>], body: &[u8], f: &mut Vec<String>) {
    let Ok(text) = std::str::from_utf8(body) else {
        f.push("HTML body is not UTF-8".into());
        return;
    };
    let got = crate::html::table_rows(text);
    if got.len() != want.len() {
        f.push(format!(
            "{} table rows (expected {})",
            got.len(),
            want.len()
        ));
    }
    let differing: Vec<String> = want
        .iter()
        .zip(&got)
        .enumerate()
        .filter(|(_, (w, g))| w != g)
        .take(3)
        .map(|(i, (w, g))| format!("row {i}: {g:?} (expected {w:?})"))
        .collect();
    f.extend(differing);
}

/// Checks a CSV body: header, as many rows as the request asked for,
/// every row as wide as the header.
fn check_csv(csv: &CsvExpect, body: &[u8], request: &Value, f: &mut Vec<String>) {
    let Ok(text) = std::str::from_utf8(body) else {
        f.push("CSV body is not UTF-8".into());
        return;
    };
    let mut lines = text.lines();
    if lines.next() != Some(csv.header.as_str()) {
        f.push(format!("CSV header is not {:?}", csv.header));
    }
    let columns = csv.header.split(',').count();
    let rows: Vec<&str> = lines.collect();
    match lookup(request, &csv.rows_from_request).and_then(Value::as_u64) {
        Some(n) if rows.len() as u64 != n => {
            f.push(format!("{} CSV rows (expected {n})", rows.len()))
        }
        None => f.push(format!(
            "the request has no number at `{}`",
            csv.rows_from_request
        )),
        _ => {}
    }
    if let Some(bad) = rows.iter().position(|r| r.split(',').count() != columns) {
        f.push(format!(
            "CSV row {} does not have {columns} columns",
            bad + 1
        ));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn a_detail_inside_a_field_names_it() {
        assert!(names_field("tags", "tags"));
        assert!(names_field("tags[1]", "tags"));
        assert!(names_field("address.city", "address"));
        assert!(!names_field("tagsx", "tags"));
        assert!(!names_field("tag", "tags"));
        assert!(!names_field("email", "personal_info.email"));
    }

    fn exchange(body: &[u8], headers: &[(&'static str, &str)]) -> Exchange {
        let mut map = HeaderMap::new();
        for (k, v) in [
            ("server", "x"),
            ("date", "x"),
            ("content-type", "application/octet-stream"),
        ]
        .iter()
        .chain(headers)
        {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        map.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        Exchange {
            status: 200,
            headers: map,
            body: Bytes::copy_from_slice(body),
            elapsed: std::time::Duration::ZERO,
        }
    }

    fn expect(body_bytes: BodyBytes, headers: &[(&str, &str)]) -> Expect {
        Expect {
            status: 200,
            body_bytes: Some(body_bytes),
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Expect::default()
        }
    }

    fn run(e: &Expect, ex: &Exchange, vars: &Vars) -> Result<(), String> {
        check_response(e, ex, &Value::Null, vars, false)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn sha(s: &str) -> crate::Matcher {
        serde_json::from_value(serde_json::json!({ "equals": s })).unwrap()
    }

    #[test]
    fn header_patterns_and_absent_headers() {
        let mut e = expect(BodyBytes::default(), &[]);
        e.body_bytes = None;
        e.header_patterns
            .insert("x-request-id".into(), "[a-z0-9-]{36}".into());
        e.headers_absent.push("content-encoding".into());
        let id = "123e4567-e89b-42d3-a456-426614174000";
        assert!(run(&e, &exchange(b"", &[("x-request-id", id)]), &Vars::new()).is_ok());
        // The whole value must match, not a part of it.
        let long = format!("{id}x");
        let err = run(&e, &exchange(b"", &[("x-request-id", &long)]), &Vars::new()).unwrap_err();
        assert!(err.contains("must match"), "{err}");
        let err = run(&e, &exchange(b"", &[]), &Vars::new()).unwrap_err();
        assert!(err.contains("x-request-id: None"), "{err}");
        let gz = [("x-request-id", id), ("content-encoding", "gzip")];
        let err = run(&e, &exchange(b"", &gz), &Vars::new()).unwrap_err();
        assert!(err.contains("must be absent"), "{err}");
    }

    #[test]
    fn a_204_needs_no_type_or_length() {
        let mut headers = HeaderMap::new();
        headers.insert("server", HeaderValue::from_static("x"));
        headers.insert("date", HeaderValue::from_static("x"));
        let ex = |status| Exchange {
            status,
            headers: headers.clone(),
            body: Bytes::new(),
            elapsed: std::time::Duration::ZERO,
        };
        let mut e = expect(BodyBytes::default(), &[]);
        e.body_bytes = None;
        e.status = 204;
        assert!(run(&e, &ex(204), &Vars::new()).is_ok());
        // Any other status still needs a length (an empty body no type).
        e.status = 200;
        let err = run(&e, &ex(200), &Vars::new()).unwrap_err();
        assert!(
            !err.contains("no content-type") && err.contains("Content-Length"),
            "{err}"
        );
    }

    #[test]
    fn gzip_answers_are_read_inflated() {
        use std::io::Write;
        let mut e = expect(BodyBytes::default(), &[]);
        e.body_bytes = None;
        e.json.insert(
            "stack".into(),
            serde_json::from_value(serde_json::json!({"equals": "heavy"})).unwrap(),
        );
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(br#"{"stack":"heavy"}"#).unwrap();
        let packed = gz.finish().unwrap();
        let enc = [("content-encoding", "gzip")];
        assert!(run(&e, &exchange(&packed, &enc), &Vars::new()).is_ok());
        // Said to be gzip but is not: a clear failure, not a panic.
        let err = run(&e, &exchange(br#"{"stack":"heavy"}"#, &enc), &Vars::new()).unwrap_err();
        assert!(err.contains("does not inflate"), "{err}");
        // Gzip bytes without the header are not JSON.
        assert!(run(&e, &exchange(&packed, &[]), &Vars::new()).is_err());
    }

    #[test]
    fn body_bytes_are_checked_exactly() {
        let data: Vec<u8> = (10..2010u64).map(|i| (i % 251) as u8).collect();
        let digest = crate::prepare::sha256_hex(&data);
        let good = expect(
            BodyBytes {
                generated: Some([10, 2009]),
                sha256: Some(sha(&digest)),
                ..BodyBytes::default()
            },
            &[],
        );
        assert!(run(&good, &exchange(&data, &[]), &Vars::new()).is_ok());
        let mut flipped = data.clone();
        flipped[500] ^= 1;
        let err = run(&good, &exchange(&flipped, &[]), &Vars::new()).unwrap_err();
        assert!(
            err.contains("offset 510") && err.contains("body sha256"),
            "{err}"
        );
        let err = run(&good, &exchange(&data[1..], &[]), &Vars::new()).unwrap_err();
        assert!(err.contains("1999 bytes"), "{err}");

        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &data).unwrap();
        let gz = gz.finish().unwrap();
        let mut vars = Vars::new();
        vars.insert("sha".into(), Value::String(digest));
        let gunzip = expect(
            BodyBytes {
                gunzip: true,
                sha256: Some(sha("${sha}")),
                ..BodyBytes::default()
            },
            &[],
        );
        assert!(run(&gunzip, &exchange(&gz, &[]), &vars).is_ok());
        let err = run(&gunzip, &exchange(&data, &[]), &vars).unwrap_err();
        assert!(err.contains("not gzip"), "{err}");
    }

    #[test]
    fn headers_can_be_required_or_substituted() {
        let mut vars = Vars::new();
        vars.insert("tag".into(), Value::String("\"abc\"".into()));
        let e = expect(
            BodyBytes::default(),
            &[("etag", "${tag}"), ("x-chunk-size", "*")],
        );
        let ok = exchange(b"", &[("etag", "\"abc\""), ("x-chunk-size", "1024")]);
        assert!(run(&e, &ok, &vars).is_ok());
        let err = run(&e, &exchange(b"", &[("etag", "\"abd\"")]), &vars).unwrap_err();
        assert!(
            err.contains("header etag") && err.contains("no x-chunk-size header"),
            "{err}"
        );
    }

    #[test]
    fn a_header_on_several_lines_is_one_list() {
        let e = expect(BodyBytes::default(), &[("vary", "accept-encoding, origin")]);
        let mut two = exchange(b"x", &[("vary", "origin")]);
        two.headers
            .append("vary", HeaderValue::from_static("accept-encoding"));
        assert!(run(&e, &two, &Vars::new()).is_ok());
        let one = exchange(b"x", &[("vary", "origin")]);
        let err = run(&e, &one, &Vars::new()).unwrap_err();
        assert!(err.contains("header vary"), "{err}");
    }

    #[test]
    fn an_empty_body_needs_no_content_type() {
        let e = expect(BodyBytes::default(), &[]);
        let mut empty = exchange(b"", &[]);
        empty.headers.remove(CONTENT_TYPE);
        assert!(run(&e, &empty, &Vars::new()).is_ok());
        let mut full = exchange(b"x", &[]);
        full.headers.remove(CONTENT_TYPE);
        let err = run(&e, &full, &Vars::new()).unwrap_err();
        assert!(err.contains("no content-type header"), "{err}");
    }
}
