//! Adaptive measurement (`runner run --precision`): every measurement
//! sampled until its figures are known or the maximum is reached, with the
//! samples, medians and intervals recorded, flagged `unsettled` when the
//! precision was not met, and the intervals shown in the report; the
//! category's and the framework's wall times recorded.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::Value;

/// A run of `hello_world` on the reference with `precision`, 6 to 8 runs of
/// 1 s; its results file (checked against the schema) and report.
fn adaptive_run(name: &str, precision: &str) -> (Value, String) {
    let dir = temp_dir(name);
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
        "0s",
        "--connections",
        "8",
        "--endpoints",
        "hello_world",
        "--open-model",
        "none",
        "--precision",
        precision,
        "--max-samples",
        "8",
        "--output",
        out_dir.to_str().unwrap(),
        "--registry",
        registry.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "run failed: {}", stderr(&out));
    let path = results_path(&out);
    let doc = load_results(&path);
    let report = report_of(&[&path], &dir.join("report"));
    (doc, report)
}

/// The reference's one measurement and the ceiling's.
fn measurements(doc: &Value) -> [&Value; 2] {
    [
        &doc["frameworks"][0]["categories"][0]["results"][0],
        &doc["ceiling"]["results"][0],
    ]
}

#[test]
fn measurements_sample_until_their_figures_are_known() {
    require_wrk();
    build_servers();
    // A precision nothing on a loaded machine misses (an interval 20 times
    // its median wide): the minimum of 6 runs, settled.
    let (doc, report) = adaptive_run("adaptive-loose", "1000%");
    assert_eq!(doc["parameters"]["adaptive"]["min_samples"], 6);
    for m in measurements(&doc) {
        let runs = m["runs_rps"].as_array().unwrap();
        assert_eq!(runs.len(), 6, "{m}");
        let p = &m["precision"];
        assert_eq!(p["settled"], true, "{p}");
        assert_eq!(p["cpu_us_samples"].as_array().unwrap().len(), 6);
        for figure in ["rps", "cpu_us"] {
            let i = &p[figure];
            let (low, median, high) = (
                i["low"].as_f64().unwrap(),
                i["median"].as_f64().unwrap(),
                i["high"].as_f64().unwrap(),
            );
            assert!(
                low <= median && median <= high && low > 0.0,
                "{figure}: {i}"
            );
        }
        // With six runs the interval is their range.
        let rps: Vec<f64> = runs.iter().map(|v| v.as_f64().unwrap()).collect();
        let min = rps.iter().copied().fold(f64::MAX, f64::min);
        assert_eq!(p["rps"]["low"].as_f64().unwrap(), min);
        assert_eq!(p["rps"]["median"], m["requests_per_second"]);
        assert!(!m["sanity"]["flags"].to_string().contains("unsettled"));
    }
    assert!(report.contains(" ±"), "{report}");
    assert!(report.contains("within ±1000.0 % (6–8 runs)"), "{report}");
    // The category's wall time: at least its six 1 s runs.
    let wall = doc["frameworks"][0]["categories"][0]["wall_seconds"]
        .as_f64()
        .unwrap();
    assert!(wall >= 6.0, "{wall}");
    assert!(report.contains("; took "), "{report}");
    // The framework's: its setup and category, named in the report's head
    // with the count of settled figures.
    let framework = doc["frameworks"][0]["wall_seconds"].as_f64().unwrap();
    assert!(framework >= wall, "{framework} < {wall}");
    assert!(
        report.contains("1 of 1 figures within ±1000.0 %, 0 `unsettled` (0 of them stopped"),
        "{report}"
    );

    // A precision no run can meet: seen at the minimum (at 8 runs the
    // interval is their range, already too wide at 6), flagged unsettled.
    let (doc, report) = adaptive_run("adaptive-tight", "0.0001%");
    for m in measurements(&doc) {
        assert_eq!(m["runs_rps"].as_array().unwrap().len(), 6, "{m}");
        assert_eq!(m["precision"]["settled"], false);
        assert_eq!(m["precision"]["cannot_settle"], true);
        assert!(m["sanity"]["flags"].to_string().contains("unsettled"));
    }
    assert!(
        report.contains("0 of 1 figures within ±0.0 %, 1 `unsettled` (1 of them stopped"),
        "{report}"
    );
}

#[test]
fn impossible_sampling_is_refused_before_anything_starts() {
    for (args, says) in [
        (&["--precision", "0%"][..], "--precision must be above 0"),
        (&["--precision", "5%", "--min-samples", "3"], "at least 6"),
        (
            &[
                "--precision",
                "5%",
                "--min-samples",
                "8",
                "--max-samples",
                "7",
            ],
            "--max-samples must be at least --min-samples",
        ),
    ] {
        let mut all = vec!["run", "--category", "basic", "--framework", "nobody"];
        all.extend_from_slice(args);
        let out = runner(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
    // A fixed number of runs is not adaptive: sampling flags contradict it.
    for flag in ["--precision", "--min-samples", "--max-samples"] {
        let out = runner(&["run", "--repeat", "3", flag, "8"]);
        assert_eq!(out.status.code(), Some(2), "{flag}");
        assert!(
            stderr(&out).contains("cannot be used with"),
            "{}",
            stderr(&out)
        );
    }
}
