//! The `async_operations` category through the runner: a run starts the
//! registry's ceiling as the category's upstream, names it to the server,
//! samples it beside the server and reports its cost; the timer wait is
//! measured at its own 1,000 connections whatever the run's level, against
//! the ideal of connections ÷ wait; the open-files limit is recorded.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;

#[test]
fn a_run_starts_the_upstream_and_measures_waits_at_their_own_level() {
    require_wrk();
    build_servers();
    let dir = temp_dir("upstream-run");
    let server = binary("async_operations");
    let registry = registry(
        &dir,
        &format!(
            "async_operations = [\"{}\", \"--port\", \"{{port}}\", \"--threads\", \"1\"]",
            server.display()
        ),
    );
    let out_dir = dir.join("results");
    let out = runner(&[
        "run",
        "--category",
        "async_operations",
        "--framework",
        "reference",
        "--duration",
        "1s",
        "--warmup",
        "0s",
        "--repeat",
        "1",
        "--connections",
        "16",
        "--endpoints",
        "sleep,upstream",
        "--open-model",
        "none",
        "--output",
        out_dir.to_str().unwrap(),
        "--registry",
        registry.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "run failed: {}", stderr(&out));
    let path = results_path(&out);
    let results = load_results(&path);
    assert!(results["parameters"]["upstream"]
        .as_str()
        .unwrap()
        .starts_with("started"));
    assert!(results["machine"]["open_files_limit"].as_u64().unwrap() >= 1256);
    let measured = results["frameworks"][0]["categories"][0]["results"]
        .as_array()
        .unwrap();
    let sleep = measured.iter().find(|m| m["name"] == "sleep").unwrap();
    assert_eq!(sleep["connections"], 1000, "{sleep}");
    assert_eq!(sleep["ideal_rps"].as_f64().unwrap(), 10_000.0, "{sleep}");
    // Every answer took its 100 ms: never more than the ideal.
    assert!(
        sleep["requests_per_second"].as_f64().unwrap() <= 10_500.0,
        "{sleep}"
    );
    let upstream = measured.iter().find(|m| m["name"] == "upstream").unwrap();
    assert_eq!(upstream["connections"], 16, "{upstream}");
    // Four upstream calls a request: the upstream works.
    let cost = upstream["upstream"]["cpu"]["us_per_request"]
        .as_f64()
        .unwrap();
    assert!(cost > 0.0, "{upstream}");
    let md = report_of(&[&path], &dir.join("report"));
    assert!(md.contains("| framework | endpoint | conns | server CPU µs/req | upstream CPU µs/req | total CPU µs/req |"), "{md}");
    assert!(md.contains("| share of ideal |"), "{md}");
    assert!(md.contains("async_operations' upstream: started"), "{md}");
}
