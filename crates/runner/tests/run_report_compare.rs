//! A short real run of the basic category, then `report` and `compare` on
//! its results.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;

fn schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/results.schema.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&doc).unwrap()
}

#[test]
fn a_short_run_reports_and_compares() {
    require_wrk();
    build_servers();
    let dir = temp_dir("run");
    let registry = registry(&dir, "");
    let out_dir = dir.join("results");
    let out = runner(&[
        "run",
        "--category",
        "basic",
        "--framework",
        "reference",
        "--duration",
        "1s",
        "--warmup",
        "1s",
        "--repeat",
        "1",
        "--endpoints",
        "hello_world,json_echo,validate_user_model",
        "--scenarios",
        "--output",
        out_dir.to_str().unwrap(),
        "--registry",
        registry.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "run failed: {}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let path = stdout
        .trim()
        .strip_prefix("results: ")
        .expect("results path printed");

    // The file matches the schema and holds real measurements.
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let errors: Vec<String> = schema()
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(
        doc["ceiling"]["results"][0]["requests_per_second"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    let results = doc["frameworks"][0]["categories"][0]["results"]
        .as_array()
        .unwrap();
    let names: Vec<&str> = results
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    // Three endpoints, then the scenarios whose endpoints were all selected...
    assert_eq!(
        &names[..3],
        ["hello_world", "json_echo", "validate_user_model"]
    );
    // ...and every scenario (they only need their endpoints verified).
    assert_eq!(names.len(), 3 + 4);
    for m in results {
        assert!(m["requests_per_second"].as_f64().unwrap() > 0.0, "{m}");
        assert!(m["ceiling_share"].as_f64().unwrap() > 0.0, "{m}");
        assert_eq!(m["errors"]["status"], 0, "{m}");
        assert!(m["memory"]["peak_rss_bytes"].as_u64().unwrap() > 0, "{m}");
        assert!(m["cpu"]["us_per_request"].as_f64().unwrap() > 0.0, "{m}");
    }
    assert_eq!(doc["frameworks"][0]["categories"][0]["verify"]["failed"], 0);

    // report: Markdown plus charts.
    let report_dir = dir.join("report");
    let out = runner(&["report", path, "--output", report_dir.to_str().unwrap()]);
    assert!(out.status.success(), "report failed: {}", stderr(&out));
    let md = std::fs::read_to_string(report_dir.join("report.md")).unwrap();
    assert!(md.contains("## basic"), "{md}");
    assert!(md.contains("| reference | validate_user_model |"), "{md}");
    for chart in ["basic-rps", "basic-cpu", "basic-memory", "basic-latency-0"] {
        for ext in ["svg", "png"] {
            let f = report_dir.join(format!("{chart}.{ext}"));
            assert!(
                std::fs::metadata(&f).unwrap().len() > 1000,
                "{}",
                f.display()
            );
        }
        assert!(md.contains(&format!("{chart}.svg")) || chart.starts_with("basic-latency"));
    }

    // compare: identical files pass the gate, an injected regression fails it.
    let out = runner(&["compare", path, path, "--max-regression", "5%"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut slower = doc.clone();
    let rps = &mut slower["frameworks"][0]["categories"][0]["results"][1]["requests_per_second"];
    *rps = Value::from(rps.as_f64().unwrap() * 0.5);
    let slower_path = dir.join("slower.json");
    std::fs::write(&slower_path, serde_json::to_vec(&slower).unwrap()).unwrap();
    let out = runner(&[
        "compare",
        path,
        slower_path.to_str().unwrap(),
        "--max-regression",
        "5%",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("**regression**"));
    let out = runner(&["compare", path, slower_path.to_str().unwrap()]);
    assert!(out.status.success());
}
