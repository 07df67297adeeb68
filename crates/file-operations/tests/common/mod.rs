//! Starting the server on a storage directory and talking to it.

#![allow(dead_code, clippy::unwrap_used)]

use contract::process::ServerProcess;
use contract::{GeneratedBody, Part, RequestSpec};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// The server on `dir` with extra flags.
pub fn start(dir: &Path, extra: &[&str]) -> ServerProcess {
    let dir = dir.to_str().unwrap();
    let mut args = vec!["--port", "0", "--threads", "2", "--storage-dir", dir];
    args.extend_from_slice(extra);
    ServerProcess::start(
        env!("CARGO_BIN_EXE_file-operations"),
        &args,
        Duration::from_secs(60),
    )
    .expect("server starts")
}

/// A client for the tests.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

/// A multipart upload request of one generated file of `bytes` bytes.
pub fn upload_spec(bytes: usize, extra: &[(&str, &str)]) -> RequestSpec {
    let mut parts = vec![Part {
        name: "file".into(),
        filename: Some("data.bin".into()),
        content_type: None,
        text: None,
        fixture: None,
        generated: Some(GeneratedBody { bytes }),
        fixture_bytes: None,
    }];
    for (name, text) in extra {
        parts.push(Part {
            name: (*name).into(),
            filename: None,
            content_type: None,
            text: Some((*text).into()),
            fixture: None,
            generated: None,
            fixture_bytes: None,
        });
    }
    RequestSpec {
        multipart: parts,
        ..RequestSpec::default()
    }
}

/// Sends a prepared request; status and JSON body (Null if not JSON).
pub async fn send(
    client: &reqwest::Client,
    base: &str,
    method: &str,
    path: &str,
    spec: &RequestSpec,
) -> (u16, Value) {
    let p = contract::prepare(method, path, spec, &Default::default(), &mut rand::rng()).unwrap();
    let mut req = client.request(method.parse().unwrap(), format!("{base}{}", p.target));
    for (k, v) in &p.headers {
        req = req.header(k, v);
    }
    if let Some(b) = p.body {
        req = req.body(b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.bytes().await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// GET a path: status and body bytes.
pub async fn get(client: &reqwest::Client, base: &str, path: &str) -> (u16, Vec<u8>) {
    let resp = client.get(format!("{base}{path}")).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.bytes().await.unwrap().to_vec())
}

/// Lower-case hex sha256.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The generated content of `n` bytes (byte i is i mod 251).
pub fn generated(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// Names of the entries of `dir/sub`.
pub fn entries(dir: &Path, sub: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.join(sub))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A `/proc/<pid>/status` field in kB.
pub fn proc_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}
