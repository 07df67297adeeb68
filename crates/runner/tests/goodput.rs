//! Figures a skeptic accepts, against a server that passes its endpoint
//! checks and then goes wrong under load (`fixtures/flaky_server.py` with the
//! small contract in `fixtures/flaky/`): a 500 from a valid request in a mix
//! is an error even beside expected rejections, errors are not served
//! requests, a right status with a wrong body is caught by the sampled
//! checks, and a failing negative case marks the framework non-conforming in
//! the results and the report.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

#[test]
fn wrong_answers_under_load_are_errors_and_the_framework_is_marked() {
    require_wrk();
    build_servers();
    let dir = temp_dir("goodput");
    let server = fixtures().join("flaky_server.py");
    let registry = registry(
        &dir,
        &format!(
            "\n[frameworks.flaky]\ndescription = \"wrong under load on purpose\"\nversion = [\"true\"]\nhealth = \"/health\"\nsingle_process = \"a test server\"\n\n[frameworks.flaky.categories]\nbasic = [\"python3\", \"{}\", \"--port\", \"{{port}}\", \"--good\", \"300\"]\n",
            server.display()
        ),
    );
    let contracts = fixtures().join("flaky");
    let out_dir = dir.join("results");
    let out = runner(&[
        "--contracts",
        contracts.to_str().unwrap(),
        "run",
        "--category",
        "basic",
        "--framework",
        "flaky",
        "--duration",
        "2s",
        "--warmup",
        "0s",
        "--repeat",
        "1",
        "--connections",
        "4",
        // json2 only in the mix: the runner verifies a target's exact
        // requests before its load, and a path this server has broken
        // already would (rightly) keep the mix from being measured.
        "--endpoints",
        "json,text,reject",
        "--scenarios",
        "--open-model",
        "none",
        "--output",
        out_dir.to_str().unwrap(),
        "--registry",
        registry.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The failing negative case makes the run exit 1, with results written.
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", stderr(&out));
    let path = stdout
        .lines()
        .find_map(|l| l.strip_prefix("results: "))
        .expect("results path printed");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let category = &doc["frameworks"][0]["categories"][0];
    assert_eq!(category["conforming"], false, "{category}");
    let sha = category["contract_sha256"].as_str().unwrap();
    assert_eq!(sha.len(), 64);
    let by_name = |name: &str| -> &Value {
        category["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("{name} not measured: {category}"))
    };
    let flags = |m: &Value| -> Vec<String> {
        m["sanity"]["flags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().to_owned())
            .collect()
    };

    // A valid request answered 500 half the time: errors, not goodput.
    let json = by_name("json");
    assert!(json["errors"]["status"].as_u64().unwrap() > 0, "{json}");
    assert!(json["error_rate"].as_f64().unwrap() > 0.2, "{json}");
    assert!(
        json["requests_per_second"].as_f64().unwrap()
            < 0.8 * json["throughput_rps"].as_f64().unwrap(),
        "{json}"
    );
    assert!(flags(json).contains(&"error_rate".to_owned()), "{json}");
    assert_eq!(json["load"]["script"], "static", "{json}");

    // The same 500s inside a mix with expected 422s are still errors.
    let mix = by_name("valid_and_rejected");
    assert_eq!(mix["load"]["script"], "dynamic+statuses", "{mix}");
    assert!(mix["errors"]["status"].as_u64().unwrap() > 0, "{mix}");
    assert!(mix["expected_non_2xx"].as_u64().unwrap() > 0, "{mix}");
    assert!(flags(mix).contains(&"error_rate".to_owned()), "{mix}");

    // A rejection endpoint answering its 422 has no errors.
    let reject = by_name("reject");
    assert_eq!(reject["errors"]["status"], 0, "{reject}");
    assert_eq!(reject["error_rate"], 0.0, "{reject}");
    assert!(reject["expected_non_2xx"].as_u64().unwrap() > 0, "{reject}");

    // The right status with the wrong body: caught by the sampled checks.
    let text = by_name("text");
    assert_eq!(text["errors"]["status"], 0, "{text}");
    assert!(
        text["load_checks"]["failed"].as_u64().unwrap() > 0,
        "{text}"
    );
    assert!(
        text["load_checks"]["failures"][0]
            .as_str()
            .unwrap()
            .contains("Wrong"),
        "{text}"
    );
    assert!(flags(text).contains(&"wrong_answers".to_owned()), "{text}");

    // The report marks the framework and the tainted figures.
    let report_dir = dir.join("report");
    let out = runner(&["report", path, "--output", report_dir.to_str().unwrap()]);
    assert!(out.status.success(), "report failed: {}", stderr(&out));
    let md = std::fs::read_to_string(report_dir.join("report.md")).unwrap();
    assert!(md.contains("**flaky (non-conforming)**"), "{md}");
    assert!(md.contains("| flaky (non-conforming) | json |"), "{md}");
    assert!(md.contains(" ⚠ |"), "{md}");
}
