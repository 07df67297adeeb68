//! The `middleware` category through the runner: the heavy stack's
//! endpoint is measured with its token, origin and `Accept-Encoding`, every
//! sampled answer passes its checks, and the report shows what each
//! endpoint costs beyond the contract's baseline (`home`).

#![allow(clippy::unwrap_used)]

mod common;

use common::*;

#[test]
fn a_run_reports_each_stack_beyond_the_baseline() {
    require_wrk();
    let dir = temp_dir("middleware-run");
    let server = binary("middleware");
    let registry = registry(
        &dir,
        &format!(
            "middleware = [\"{}\", \"--port\", \"{{port}}\", \"--threads\", \"1\"]",
            server.display()
        ),
    );
    let out_dir = dir.join("results");
    let out = runner(&[
        "run",
        "--category",
        "middleware",
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
        "home,light,heavy",
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
    let measured = results["frameworks"][0]["categories"][0]["results"]
        .as_array()
        .unwrap();
    let heavy = measured.iter().find(|m| m["name"] == "heavy").unwrap();
    assert!(
        heavy["requests_per_second"].as_f64().unwrap() > 0.0,
        "{heavy}"
    );
    assert_eq!(heavy["error_rate"].as_f64().unwrap(), 0.0, "{heavy}");
    let md = report_of(&[&path], &dir.join("report"));
    assert!(
        md.contains(
            "| framework | endpoint | conns | CPU µs/req | `home` CPU µs/req | beyond `home` |"
        ),
        "{md}"
    );
    assert!(md.contains("| reference | heavy | 16 |"), "{md}");
    assert!(md.contains("| reference | light | 16 |"), "{md}");
}
