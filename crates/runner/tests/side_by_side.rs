//! Frameworks measured side by side (the default for several): every
//! server of a category up before its first target, each target prepared
//! and sampled on all of them before the next, runs alternating; and a run
//! during which another server was busy taken again, so a neighbour's
//! leftover work is never counted against the framework being measured;
//! the report orders the frameworks per target by their per-round ratios.
//! `--sequential` keeps the one-after-another order (and no pairing).

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;

/// A run of `hello_world` and `health_check` on the reference and a twin
/// (the same server under another name), 2 runs of 1 s each, with `extra`
/// flags; its results and the progress lines on stderr.
fn twins(name: &str, extra: &[&str]) -> (Value, String, String) {
    let dir = temp_dir(name);
    let basic = bin_dir().join("basic");
    let registry = registry(
        &dir,
        &format!(
            "\n[frameworks.twin]\ndescription = \"the reference again\"\nversion = [\"true\"]\nhealth = \"/health\"\n\n[frameworks.twin.categories]\nbasic = [\"{}\", \"--port\", \"{{port}}\", \"--threads\", \"1\"]\n",
            basic.display()
        ),
    );
    let out_dir = dir.join("results");
    let mut args = vec![
        "run",
        "--category",
        "basic",
        "--framework",
        "reference,twin",
        "--duration",
        "1s",
        "--warmup",
        "0s",
        "--repeat",
        "2",
        "--connections",
        "8",
        "--endpoints",
        "hello_world,health_check",
        "--open-model",
        "none",
        "--output",
        out_dir.to_str().unwrap(),
        "--registry",
        registry.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = runner(&args);
    let log = stderr(&out);
    assert!(out.status.success(), "run failed: {log}");
    let path = results_path(&out);
    let doc = load_results(&path);
    let report = report_of(&[&path], &dir.join("report"));
    (doc, log, report)
}

/// Where in the progress lines `what` is first said.
fn said(log: &str, what: &str) -> usize {
    log.find(what)
        .unwrap_or_else(|| panic!("`{what}` not in: {log}"))
}

#[test]
fn a_category_runs_its_frameworks_side_by_side_unless_told_otherwise() {
    require_wrk();
    build_servers();
    let (doc, log, report) = twins("side-by-side", &[]);
    assert_eq!(doc["parameters"]["side_by_side"], true);
    for f in doc["frameworks"].as_array().unwrap() {
        let results = f["categories"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), 2, "{f}");
        for m in results {
            assert_eq!(m["runs_rps"].as_array().unwrap().len(), 2, "{m}");
            // Two servers that answer and then rest: nothing to take again.
            assert_eq!(m["disturbed_runs"], 0, "{m}");
        }
        assert!(f["wall_seconds"].as_f64().unwrap() >= 4.0, "{f}");
    }
    // Both servers up before anything is measured; each target prepared on
    // both (at once, in either order) before the next target.
    let twin_up = said(&log, "twin/basic: starting and verifying");
    let on_both = |target: &str| {
        [
            said(
                &log,
                &format!("reference-basic: {target} with 8 connections"),
            ),
            said(&log, &format!("twin-basic: {target} with 8 connections")),
        ]
    };
    let (first, next) = (on_both("hello_world"), on_both("health_check"));
    assert!(twin_up < first[0].min(first[1]), "{log}");
    assert!(first[0].max(first[1]) < next[0].min(next[1]), "{log}");
    assert!(report.contains("frameworks side by side"), "{report}");
    assert!(report.contains("; 0 run(s) taken again"), "{report}");
    // The order section compares them round by round: two rounds give a
    // ratio but no interval.
    assert!(report.contains("### Order"), "{report}");
    assert!(report.contains(" ? "), "{report}");
    assert!(report.contains(", 2 rounds)"), "{report}");

    // --sequential: the reference's targets all measured before the twin
    // starts.
    let (doc, log, report) = twins("sequential", &["--sequential"]);
    assert_eq!(doc["parameters"]["side_by_side"], false);
    let last = said(&log, "reference-basic: health_check with 8 connections");
    assert!(
        last < said(&log, "twin/basic: starting and verifying"),
        "{log}"
    );
    assert!(report.contains("one framework after another"), "{report}");
    // Runs taken minutes apart are not paired.
    assert!(!report.contains("### Order"), "{report}");
}

/// A side-by-side run of the fixture contract's `json` (5 runs of 1 s) on
/// two copies of the same well-behaved server, one of them busy for 1.5 s
/// from `after` seconds after its last request: the calm one's
/// measurement and the lingering one's.
fn beside_a_lingering_server(name: &str, after: &str) -> (Value, Value) {
    let dir = temp_dir(name);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let server = fixtures.join("flaky_server.py");
    let entry = |name: &str, linger: &str| {
        format!(
            "\n[frameworks.{name}]\ndescription = \"a test server\"\nversion = [\"true\"]\nhealth = \"/health\"\nsingle_process = \"a test server\"\n\n[frameworks.{name}.categories]\nbasic = [\"python3\", \"{}\", \"--port\", \"{{port}}\", \"--good\", \"1000000000\", \"--linger\", \"{linger}\", \"--linger-after\", \"{after}\"]\n",
            server.display()
        )
    };
    let registry = registry(
        &dir,
        &format!("{}{}", entry("lingering", "1.5"), entry("calm", "0")),
    );
    let contracts = fixtures.join("flaky");
    let out_dir = dir.join("results");
    let out = runner(&[
        "--contracts",
        contracts.to_str().unwrap(),
        "run",
        "--category",
        "basic",
        "--framework",
        "lingering,calm",
        "--duration",
        "1s",
        "--warmup",
        "0s",
        "--repeat",
        "5",
        "--connections",
        "4",
        "--endpoints",
        "json",
        "--open-model",
        "none",
        "--output",
        out_dir.to_str().unwrap(),
        "--registry",
        registry.to_str().unwrap(),
    ]);
    // The fixture contract's failing negative case makes the run exit 1,
    // with results written.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc = load_results(&results_path(&out));
    let json = |framework: usize| -> Value {
        let f = &doc["frameworks"][framework];
        f["categories"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "json")
            .unwrap_or_else(|| panic!("json not measured: {f}"))
            .clone()
    };
    let (lingering, calm) = (json(0), json(1));
    // Every run kept was undisturbed: as many as asked for.
    assert_eq!(calm["runs_rps"].as_array().unwrap().len(), 5, "{calm}");
    assert_eq!(lingering["runs_rps"].as_array().unwrap().len(), 5);
    // The lingering one's neighbour rests after its load: never disturbed.
    assert_eq!(lingering["disturbed_runs"], 0, "{lingering}");
    (calm, lingering)
}

#[test]
fn a_neighbour_still_busy_is_waited_for_before_a_run() {
    require_wrk();
    build_servers();
    // Busy at once after its load: seen running before the calm server's
    // run starts, so the run waits for it and nothing is taken again.
    let (calm, _) = beside_a_lingering_server("busy-before", "0");
    assert_eq!(calm["disturbed_runs"], 0, "{calm}");
}

#[test]
fn a_run_during_which_another_server_was_busy_is_taken_again() {
    require_wrk();
    build_servers();
    // Idle when the calm server's run starts, busy 0.6 s into it: the run
    // is taken again once the neighbour has settled (and the figure is not
    // flagged: no disturbed run was kept).
    let (calm, _) = beside_a_lingering_server("busy-during", "0.6");
    assert!(calm["disturbed_runs"].as_u64().unwrap() >= 1, "{calm}");
    assert!(!calm["sanity"]["flags"].to_string().contains("disturbed"));
}
