//! A short real run of the basic category (closed loop, then the open-model
//! phase), then `report` and the `compare` gate on its results.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;

/// `doc` with every measurement changed by `f` (ceiling left alone).
fn each_measurement(doc: &Value, f: impl Fn(&mut Value)) -> Value {
    let mut copy = doc.clone();
    for fw in copy["frameworks"].as_array_mut().unwrap() {
        for c in fw["categories"].as_array_mut().unwrap() {
            for m in c["results"].as_array_mut().unwrap() {
                f(m);
            }
        }
    }
    copy
}

/// Scales a measurement's req/s, its repeats and its share of the ceiling.
fn scaled(m: &mut Value, by: f64) {
    for key in ["requests_per_second", "ceiling_share"] {
        m[key] = Value::from(m[key].as_f64().unwrap() * by);
    }
    let runs: Vec<f64> = m["runs_rps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() * by)
        .collect();
    m["runs_rps"] = Value::from(runs);
}

#[test]
fn a_short_run_reports_and_compares() {
    require_wrk();
    require_oha();
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
        "--connections",
        "32",
        "--endpoints",
        "hello_world,json_echo,validate_user_model",
        "--scenarios",
        "--open-model",
        "basic",
        "--open-duration",
        "1s",
        "--open-fractions",
        "0.5,0.9",
        "--open-rate",
        "200",
        "--output",
        out_dir.to_str().unwrap(),
        "--registry",
        registry.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "run failed: {}", stderr(&out));
    let path = results_path(&out);
    let path = path.to_str().unwrap();

    // The file matches the schema and holds real measurements.
    let doc = load_results(Path::new(path));
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
        assert_eq!(m["error_rate"], 0.0, "{m}");
        assert!(m["load_checks"]["checked"].as_u64().unwrap() > 0, "{m}");
        assert_eq!(m["load_checks"]["failed"], 0, "{m}");
        assert!(m["ceiling_share"].as_f64().unwrap() > 0.0, "{m}");
        assert_eq!(m["errors"]["status"], 0, "{m}");
        assert!(m["memory"]["peak_rss_bytes"].as_u64().unwrap() > 0, "{m}");
        assert!(m["cpu"]["us_per_request"].as_f64().unwrap() > 0.0, "{m}");
    }
    let category = &doc["frameworks"][0]["categories"][0];
    assert_eq!(category["verify"]["failed"], 0);
    assert_eq!(category["conforming"], true);
    assert_eq!(results[0]["load"]["script"], "static", "hello_world");
    assert_eq!(results[1]["load"]["script"], "dynamic", "json_echo");

    // The open-model phase: every endpoint at 50 % and 90 % of its own
    // maximum and at the common 200 req/s, latency corrected.
    let open = category["open_model"].as_array().unwrap();
    assert_eq!(open.len(), 3 * 3, "{open:#?}");
    for p in open {
        assert!(p["achieved_rps"].as_f64().unwrap() > 0.0, "{p}");
        assert!(p["latency_us"]["p99"].as_f64().unwrap() > 0.0, "{p}");
        assert_eq!(p["errors"], 0, "{p}");
    }
    let common = open.iter().find(|p| p["fraction"].is_null()).unwrap();
    assert_eq!(common["target_rps"], 200.0);
    assert!(doc["parameters"]["open_model"]["tool"]
        .as_str()
        .unwrap()
        .starts_with("oha"));

    // report: Markdown plus charts.
    let report_dir = dir.join("report");
    let md = report_of(&[Path::new(path)], &report_dir);
    assert!(md.contains("## basic"), "{md}");
    assert!(md.contains("| reference | validate_user_model |"), "{md}");
    assert!(md.contains("open model (constant arrival rate)"), "{md}");
    assert!(md.contains("one sample per figure, no interval"), "{md}");
    for chart in [
        "basic-rps",
        "basic-cpu",
        "basic-memory",
        "basic-latency-0",
        "basic-open-latency",
    ] {
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

    // compare: a run against itself passes.
    let write = |name: &str, v: &Value| {
        let p = dir.join(name);
        std::fs::write(&p, serde_json::to_vec(v).unwrap()).unwrap();
        p
    };
    let compare = |a: &Path, b: &Path, extra: &[&str]| {
        let mut args = vec!["compare", a.to_str().unwrap(), b.to_str().unwrap()];
        args.extend_from_slice(extra);
        let out = runner(&args);
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &stderr(&out);
        (out.status.code(), text)
    };
    let base = Path::new(path);
    let (code, text) = compare(base, base, &[]);
    assert_eq!(code, Some(0), "{text}");

    // A copy 30 % slower fails the gate.
    let slower = write("slower.json", &each_measurement(&doc, |m| scaled(m, 0.7)));
    let (code, text) = compare(base, &slower, &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("**regression**"), "{text}");

    // A removed endpoint fails it.
    let mut removed = doc.clone();
    removed["frameworks"][0]["categories"][0]["results"]
        .as_array_mut()
        .unwrap()
        .remove(1);
    let removed = write("removed.json", &removed);
    let (code, text) = compare(base, &removed, &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("json_echo@32: measured before, missing now"),
        "{text}"
    );

    // With repeats spread ±5 %, a copy 3 % slower is unchanged.
    let spread = |m: &mut Value| {
        let x = m["requests_per_second"].as_f64().unwrap();
        m["runs_rps"] = Value::from(vec![x * 0.95, x, x * 1.05]);
    };
    let noisy = write("noisy.json", &each_measurement(&doc, spread));
    let noisy_slower = write(
        "noisy-slower.json",
        &each_measurement(&doc, |m| {
            spread(m);
            scaled(m, 0.97);
        }),
    );
    let (code, text) = compare(&noisy, &noisy_slower, &["--max-regression", "1%"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("unchanged (within noise)"), "{text}");
    assert!(!text.contains("regression"), "{text}");

    // Another machine is refused unless forced.
    let mut other = doc.clone();
    other["machine"]["cores"] = Value::from(other["machine"]["cores"].as_u64().unwrap() + 1);
    let other = write("other.json", &other);
    let (code, text) = compare(base, &other, &[]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("different machines"), "{text}");
    let (code, _) = compare(base, &other, &["--force"]);
    assert_eq!(code, Some(0));
}
