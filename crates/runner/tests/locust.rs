//! The hand-off to Locust on one machine: a locustfile exported for each
//! category runs clean (no failure, every scenario endpoint sent) against
//! that category's reference server; its statistics import into a results
//! file that `runner report` shows beside a wrk run (`runner run --url`) of
//! the same external server.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use contract::process::ServerProcess;
use runner::locust::import::{read_failures, read_stats, StatsRow};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Runs `file` headless against `url` with `users` users (all started at
/// once) for `time`, its statistics written to `dir/PREFIX_*.csv`.
fn headless(
    locust: &Path,
    dir: &Path,
    file: &Path,
    url: &str,
    users: u32,
    time: &str,
    prefix: &str,
) -> std::process::Output {
    let users = users.to_string();
    Command::new(locust)
        .args(["-f", file.to_str().unwrap(), "--host", url, "--headless"])
        .args(["-u", &users, "-r", &users, "-t", time, "--only-summary"])
        .args(["--csv", dir.join(prefix).to_str().unwrap()])
        .current_dir(dir)
        .output()
        .unwrap()
}

/// Runs every scenario of `category`'s exported locustfile against `url`
/// for a few seconds; returns the imported results file.
fn locust_run(locust: &Path, dir: &Path, category: &str, url: &str) -> PathBuf {
    let file = dir.join(format!("{category}_locustfile.py"));
    export(&file, &["--category", category]);
    let out = headless(locust, dir, &file, url, 6, "4s", category);
    // Locust exits 1 when any request failed: the import below says which.
    let stats = dir.join(format!("{category}_stats.csv"));
    assert!(
        stats.is_file(),
        "locust wrote no statistics: {}",
        stderr(&out)
    );
    let imported = dir.join(format!("{category}-imported"));
    let out = runner(&[
        "import",
        "locust",
        "--stats",
        stats.to_str().unwrap(),
        "--framework",
        "reference",
        "--category",
        category,
        "--url",
        url,
        "--output",
        imported.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "import: {}", stderr(&out));
    results_path(&out)
}

#[test]
fn exported_locustfiles_run_clean_against_every_reference_server() {
    let locust = locust();
    let dir = temp_dir("locust");
    for category in contract::CATEGORIES {
        let server = ServerProcess::start(
            binary(category).to_str().unwrap(),
            &["--port", "0", "--threads", "1"],
            Duration::from_secs(30),
        )
        .unwrap();
        let results = load_results(&locust_run(&locust, &dir, category, &server.url));
        assert!(
            results["parameters"]["load_generator"]
                .as_str()
                .unwrap()
                .starts_with("locust 2."),
            "{}",
            results["parameters"]
        );
        let rows = results["frameworks"][0]["categories"][0]["results"]
            .as_array()
            .unwrap();
        for row in rows {
            assert!(row["requests"].as_u64().unwrap() > 0, "{row}");
            assert_eq!(
                row["error_rate"].as_f64().unwrap(),
                0.0,
                "{category}/{}: {}",
                row["name"],
                row["errors"]
            );
            assert!(row["cpu"].is_null() && row["memory"].is_null(), "{row}");
        }
        // Every endpoint of every scenario was sent.
        let contract = contract::load(category).unwrap();
        for s in &contract.scenarios {
            for m in &s.mix {
                assert!(
                    rows.iter().any(|r| r["name"] == m.endpoint.as_str()),
                    "{category}: nothing sent to {} ({})",
                    m.endpoint,
                    s.name
                );
            }
        }
    }
}

/// `runner export locust ARGS --output FILE`.
fn export(file: &Path, args: &[&str]) {
    let mut all = vec!["export", "locust", "--output", file.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = runner(&all);
    assert!(out.status.success(), "export: {}", stderr(&out));
}

/// Whether `GET /health` at `url` answers 200 now.
fn answers_health(url: &str) -> bool {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = write!(
        s,
        "GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    );
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

/// Runs `file` for 2 s against `url` and reads Locust's statistics back.
fn run_briefly(locust: &Path, dir: &Path, file: &Path, url: &str) -> Vec<StatsRow> {
    headless(locust, dir, file, url, 2, "2s", "brief");
    read_stats(&dir.join("brief_stats.csv")).unwrap()
}

#[test]
fn wrong_answers_and_no_answers_are_failures() {
    // The control: the exported checks can fail. The ceiling answers 200
    // to everything, where `track_event` expects 202; nothing listens on a
    // closed port.
    build_servers();
    let locust = locust();
    let dir = temp_dir("locust-control");
    let file = dir.join("track.py");
    export(
        &file,
        &[
            "--category",
            "real_world_scenarios",
            "--endpoints",
            "track_event",
        ],
    );
    let ceiling = ServerProcess::start(
        bin_dir().join("ceiling").to_str().unwrap(),
        &["--port", "0", "--threads", "1"],
        Duration::from_secs(30),
    )
    .unwrap();
    let rows = run_briefly(&locust, &dir, &file, &ceiling.url);
    let track = rows.iter().find(|r| r.name == "track_event").unwrap();
    assert!(
        track.requests > 0 && track.failures == track.requests,
        "{track:?}"
    );
    let failures = read_failures(&dir.join("brief_failures.csv")).unwrap();
    assert_eq!(failures["track_event"], (track.failures, 0), "{failures:?}");

    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let rows = run_briefly(&locust, &dir, &file, &closed);
    let track = rows.iter().find(|r| r.name == "track_event").unwrap();
    assert!(
        track.requests > 0 && track.failures == track.requests,
        "{track:?}"
    );
    let failures = read_failures(&dir.join("brief_failures.csv")).unwrap();
    assert_eq!(failures["track_event"], (0, track.failures), "{failures:?}");
}

#[test]
fn endpoints_alone_renew_their_unique_tokens_on_every_send() {
    // `register` sends a unique username and e-mail: a token sent twice is
    // a 409, a failure.
    let locust = locust();
    let dir = temp_dir("locust-unique");
    let server = ServerProcess::start(
        binary("real_world_scenarios").to_str().unwrap(),
        &["--port", "0", "--threads", "1", "--argon2-memory-kib", "64"],
        Duration::from_secs(30),
    )
    .unwrap();
    let file = dir.join("register.py");
    export(
        &file,
        &[
            "--category",
            "real_world_scenarios",
            "--endpoints",
            "register,login",
        ],
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("class Register(ContractUser):"), "{text}");
    headless(&locust, &dir, &file, &server.url, 4, "3s", "out");
    let rows = read_stats(&dir.join("out_stats.csv")).unwrap();
    let register = rows.iter().find(|r| r.name == "register").unwrap();
    assert!(register.requests > 4, "{register:?}");
    for r in &rows {
        assert_eq!(r.failures, 0, "{r:?}");
    }
}

#[test]
fn an_external_server_is_measured_where_it_runs_and_reported_beside_locust() {
    require_wrk();
    build_servers();
    let locust = locust();
    let dir = temp_dir("remote");
    let registry = registry(&dir, "");
    let server = ServerProcess::start(
        bin_dir().join("basic").to_str().unwrap(),
        &["--port", "0", "--threads", "1"],
        Duration::from_secs(30),
    )
    .unwrap();
    let pid = server.pid().to_string();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "run",
            "--url",
            &server.url,
            "--framework",
            "reference",
            "--category",
            "basic",
            "--endpoints",
            "hello_world,json_echo",
            "--duration",
            "1s",
            "--warmup",
            "0s",
            "--repeat",
            "1",
            "--connections",
            "4",
            "--open-model",
            "none",
            "--registry",
            registry.to_str().unwrap(),
            "--output",
            dir.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let out = runner(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        results_path(&out)
    };
    let sampled = run(&["--pid", &pid]);
    let unsampled = run(&[]);
    for (path, with_pid) in [(&sampled, true), (&unsampled, false)] {
        let r = load_results(path);
        let c = &r["frameworks"][0]["categories"][0];
        assert_eq!(c["server"]["external"], true, "{c}");
        assert_eq!(c["server"]["url"], server.url.as_str());
        assert_eq!(c["server"]["command"], serde_json::json!([]));
        assert!(c["verify"]["failed"] == 0 && c["verify"]["passed"].as_u64().unwrap() > 0);
        assert_eq!(c["results"].as_array().unwrap().len(), 2, "{c}");
        for m in c["results"].as_array().unwrap() {
            assert!(m["requests_per_second"].as_f64().unwrap() > 0.0);
            // Unavailable is null, never zero.
            if with_pid {
                assert!(m["cpu"]["us_per_request"].as_f64().unwrap() > 0.0, "{m}");
                assert!(m["memory"]["peak_rss_bytes"].as_u64().unwrap() > 0, "{m}");
            } else {
                assert!(m["cpu"].is_null() && m["memory"].is_null(), "{m}");
                assert!(m["ceiling_cpu_ratio"].is_null(), "{m}");
            }
        }
    }
    // The server was left running: someone else started it.
    assert!(answers_health(&server.url), "the server was stopped");
    // An unreachable server is refused before anything is measured.
    let out = runner(&[
        "run",
        "--url",
        "http://127.0.0.1:1",
        "--framework",
        "reference",
        "--category",
        "basic",
        "--open-model",
        "none",
        "--registry",
        registry.to_str().unwrap(),
        "--output",
        dir.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("nothing answers at http://127.0.0.1:1"),
        "{}",
        stderr(&out)
    );

    let imported = locust_run(&locust, &dir, "basic", &server.url);
    let md = report_of(&[&sampled, &imported], &dir.join("report"));
    let wrk_stem = sampled.file_stem().unwrap().to_str().unwrap();
    let locust_stem = imported.file_stem().unwrap().to_str().unwrap();
    assert!(
        md.contains(&format!("| reference ({wrk_stem}) | hello_world |")),
        "{md}"
    );
    assert!(
        md.contains(&format!(
            "| reference (locust, {locust_stem}) | hello_world |"
        )),
        "{md}"
    );
    assert!(md.contains("Load: locust 2."), "{md}");
    assert!(md.contains("imported, not verified by the runner"), "{md}");
}
