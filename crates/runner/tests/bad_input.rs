//! Bad input to the runner: a one-line error, a non-zero exit, and no stray
//! processes.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::process::Command;

fn one_line_error(out: &std::process::Output, needle: &str) {
    assert_eq!(out.status.code(), Some(2), "{}", stderr(out));
    let err = stderr(out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains(needle), "{err}");
}

/// Runs the basic category for one extra framework (`name`, started by
/// `command`, a TOML array) with short settings; `extra` flags are appended.
fn run_extra_framework(
    dir: &std::path::Path,
    name: &str,
    command: &str,
    extra: &[&str],
) -> std::process::Output {
    let registry = registry(
        dir,
        &format!(
            "\n[frameworks.{name}]\ndescription = \"test framework\"\nversion = [\"true\"]\nhealth = \"/health\"\n\n[frameworks.{name}.categories]\nbasic = {command}\n"
        ),
    );
    let output = dir.join("results");
    let mut args = vec![
        "run",
        "--category",
        "basic",
        "--framework",
        name,
        "--duration",
        "1s",
        "--warmup",
        "0s",
        "--repeat",
        "1",
        "--output",
        output.to_str().unwrap(),
        "--registry",
        registry.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    runner(&args)
}

#[test]
fn unknown_framework_category_and_endpoint() {
    let dir = temp_dir("unknown");
    let registry = registry(&dir, "");
    let reg = registry.to_str().unwrap();
    let out = runner(&[
        "run",
        "--category",
        "basic",
        "--framework",
        "nope",
        "--registry",
        reg,
    ]);
    one_line_error(&out, "unknown framework `nope`");
    let out = runner(&["run", "--category", "nope", "--registry", reg]);
    one_line_error(&out, "unknown category `nope`");
    let out = runner(&[
        "run",
        "--category",
        "basic",
        "--endpoints",
        "hello_world,nope",
        "--registry",
        reg,
    ]);
    one_line_error(&out, "unknown endpoint `nope`");
    let out = runner(&[
        "verify",
        "--category",
        "nope",
        "--url",
        "http://127.0.0.1:1",
    ]);
    one_line_error(&out, "unknown category `nope`");
}

#[test]
fn malformed_results_files() {
    let dir = temp_dir("malformed");
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{\"schema_version\": 1").unwrap();
    let bad = bad.to_str().unwrap();
    one_line_error(
        &runner(&["report", bad, "--output", dir.to_str().unwrap()]),
        "is not a results file",
    );
    one_line_error(&runner(&["compare", bad, bad]), "is not a results file");
    one_line_error(
        &runner(&["compare", "/no/such/file.json", bad]),
        "reading /no/such/file.json",
    );
}

#[test]
fn missing_wrk_says_how_to_install_it() {
    let dir = temp_dir("nowrk");
    let registry = registry(&dir, "");
    let out = Command::new(env!("CARGO_BIN_EXE_runner"))
        .args([
            "run",
            "--category",
            "basic",
            "--registry",
            registry.to_str().unwrap(),
        ])
        .env("PATH", dir.join("empty"))
        .output()
        .unwrap();
    one_line_error(&out, "apt-get install -y wrk");
}

#[test]
fn a_server_that_never_becomes_healthy_is_reported_and_stopped() {
    require_wrk();
    build_servers();
    let dir = temp_dir("unhealthy");
    // A "server" that never listens: the runner must give up and kill it.
    let marker = format!("{}", 900 + std::process::id() % 90);
    let command = format!("[\"sleep\", \"{marker}.5\"]");
    let out = run_extra_framework(&dir, "silent", &command, &["--startup-timeout", "1s"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("did not answer"), "{}", stderr(&out));
    let left = Command::new("pgrep")
        .args(["-f", &format!("sleep {marker}.5")])
        .output()
        .unwrap();
    assert!(
        left.stdout.is_empty(),
        "stray process: {}",
        String::from_utf8_lossy(&left.stdout)
    );
}

#[test]
fn a_server_whose_port_is_taken_is_reported_with_its_own_words() {
    require_wrk();
    build_servers();
    let dir = temp_dir("busy");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let command = format!(
        "[\"{}\", \"--port\", \"{port}\"]",
        bin_dir().join("basic").display()
    );
    let out = run_extra_framework(&dir, "busy", &command, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("exited") && err.contains("cannot listen"),
        "{err}"
    );
}
