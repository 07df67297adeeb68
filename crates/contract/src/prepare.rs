//! Turning a request spec into concrete bytes: captured variables are
//! substituted, marked values randomized, the path filled and the query and
//! body encoded.

use crate::jsonpath;
use crate::model::RequestSpec;
use rand::Rng;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Values captured by earlier flow steps.
pub type Vars = BTreeMap<String, Value>;

/// A request ready to send.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// HTTP method.
    pub method: String,
    /// Path and query, e.g. `/users?limit=20`.
    pub target: String,
    /// Request headers, including `Content-Type` when there is a body.
    pub headers: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<Vec<u8>>,
    /// Bytes to write as is on a fresh connection, for protocol cases.
    pub raw: Option<Vec<u8>>,
    /// What was sent, for `from_request` references:
    /// `{"path": {...}, "query": {...}, "json": ...}`.
    pub values: Value,
    /// The `unique` tokens in the request, which load scripts renew on
    /// every send.
    pub unique: Vec<String>,
}

impl Prepared {
    /// The same request with every `unique` token replaced by a fresh one of
    /// the same length, as load scripts renew them, so that it can be sent
    /// again without colliding with what it created before.
    pub fn renewed(&self, rng: &mut impl Rng) -> Prepared {
        let mut out = self.clone();
        for old in &self.unique {
            let new = crate::random::token(rng);
            out.target = out.target.replace(old.as_str(), &new);
            for (_, v) in &mut out.headers {
                *v = v.replace(old.as_str(), &new);
            }
            if let Some(body) = &mut out.body {
                *body = replace_bytes(body, old.as_bytes(), new.as_bytes());
            }
            let values = out.values.to_string().replace(old.as_str(), &new);
            out.values = serde_json::from_str(&values).unwrap_or(Value::Null);
            out.unique = out
                .unique
                .iter()
                .map(|u| if u == old { new.clone() } else { u.clone() })
                .collect();
        }
        out
    }
}

/// `haystack` with every `from` replaced by `to`.
fn replace_bytes(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(at) = memchr::memmem::find(rest, from) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(to);
        rest = &rest[at + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// The `{name}` parameters of a path template.
pub(crate) fn template_params(template: &str) -> impl Iterator<Item = &str> {
    template
        .split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(name, _)| name))
}

/// Replaces `${var}` in strings: a string that is exactly `${var}` becomes the
/// captured value itself (keeping its type); elsewhere its text is inserted.
pub(crate) fn substitute(value: &Value, vars: &Vars) -> Value {
    match value {
        Value::String(s) => substitute_str(s, vars),
        Value::Array(a) => Value::Array(a.iter().map(|v| substitute(v, vars)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), substitute(v, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

pub(crate) fn substitute_str(s: &str, vars: &Vars) -> Value {
    if let Some(name) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
        if let Some(v) = vars.get(name) {
            return v.clone();
        }
    }
    let mut out = s.to_owned();
    for (name, v) in vars {
        let text = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        out = out.replace(&format!("${{{name}}}"), &text);
    }
    Value::String(out)
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Lower-case hex sha256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    use std::fmt::Write;
    sha2::Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// What a multipart body sent, for `from_request` references:
/// `multipart.<name>` is `{"filename", "length", "sha256"}` for a file part
/// and the text for a field; a repeated name gives an array.
fn multipart_values(parts: &[crate::model::Part], contents: &[Vec<u8>]) -> Value {
    let mut grouped: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for (p, content) in parts.iter().zip(contents) {
        let v = match &p.filename {
            Some(f) => serde_json::json!({
                "filename": f,
                "length": content.len(),
                "sha256": sha256_hex(content),
            }),
            None => Value::String(String::from_utf8_lossy(content).into_owned()),
        };
        grouped.entry(&p.name).or_default().push(v);
    }
    Value::Object(
        grouped
            .into_iter()
            .map(|(name, mut values)| {
                let v = if values.len() == 1 {
                    values.remove(0)
                } else {
                    Value::Array(values)
                };
                (name.to_owned(), v)
            })
            .collect(),
    )
}

/// A `multipart/form-data` body with this boundary.
pub(crate) fn multipart(
    boundary: &str,
    parts: &[crate::model::Part],
    contents: &[Vec<u8>],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(contents.iter().map(Vec::len).sum::<usize>() + 256);
    for (p, content) in parts.iter().zip(contents) {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", p.name);
        if let Some(f) = &p.filename {
            disposition.push_str(&format!("; filename=\"{f}\""));
        }
        out.extend_from_slice(disposition.as_bytes());
        out.extend_from_slice(b"\r\n");
        let ct = p
            .content_type
            .as_deref()
            .or(p.filename.as_ref().map(|_| "application/octet-stream"));
        if let Some(ct) = ct {
            out.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(content);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

/// Builds the request for `method template` from `spec`.
pub fn prepare(
    method: &str,
    template: &str,
    spec: &RequestSpec,
    vars: &Vars,
    rng: &mut impl Rng,
) -> Result<Prepared, String> {
    let object = |m: &BTreeMap<String, Value>| {
        Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Map<_, _>>(),
        )
    };
    let fixture_json = spec
        .fixture_body
        .as_ref()
        .and_then(|b| serde_json::from_slice::<Value>(b).ok());
    let mut values = serde_json::json!({
        "path": object(&spec.path_params),
        "query": object(&spec.query),
        "json": spec.json.clone().or(fixture_json).unwrap_or(Value::Null),
    });
    values = substitute(&values, vars);
    let mut unique = Vec::new();
    for (reference, random) in &spec.randomize {
        let value = if random.kind == crate::model::RandomKind::Unique {
            let (value, token) = crate::random::unique(random, rng);
            unique.push(token);
            value
        } else {
            crate::random::value(random, rng)
        };
        jsonpath::set(&mut values, reference, value)?;
    }

    let mut target = String::new();
    let mut rest = substitute_str(template, vars)
        .as_str()
        .unwrap_or(template)
        .to_owned();
    while let Some(start) = rest.find('{') {
        let end = rest[start..]
            .find('}')
            .ok_or_else(|| format!("unclosed `{{` in {template}"))?
            + start;
        let name = &rest[start + 1..end];
        let v = values["path"]
            .get(name)
            .ok_or_else(|| format!("no value for `{{{name}}}` in {template}"))?;
        target.push_str(&rest[..start]);
        target.extend(form_urlencoded::byte_serialize(as_text(v).as_bytes()));
        rest = rest[end + 1..].to_owned();
    }
    target.push_str(&rest);
    if let Some(q) = values["query"].as_object().filter(|q| !q.is_empty()) {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        // A null (a `choice` of nothing) leaves the parameter out.
        for (k, v) in q.iter().filter(|(_, v)| !v.is_null()) {
            ser.append_pair(k, &as_text(v));
        }
        target.push(if target.contains('?') { '&' } else { '?' });
        target.push_str(&ser.finish());
    }

    let mut headers: Vec<(String, String)> = spec
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), as_text(&substitute_str(v, vars))))
        .collect();
    let mut content_type = spec.content_type.clone();
    let body = if !spec.multipart.is_empty() {
        let boundary = format!("feature-bench-{:016x}", rng.random::<u64>());
        content_type = Some(format!("multipart/form-data; boundary={boundary}"));
        let contents: Vec<Vec<u8>> = spec.multipart.iter().map(|p| p.content()).collect();
        values["multipart"] = multipart_values(&spec.multipart, &contents);
        Some(multipart(&boundary, &spec.multipart, &contents))
    } else if let Some(g) = &spec.generated_body {
        content_type.get_or_insert_with(|| "application/json".into());
        let pad = g.bytes.saturating_sub(r#"{"padding":""}"#.len());
        Some(format!(r#"{{"padding":"{}"}}"#, "x".repeat(pad)).into_bytes())
    } else if let Some(bytes) = &spec.fixture_body {
        content_type.get_or_insert_with(|| "application/json".into());
        Some(bytes.as_ref().clone())
    } else if spec.json.is_some() {
        content_type.get_or_insert_with(|| "application/json".into());
        Some(serde_json::to_vec(&values["json"]).map_err(|e| e.to_string())?)
    } else {
        spec.body.as_ref().map(|b| b.clone().into_bytes())
    };
    if let Some(ct) = content_type {
        headers.push(("content-type".into(), ct));
    }
    Ok(Prepared {
        method: method.to_owned(),
        target,
        headers,
        body,
        raw: spec.raw.as_ref().map(|r| r.clone().into_bytes()),
        values,
        unique,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RandomKind, RandomSpec};
    use serde_json::json;

    #[test]
    fn fills_path_query_and_body() {
        let spec: RequestSpec = serde_json::from_value(json!({
            "path_params": {"id": 42},
            "query": {"limit": 20, "q": "a b"},
            "json": {"name": "${who}"}
        }))
        .unwrap();
        let vars = Vars::from([("who".to_owned(), json!("zed"))]);
        let p = prepare("POST", "/user/{id}/x", &spec, &vars, &mut rand::rng()).unwrap();
        assert_eq!(p.target, "/user/42/x?limit=20&q=a+b");
        assert_eq!(p.body.unwrap(), br#"{"name":"zed"}"#);
        assert_eq!(
            p.headers,
            [("content-type".to_owned(), "application/json".to_owned())]
        );
    }

    #[test]
    fn randomizes_marked_values() {
        let mut spec: RequestSpec =
            serde_json::from_value(json!({"path_params": {"id": 1}, "json": {"m": "x"}})).unwrap();
        spec.randomize.insert(
            "path.id".into(),
            RandomSpec {
                kind: RandomKind::Integer,
                min: Some(100),
                max: Some(999),
                values: Vec::new(),
                format: None,
            },
        );
        spec.randomize.insert(
            "json.m".into(),
            RandomSpec {
                kind: RandomKind::String,
                min: Some(30),
                max: Some(30),
                values: Vec::new(),
                format: None,
            },
        );
        let p = prepare("GET", "/u/{id}", &spec, &Vars::new(), &mut rand::rng()).unwrap();
        let id = p.values["path"]["id"].as_i64().unwrap();
        assert!((100..=999).contains(&id));
        assert_eq!(p.target, format!("/u/{id}"));
        assert_eq!(p.values["json"]["m"].as_str().unwrap().len(), 30);
    }

    #[test]
    fn renewed_requests_carry_fresh_tokens_everywhere() {
        let spec: RequestSpec = serde_json::from_value(serde_json::json!({
            "json": {"email": "x", "name": "n"},
            "randomize": {"json.email": {"kind": "unique", "format": "{}@example.com"}}
        }))
        .unwrap();
        let mut rng = rand::rng();
        let p = prepare("POST", "/users", &spec, &Vars::new(), &mut rng).unwrap();
        let r = p.renewed(&mut rng);
        let (old, new) = (&p.unique[0], &r.unique[0]);
        assert_ne!(old, new);
        assert_eq!(old.len(), new.len());
        let body = String::from_utf8(r.body.clone().unwrap()).unwrap();
        assert!(body.contains(&format!("{new}@example.com")) && !body.contains(old.as_str()));
        assert_eq!(
            r.body.as_ref().unwrap().len(),
            p.body.as_ref().unwrap().len()
        );
        assert_eq!(r.values["json"]["email"], format!("{new}@example.com"));
    }

    #[test]
    fn null_choices_leave_the_parameter_out_and_unique_tokens_are_listed() {
        let spec: RequestSpec = serde_json::from_value(json!({
            "query": {"a": 1, "b": 2},
            "json": {"email": "x"},
            "randomize": {
                "query.b": {"kind": "choice", "values": [null]},
                "json.email": {"kind": "unique", "format": "{}@example.com"}
            }
        }))
        .unwrap();
        let p = prepare("POST", "/r", &spec, &Vars::new(), &mut rand::rng()).unwrap();
        assert_eq!(p.target, "/r?a=1");
        assert_eq!(p.unique.len(), 1);
        let body = String::from_utf8(p.body.unwrap()).unwrap();
        assert!(
            body.contains(&format!("{}@example.com", p.unique[0])),
            "{body}"
        );
    }

    #[test]
    fn generated_bodies_have_the_exact_size() {
        let spec: RequestSpec =
            serde_json::from_value(json!({"generated_body": {"bytes": 5000}})).unwrap();
        let p = prepare("POST", "/echo", &spec, &Vars::new(), &mut rand::rng()).unwrap();
        assert_eq!(p.body.unwrap().len(), 5000);
    }

    #[test]
    fn multipart_bodies_hold_every_part() {
        let spec: RequestSpec = serde_json::from_value(json!({"multipart": [
            {"name": "category", "text": "docs"},
            {"name": "file", "filename": "a.bin", "generated": {"bytes": 300}}
        ]}))
        .unwrap();
        let p = prepare("POST", "/upload", &spec, &Vars::new(), &mut rand::rng()).unwrap();
        let ct = &p
            .headers
            .iter()
            .find(|(k, _)| k == "content-type")
            .unwrap()
            .1;
        let boundary = ct.strip_prefix("multipart/form-data; boundary=").unwrap();
        let body = p.body.unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(text.starts_with(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"category\"\r\n\r\ndocs\r\n"
        )));
        assert!(text.contains(
            "name=\"file\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        ));
        assert!(text.ends_with(&format!("\r\n--{boundary}--\r\n")));
        let start = body.windows(4).rposition(|w| w == b"\r\n\r\n").unwrap() + 4;
        assert_eq!(
            body[start..start + 300],
            (0..300).map(|i| (i % 251) as u8).collect::<Vec<_>>()[..]
        );
    }

    #[test]
    fn missing_path_values_are_errors() {
        let p = prepare(
            "GET",
            "/u/{id}",
            &RequestSpec::default(),
            &Vars::new(),
            &mut rand::rng(),
        );
        assert!(p.is_err());
    }
}
