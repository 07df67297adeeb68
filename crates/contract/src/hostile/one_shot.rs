//! The probes sent once each on a fresh connection: a malformed head,
//! ambiguous body framing, hostile paths and path parameters, and JSON
//! bodies no endpoint may accept.

use super::{json_path, Rule};
use crate::Contract;

/// A request the probe sends, as bytes.
pub(super) struct Probe {
    /// Short name of the probe.
    pub(super) name: String,
    /// The bytes written on the connection.
    pub(super) bytes: Vec<u8>,
    /// What the answer must be.
    pub(super) rule: Rule,
}

fn probe(name: impl Into<String>, bytes: impl Into<Vec<u8>>, rule: Rule) -> Probe {
    Probe {
        name: name.into(),
        bytes: bytes.into(),
        rule,
    }
}

/// A POST of `body` to `path` with the given content type.
fn post(path: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// `method target` with `Connection: close`, no body.
fn request(method: &str, target: &str) -> String {
    format!("{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
}

/// A POST to `path` whose framing is given as is: header lines (each
/// ending in CRLF) and the bytes after the head.
fn framed(path: &str, headers: &str, rest: &str) -> String {
    format!("POST {path} HTTP/1.1\r\nHost: x\r\n{headers}\r\n{rest}")
}

/// The requests sent once each on a fresh connection.
pub(super) fn one_shot_probes(contract: &Contract) -> Vec<Probe> {
    let json = json_path(contract);
    let mut probes = head_probes();
    probes.extend(framing_probes(&json));
    probes.extend(path_probes());
    probes.extend(json_body_probes(&json));
    probes.extend(path_param_probes(contract));
    probes
}

/// The request line and headers: malformed, unknown, oversized.
fn head_probes() -> Vec<Probe> {
    use Rule::*;
    let huge_value = "a".repeat(256 * 1024);
    let many: String = (0..500).map(|i| format!("X-H{i}: v\r\n")).collect();
    vec![
        probe("malformed request line", "HELLO WORLD\r\n\r\n", Refused),
        probe("request line only spaces", "   \r\n\r\n", Refused),
        probe(
            "binary garbage",
            b"\x00\x01\x02\xff\xfe\r\n\r\n".to_vec(),
            Refused,
        ),
        probe(
            "bad method token",
            "G(E)T /health HTTP/1.1\r\nHost: x\r\n\r\n",
            Refused,
        ),
        probe("unknown method", request("BREW", "/health"), Refused),
        probe(
            "unsupported version",
            "GET /health HTTP/9.9\r\nHost: x\r\n\r\n",
            BadVersion,
        ),
        probe(
            "huge header value",
            format!("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: {huge_value}\r\n\r\n"),
            Refused,
        ),
        probe(
            "500 headers",
            format!("GET /health HTTP/1.1\r\nHost: x\r\n{many}\r\n"),
            Refused,
        ),
        probe(
            "header without colon",
            "GET /health HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n",
            Refused,
        ),
    ]
}

/// Body framing to the JSON endpoint at `json`: ambiguous, contradictory
/// or malformed lengths and chunks.
fn framing_probes(json: &str) -> Vec<Probe> {
    use Rule::*;
    const CT: &str = "Content-Type: application/json\r\n";
    const CHUNKED: &str = "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n";
    vec![
        probe(
            "CL and TE together (smuggling)",
            framed(
                json,
                &format!("{CT}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n"),
                "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
            ),
            NoSmuggling,
        ),
        probe(
            "two different Content-Lengths",
            framed(
                json,
                &format!("{CT}Content-Length: 2\r\nContent-Length: 3\r\n"),
                "{}",
            ),
            Refused,
        ),
        probe(
            "non-numeric Content-Length",
            framed(json, "Content-Length: 1e3\r\n", "{}"),
            Refused,
        ),
        probe(
            "negative Content-Length",
            framed(json, "Content-Length: -1\r\n", "{}"),
            Refused,
        ),
        probe(
            "bad chunk size",
            framed(json, CHUNKED, "zz\r\n{}\r\n0\r\n\r\n"),
            Refused,
        ),
        probe(
            "chunk size overflow",
            framed(json, CHUNKED, "ffffffffffffffffff\r\n{}\r\n0\r\n\r\n"),
            Refused,
        ),
        probe(
            "unknown transfer coding",
            framed(
                json,
                &format!("{CT}Transfer-Encoding: gzip, chunked\r\n"),
                "2\r\n{}\r\n0\r\n\r\n",
            ),
            NoServerError,
        ),
    ]
}

/// Paths: NUL bytes, traversal, another host, excessive length.
fn path_probes() -> Vec<Probe> {
    use Rule::*;
    vec![
        probe("NUL in path", request("GET", "/he\0alth"), Refused),
        probe("encoded NUL in path", request("GET", "/%00"), Refused),
        probe("dot-dot traversal", request("GET", "/../../../../etc/passwd"), Refused),
        probe("encoded traversal", request("GET", "/%2e%2e/%2e%2e/etc/passwd"), Refused),
        probe(
            "absolute-form elsewhere",
            "GET http://example.com/etc/passwd HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n",
            Refused,
        ),
        probe(
            "very long path",
            request("GET", &format!("/{}", "a".repeat(60 * 1024))),
            Refused,
        ),
    ]
}

/// JSON bodies no endpoint may accept, and a body of the wrong type, to
/// the JSON endpoint at `json`.
fn json_body_probes(json: &str) -> Vec<Probe> {
    let depth = 100_000;
    let json_bodies: [(&str, Vec<u8>); 6] = [
        (
            "deeply nested array",
            format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes(),
        ),
        (
            "deeply nested object",
            format!("{}1{}", "{\"a\":".repeat(depth / 2), "}".repeat(depth / 2)).into_bytes(),
        ),
        (
            "invalid UTF-8 in JSON",
            b"{\"name\":\"\xff\xfe\xfd\"}".to_vec(),
        ),
        ("JSON with NUL bytes", b"{\"name\":\"a\0b\"}\0".to_vec()),
        (
            "huge number",
            format!("{{\"age\":1{}}}", "0".repeat(100_000)).into_bytes(),
        ),
        ("truncated JSON", b"{\"name\": \"ab".to_vec()),
    ];
    let mut probes: Vec<Probe> = json_bodies
        .into_iter()
        .map(|(name, body)| probe(name, post(json, "application/json", &body), Rule::Refused))
        .collect();
    probes.push(probe(
        "wrong content type",
        post(json, "text/plain", b"{}"),
        Rule::Refused,
    ));
    probes
}

/// Every path parameter of the contract's endpoints, attacked the same
/// ways: traversal, NUL, overflow, invalid UTF-8.
fn path_param_probes(contract: &Contract) -> Vec<Probe> {
    let mut probes = Vec::new();
    for e in contract.endpoints.iter().filter(|e| e.path.contains('{')) {
        for (what, value) in [
            ("traversal", "..%2F..%2F..%2Fetc%2Fpasswd"),
            ("NUL", "%00"),
            ("overflow", "99999999999999999999999999999999"),
            ("invalid UTF-8", "%FF%FE"),
        ] {
            let path = fill_params(&e.path, value);
            let bytes = if e.method == "GET" || e.method == "DELETE" {
                request(&e.method, &path).into_bytes()
            } else {
                post(&path, "application/json", b"{}")
            };
            let name = format!("{} {} ({what})", e.method, e.path);
            probes.push(probe(name, bytes, Rule::Refused));
        }
    }
    probes
}

/// `template` with every `{param}` replaced by `value`.
fn fill_params(template: &str, value: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        match rest[open..].find('}') {
            Some(close) => {
                out.push_str(value);
                rest = &rest[open + close + 1..];
            }
            None => {
                rest = &rest[open..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_filled() {
        assert_eq!(fill_params("/a/{id}/b/{x}", "v"), "/a/v/b/v");
        assert_eq!(fill_params("/plain", "v"), "/plain");
    }
}
