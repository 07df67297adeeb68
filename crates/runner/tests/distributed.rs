//! A distributed Locust run over a real network: the reference
//! `real_world_scenarios` server, a Locust master and two workers, each in
//! its own network namespace, joined by a bridge in a fifth one:
//!
//! ```text
//!   fbPID-srv      fbPID-master     fbPID-w1       fbPID-w2
//!   eth0 .1        eth0 .2          eth0 .3        eth0 .4
//!     │              │                │              │
//!   v-srv ───────── v-master ─────── v-w1 ───────── v-w2     (br0 in fbPID-hub)
//! ```
//!
//! on `10.231.(PID % 250).0/24`. The locustfile comes from `runner export
//! locust` (scenario `product_browsing`), the workers load the server while
//! the master only coordinates, and `runner import locust` turns the master's
//! CSV into a results file. Both workers must have sent real traffic (their
//! `eth0` counters), the run must have no failures, the request mix must
//! follow the scenario's weights and the imported counts must equal Locust's
//! own. Skipped (with a message) where namespaces cannot be created.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/netns.rs"]
mod netns;

use common::*;
use netns::{Namespaces, Tx};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const NODES: [&str; 4] = ["srv", "master", "w1", "w2"];
const WORKERS: [&str; 2] = ["w1", "w2"];
const SERVER_PORT: u16 = 8000;
const MASTER_PORT: u16 = 5557;

/// Each worker must send more than this over its interface. A request costs
/// it about 270 bytes (the request and the ACKs of its response: 8 MB for
/// 30 000 requests in one run), while the ZeroMQ control traffic alone (a
/// heartbeat a second, a stats report every three seconds) came to 15 KB in
/// 60 packets over a 15 s run with a worker that made no requests, even with
/// its reports carrying two entries of a hundred response times each. So only
/// a worker that made about a thousand requests or more gets past 256 KiB.
const MIN_WORKER_TX_BYTES: u64 = 256 * 1024;

/// Removes what earlier runs of this test left when they were killed before
/// cleaning up (an interrupted `cargo test`: the processes they started are
/// in groups of their own): namespaces named after a process that is gone,
/// and its files.
fn remove_leftovers() {
    let Ok(list) = netns::ip(&["netns", "list"]) else {
        return;
    };
    for name in list.lines().filter_map(|l| l.split_whitespace().next()) {
        let Some((pid, node)) = name.strip_prefix("fb").and_then(|r| r.split_once('-')) else {
            continue;
        };
        let ours = pid.parse::<u32>().is_ok() && (node == "hub" || NODES.contains(&node));
        if ours && !Path::new("/proc").join(pid).exists() {
            let _ = netns::remove(name);
            let files = std::env::temp_dir().join(format!("runner-test-distributed-{pid}"));
            let _ = std::fs::remove_dir_all(files);
        }
    }
}

/// The last lines of a log file, for failure messages.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// A Python one-liner exiting 0 when `GET URL` answers 200.
const PROBE: &str = "import sys, urllib.request
try:
    sys.exit(urllib.request.urlopen(sys.argv[1], timeout=2).status != 200)
except Exception as e:
    sys.exit(str(e))";

/// A row of Locust's `_stats.csv`.
#[derive(Debug)]
struct Row {
    requests: u64,
    failures: u64,
    rps: f64,
}

/// Locust's `_stats.csv` by request name (`Aggregated` for the total).
fn locust_stats(path: &Path) -> BTreeMap<String, Row> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
    };
    let (name, requests, failures, rps) = (
        col("Name"),
        col("Request Count"),
        col("Failure Count"),
        col("Requests/s"),
    );
    lines
        .map(|line| {
            // Our names need no quoting.
            assert!(!line.contains('"'), "{line}");
            let f: Vec<&str> = line.split(',').collect();
            let row = Row {
                requests: f[requests].parse().unwrap(),
                failures: f[failures].parse().unwrap(),
                rps: f[rps].parse().unwrap(),
            };
            (f[name].to_string(), row)
        })
        .collect()
}

/// A locustfile (given to the workers besides the exported one) that writes
/// how many requests its worker made to the file named by `COUNT_FILE`.
const COUNTER: &str = r#"import os
from locust import events

count = 0

@events.request.add_listener
def _count(**_kwargs):
    global count
    count += 1

@events.quitting.add_listener
def _save(**_kwargs):
    with open(os.environ["COUNT_FILE"], "w") as f:
        f.write(str(count))
"#;

/// Writes the locustfile of scenario `product_browsing` to `path` with
/// `runner export locust`.
fn export_locustfile(path: &Path) {
    let out = runner(&[
        "export",
        "locust",
        "--category",
        "real_world_scenarios",
        "--scenario",
        "product_browsing",
        "--output",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "export failed: {}", stderr(&out));
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains("class ProductBrowsing("), "{text}");
}

/// Imports Locust's CSV files from `dir` with `runner import locust` and
/// checks the results file against the CSV: the same request counts, no
/// failures, and the scenario's mix.
fn check_import(dir: &Path, url: &str, stats: &BTreeMap<String, Row>) -> PathBuf {
    let results_dir = dir.join("results");
    let out = runner(&[
        "import",
        "locust",
        "--stats",
        dir.join("out_stats.csv").to_str().unwrap(),
        "--history",
        dir.join("out_stats_history.csv").to_str().unwrap(),
        "--framework",
        "reference",
        "--category",
        "real_world_scenarios",
        "--scenario",
        "product_browsing",
        "--url",
        url,
        "--workers",
        "2",
        "--output",
        results_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "import failed: {}", stderr(&out));
    let path = results_path(&out);
    let doc = load_results(&path);
    let generator = doc["parameters"]["load_generator"].as_str().unwrap_or("");
    assert!(generator.starts_with("locust"), "{}", doc["parameters"]);

    let results = doc["frameworks"][0]["categories"][0]["results"]
        .as_array()
        .unwrap();
    for m in results {
        assert_eq!(m["errors"]["status"], 0, "{m}");
        assert_eq!(m["error_rate"], 0.0, "{m}");
        assert!(m["requests_per_second"].as_f64().unwrap() > 0.0, "{m}");
    }
    let requests = |kind: &str, name: &str| {
        let m = results
            .iter()
            .find(|m| m["kind"] == kind && m["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name} in {results:#?}"));
        m["requests"].as_u64().unwrap()
    };
    let total = requests("scenario", "product_browsing");
    let list = requests("endpoint", "list_products");
    let get = requests("endpoint", "get_product");
    // The importer's counts are Locust's own.
    assert_eq!(total, stats["Aggregated"].requests, "{stats:#?}");
    assert_eq!(list, stats["list_products"].requests, "{stats:#?}");
    assert_eq!(get, stats["get_product"].requests, "{stats:#?}");

    // A sensible volume, in the scenario's mix (5 : 3; with thousands of
    // requests the sampling error is about 1 %).
    assert!(total > 1000, "only {total} requests");
    let share = list as f64 / (list + get) as f64;
    assert!(
        (share - 5.0 / 8.0).abs() < 0.05,
        "list_products made {share:.3} of the requests, not 5/8"
    );
    path
}

/// `runner run --url` from the master's namespace: the server on another
/// host is verified and loaded with wrk; no ceiling (none runs beside it)
/// and no server CPU or memory (its process is not on this host). Returns
/// the results file.
fn wrk_from_master(net: &Namespaces, dir: &Path, url: &str) -> PathBuf {
    let out_dir = dir.join("wrk");
    let out = net.run(
        "master",
        &[
            env!("CARGO_BIN_EXE_runner"),
            "run",
            "--url",
            url,
            "--framework",
            "reference",
            "--category",
            "real_world_scenarios",
            "--endpoints",
            "list_products,get_product",
            "--duration",
            "1s",
            "--warmup",
            "0s",
            "--repeat",
            "1",
            "--connections",
            "8",
            "--open-model",
            "none",
            "--output",
            out_dir.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let path = results_path(&out);
    let doc = load_results(&path);
    assert_eq!(doc["ceiling"]["results"], serde_json::json!([]), "{doc}");
    let c = &doc["frameworks"][0]["categories"][0];
    assert_eq!(c["verify"]["failed"], 0, "{}", c["verify"]);
    assert_eq!(
        (c["server"]["external"].clone(), c["server"]["url"].clone()),
        (Value::from(true), Value::from(url))
    );
    let results = c["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{c}");
    for m in results {
        assert!(m["requests_per_second"].as_f64().unwrap() > 0.0, "{m}");
        assert!(m["cpu"].is_null() && m["memory"].is_null(), "{m}");
    }
    path
}

/// Starts the server in `srv` and waits until it answers from the master's
/// namespace (and the workers'), then checks it against the contract from
/// there. Its base URL.
fn start_server(net: &mut Namespaces, dir: &Path, python: &str) -> String {
    let log = dir.join("server.log");
    let bin = bin_dir().join("real-world");
    let (addr, port) = (net.addr("srv"), SERVER_PORT.to_string());
    // `X-User-ID` must be believed from other hosts for the order checks.
    let server = net.spawn(
        "srv",
        &[
            bin.to_str().unwrap(),
            "--host",
            &addr,
            "--port",
            &port,
            "--threads",
            "1",
            "--user-id-header",
            "any",
        ],
        &log,
    );
    let base = format!("http://{addr}:{SERVER_PORT}");
    let health = format!("{base}/health");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = net.run("master", &[python, "-c", PROBE, &health]);
        if out.status.success() {
            break;
        }
        assert!(net.running(server), "the server exited:\n{}", tail(&log));
        assert!(
            Instant::now() < deadline,
            "{health} did not answer from the master's namespace within 60 s: {}\nserver log:\n{}",
            stderr(&out),
            tail(&log)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    for node in WORKERS {
        let out = net.run(node, &[python, "-c", PROBE, &health]);
        assert!(
            out.status.success(),
            "{node} cannot reach the server: {}",
            stderr(&out)
        );
    }
    let verify = [
        env!("CARGO_BIN_EXE_runner"),
        "verify",
        "--category",
        "real_world_scenarios",
        "--url",
        &base,
    ];
    let out = net
        .exec("master", &verify)
        .env_remove("BENCH_CONTRACTS")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the server failed verification:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    base
}

/// What a worker did in the run.
#[derive(Debug)]
struct Worker {
    name: &'static str,
    /// What its interface sent during the run.
    sent: Tx,
    /// The requests it made (its `COUNTER`).
    requests: u64,
}

/// The last lines of the master's and the workers' logs in `dir`.
fn logs(dir: &Path) -> String {
    let mut text = format!("master log:\n{}", tail(&dir.join("master.log")));
    for w in WORKERS {
        text += &format!("\n{w} log:\n{}", tail(&dir.join(format!("{w}.log"))));
    }
    text
}

/// Runs `locustfile`'s `ProductBrowsing` against `base` with a master and
/// two workers for 15 s, its CSV files written as `dir/out_*.csv`; what the
/// workers did.
fn run_locust(
    net: &mut Namespaces,
    dir: &Path,
    locust: &str,
    locustfile: &Path,
    base: &str,
) -> Vec<Worker> {
    let counter = dir.join("count_requests.py");
    std::fs::write(&counter, COUNTER).unwrap();
    let before: Vec<Tx> = WORKERS.iter().map(|w| net.tx(w)).collect();
    let csv = dir.join("out");
    let master_addr = net.addr("master");
    let master_port = MASTER_PORT.to_string();
    let master = net.spawn(
        "master",
        &[
            locust,
            "-f",
            locustfile.to_str().unwrap(),
            "ProductBrowsing",
            "--master",
            "--master-bind-host",
            &master_addr,
            "--master-bind-port",
            &master_port,
            "--headless",
            "-u",
            "20",
            "-r",
            "20",
            "-t",
            "15s",
            "--expect-workers",
            "2",
            "--expect-workers-max-wait",
            "60",
            "--host",
            base,
            "--csv",
            csv.to_str().unwrap(),
            "--csv-full-history",
            "--only-summary",
        ],
        &dir.join("master.log"),
    );
    // The workers also load the counter.
    let files = format!("{},{}", locustfile.display(), counter.display());
    let workers: Vec<_> = WORKERS
        .iter()
        .map(|w| {
            let worker = [
                locust,
                "-f",
                &files,
                "ProductBrowsing",
                "--worker",
                "--master-host",
                &master_addr,
                "--master-port",
                &master_port,
            ];
            let mut cmd = net.exec(w, &worker);
            cmd.env("COUNT_FILE", dir.join(format!("{w}.count")));
            net.spawn_command(cmd, &dir.join(format!("{w}.log")))
        })
        .collect();

    let status = net.wait(master, Duration::from_secs(90));
    let status = status.unwrap_or_else(|| panic!("the master ran over 90 s\n{}", logs(dir)));
    assert!(
        status.success(),
        "the master failed: {status}\n{}",
        logs(dir)
    );
    // Told to quit by the master, the workers exit on their own.
    for (w, p) in WORKERS.iter().zip(&workers) {
        if net.wait(*p, Duration::from_secs(10)).is_none() {
            net.kill(*p);
            panic!("{w} did not exit within 10 s of the master\n{}", logs(dir));
        }
    }

    WORKERS
        .iter()
        .zip(before)
        .map(|(&name, before)| {
            let after = net.tx(name);
            let count_file = dir.join(format!("{name}.count"));
            let count = std::fs::read_to_string(&count_file)
                .unwrap_or_else(|e| panic!("{}: {e}\n{}", count_file.display(), logs(dir)));
            Worker {
                name,
                sent: Tx {
                    bytes: after.bytes - before.bytes,
                    packets: after.packets - before.packets,
                },
                requests: count.parse().unwrap(),
            }
        })
        .collect()
}

#[test]
fn two_locust_workers_load_the_server_across_namespaces() {
    remove_leftovers();
    let pid = std::process::id();
    let subnet = [10, 231, (pid % 250) as u8];
    let mut net = match Namespaces::create(&format!("fb{pid}"), subnet, &NODES) {
        Ok(net) => net,
        Err(e) => {
            // CI sets BENCH_REQUIRE_NETNS: there, not running is a failure.
            assert!(
                std::env::var_os("BENCH_REQUIRE_NETNS").is_none(),
                "network namespaces cannot be created here ({e}), and BENCH_REQUIRE_NETNS is set"
            );
            eprintln!("skipped: network namespaces cannot be created here: {e}");
            return;
        }
    };
    build_servers();
    let locust = locust();
    let python = locust.with_file_name("python");
    let (locust, python) = (locust.to_str().unwrap(), python.to_str().unwrap());
    let dir = temp_dir("distributed");

    let base = start_server(&mut net, &dir, python);
    // The locustfile, exported on the host.
    let locustfile = dir.join("locustfile.py");
    export_locustfile(&locustfile);
    let workers = run_locust(&mut net, &dir, locust, &locustfile, &base);

    // Both workers sent real traffic.
    for w in &workers {
        assert!(
            w.sent.bytes > MIN_WORKER_TX_BYTES,
            "{} sent only {:?}\n{}",
            w.name,
            w.sent,
            logs(&dir)
        );
    }
    // Locust's own figures: no failures, and what the workers made (the
    // master may miss a worker's last report, never count more).
    let stats = locust_stats(&dir.join("out_stats.csv"));
    let total = &stats["Aggregated"];
    assert_eq!(total.failures, 0, "{stats:#?}");
    let made: u64 = workers.iter().map(|w| w.requests).sum();
    assert!(total.requests <= made, "{stats:#?}, workers made {made}");

    let imported = check_import(&dir, &base, &stats);

    // wrk from the master's host against the same server, and the report
    // with both runs side by side.
    let measured = wrk_from_master(&net, &dir, &base);
    let md = report_of(&[&measured, &imported], &dir.join("report"));
    for (file, engine) in [(&measured, ""), (&imported, "locust, ")] {
        let stem = file.file_stem().unwrap().to_str().unwrap();
        let row = format!("| reference ({engine}{stem}) | list_products |");
        assert!(md.contains(&row), "no `{row}` in\n{md}");
    }
    assert!(
        md.contains("Ceiling: not measured: the target runs on another machine"),
        "{md}"
    );

    let each: Vec<String> = workers
        .iter()
        .map(|w| {
            format!(
                "{}: {} requests, {} bytes in {} packets sent",
                w.name, w.requests, w.sent.bytes, w.sent.packets
            )
        })
        .collect();
    eprintln!(
        "distributed: {:.0} req/s aggregated, {} requests; {}",
        total.rps,
        total.requests,
        each.join("; ")
    );

    // Everything is gone once the guard is dropped.
    let names = net.names();
    drop(net);
    let listed = netns::ip(&["netns", "list"]).unwrap();
    for name in names {
        assert!(
            !listed.split_whitespace().any(|n| n == name),
            "{name} is still there: {listed}"
        );
    }
}
