//! `unique` request values are renewed by the load script on every request:
//! registering under load creates accounts instead of colliding after the
//! 32 prepared variants.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;

use common::*;
use serde_json::Value;

#[test]
fn registrations_under_load_never_collide() {
    require_wrk();
    build_servers();
    let dir = temp_dir("unique");
    let real_world = bin_dir().join("real-world");
    let extra = format!(
        r#"real_world_scenarios = ["{}", "--port", "{{port}}", "--threads", "1", "--argon2-memory-kib", "64", "--argon2-iterations", "1"]"#,
        real_world.display()
    );
    let registry = registry(&dir, &extra);
    let out = runner(&[
        "run",
        "--category",
        "real_world_scenarios",
        "--framework",
        "reference",
        "--duration",
        "1s",
        "--warmup",
        "1s",
        "--repeat",
        "1",
        "--connections",
        "16",
        "--open-model",
        "none",
        "--endpoints",
        "register",
        "--output",
        dir.join("results").to_str().unwrap(),
        "--registry",
        registry.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "run failed: {}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let path = stdout.trim().strip_prefix("results: ").unwrap();
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let m = &doc["frameworks"][0]["categories"][0]["results"][0];
    assert_eq!(m["name"], "register");
    let requests = m["requests"].as_u64().unwrap_or(0);
    assert!(requests > 64, "too few registrations to tell: {m}");
    assert_eq!(m["errors"]["status"], 0, "{m}");
}
