//! A server that dies: verification blames the check that killed it and
//! restarts it for the rest; a load that kills it is recorded, the target
//! listed as not measured, and the run goes on. Setup commands that fail
//! are reported per cell.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::path::Path;

/// A registry with the crashing test server as framework `crashy`.
fn crashy_registry(dir: &Path, setup: Option<&str>) -> std::path::PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/crashy_server.py");
    let setup = setup.map_or_else(String::new, |s| format!("setup = {s}\n"));
    registry(
        dir,
        &format!(
            "\n[frameworks.crashy]\ndescription = \"dies on purpose\"\nversion = [\"true\"]\nhealth = \"/health\"\n{setup}\n[frameworks.crashy.categories]\nbasic = [\"python3\", \"{}\", \"--port\", \"{{port}}\"]\n",
            script.display()
        ),
    )
}

#[test]
fn verification_blames_the_check_that_killed_the_server_and_goes_on() {
    build_servers();
    let dir = temp_dir("crash-verify");
    let registry = crashy_registry(&dir, None);
    let json = dir.join("matrix.json");
    let out = runner(&[
        "verify",
        "--framework",
        "crashy",
        "--category",
        "basic",
        "--registry",
        registry.to_str().unwrap(),
        "--output",
        dir.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", stderr(&out));
    assert!(
        stdout
            .contains("crashy/basic: crash during verify: json_echo: killed by signal 6 (SIGABRT)"),
        "{stdout}"
    );
    let matrix: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let cell = &matrix["cells"][0];
    let failures: Vec<&str> = cell["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    // The killing check says so; checks after it still ran against the
    // restarted server (health passes, later echo cases kill it again).
    let echo = failures
        .iter()
        .find(|f| f.starts_with("endpoint json_echo:"))
        .unwrap();
    assert!(
        echo.contains("the server process died during this check"),
        "{echo}"
    );
    assert!(
        !failures.iter().any(|f| f.contains("not run")),
        "{failures:?}"
    );
    assert!(!failures
        .iter()
        .any(|f| f.starts_with("endpoint health_check")));
    assert!(!failures
        .iter()
        .any(|f| f.starts_with("endpoint json_response")));
    let crashes = cell["crashes"].as_array().unwrap();
    assert!(crashes.len() >= 2, "{crashes:?}");
    assert_eq!(crashes[0]["during"], "verify: json_echo");
}

#[test]
fn a_server_killed_by_load_is_recorded_restarted_and_the_run_goes_on() {
    build_servers();
    require_wrk();
    let dir = temp_dir("crash-load");
    let registry = crashy_registry(&dir, None);
    let output = dir.join("results");
    let out = runner(&[
        "run",
        "--category",
        "basic",
        "--framework",
        "crashy",
        "--endpoints",
        "json_response,health_check",
        "--duration",
        "1s",
        "--warmup",
        "0s",
        "--repeat",
        "1",
        "--connections",
        "16",
        "--open-model",
        "none",
        "--output",
        output.to_str().unwrap(),
        "--registry",
        registry.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let path = stdout
        .lines()
        .find_map(|l| l.strip_prefix("results: "))
        .unwrap_or_else(|| panic!("{stdout}{}", stderr(&out)));
    let results: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let category = &results["frameworks"][0]["categories"][0];
    let crashes = category["crashes"].as_array().unwrap();
    assert!(
        crashes.iter().any(|c| c["during"] == "load: json_response"),
        "{crashes:?}"
    );
    let failed = category["failed_targets"].as_array().unwrap();
    assert_eq!(failed[0]["name"], "json_response", "{failed:?}");
    // After the restart the next target was measured.
    let measured: Vec<&str> = category["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(measured, ["health_check"]);
    // The report says all of it.
    let report_dir = dir.join("report");
    let out = runner(&["report", path, "--output", report_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let md = std::fs::read_to_string(report_dir.join("report.md")).unwrap();
    assert!(md.contains("## Conformance"), "{md}");
    assert!(md.contains("server died"), "{md}");
    assert!(md.contains("not measured: json_response"), "{md}");
}

#[test]
fn a_failing_setup_fails_every_cell_of_its_framework_and_says_why() {
    build_servers();
    let dir = temp_dir("setup-fails");
    let registry = crashy_registry(
        &dir,
        Some("[\"sh\", \"-c\", \"echo no python here >&2; exit 3\"]"),
    );
    let out = runner(&[
        "verify",
        "--framework",
        "crashy,reference",
        "--category",
        "basic",
        "--registry",
        registry.to_str().unwrap(),
        "--output",
        dir.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("crashy     error"), "{stdout}");
    assert!(stdout.contains("exited with status 3"), "{stdout}");
    assert!(stdout.contains("no python here"), "{stdout}");
    assert!(stdout.contains("reference  48/48 ok"), "{stdout}");
}
