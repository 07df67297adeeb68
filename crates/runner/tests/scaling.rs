//! Scaling runs (`runner run --state`): each stateful category's store is
//! filled with its contract's preload requests to each size in turn, its
//! listing and stats endpoints are measured at every size, and the report
//! shows their cost against the store's size; a preload the server refuses
//! ends the category with the reason.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use contract::process::ServerProcess;
use serde_json::Value;
use std::time::Duration;

/// The stateful reference servers in a test registry, `extra` arguments
/// added to the command of the category it names, with the scaling room the
/// checked-in registry gives them (unless `room` is false).
fn stateful_registry(dir: &std::path::Path, extra: (&str, &str), room: bool) -> std::path::PathBuf {
    let command = |category: &str| {
        let mut args = String::new();
        if category == extra.0 {
            args.push_str(extra.1);
        }
        // Cheap password hashing: the debug build verifies flows that
        // register and log in.
        if category == "real_world_scenarios" {
            args.push_str(", \"--argon2-memory-kib\", \"64\"");
        }
        format!(
            "{category} = [\"{}\", \"--port\", \"{{port}}\", \"--threads\", \"1\"{args}]",
            binary(category).display(),
        )
    };
    let scaling = if room {
        "[frameworks.reference.scaling]\n\
         background_tasks = [\"--capacity\", \"{room}\", \"--retain-finished\", \"{room}\"]\n\
         file_operations = [\"--max-stored-files\", \"{room}\"]\n"
    } else {
        ""
    };
    registry(
        dir,
        &format!(
            "{}\n{}\n{}\n\n{scaling}",
            command("background_tasks"),
            command("file_operations"),
            command("real_world_scenarios"),
        ),
    )
}

fn short_run<'a>(registry: &'a str, output: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "run",
        "--registry",
        registry,
        "--framework",
        "reference",
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
        "--output",
        output,
    ];
    args.extend_from_slice(extra);
    args
}

fn category_of<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["frameworks"][0]["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["category"] == name)
        .unwrap_or_else(|| panic!("no {name} in the results"))
}

#[test]
fn a_scaling_run_fills_each_store_and_measures_its_listings_at_every_size() {
    require_wrk();
    build_servers();
    let dir = temp_dir("scaling");
    let registry = stateful_registry(&dir, ("", ""), true);
    let out = runner(&short_run(
        registry.to_str().unwrap(),
        dir.to_str().unwrap(),
        &[
            "--category",
            "background_tasks,file_operations,real_world_scenarios",
            "--endpoints",
            "list_filtered,stats,list_by_category,dashboard",
            "--state",
            "120,40",
        ],
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = load_results(&results_path(&out));
    assert_eq!(doc["parameters"]["state"], serde_json::json!([40, 120]));
    for (name, endpoints) in [
        ("background_tasks", &["list_filtered", "stats"][..]),
        ("file_operations", &["list_by_category", "stats"][..]),
        ("real_world_scenarios", &["dashboard"][..]),
    ] {
        let c = category_of(&doc, name);
        assert!(c["error"].is_null(), "{name}: {}", c["error"]);
        assert_eq!(c["failed_targets"], serde_json::json!([]), "{name}");
        let steps: Vec<(u64, u64)> = c["preload"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["records"].as_u64().unwrap(), s["sent"].as_u64().unwrap()))
            .collect();
        assert_eq!(steps, [(40, 40), (120, 80)], "{name}: filled in two steps");
        for step in c["preload"].as_array().unwrap() {
            let (records, held) = (
                step["records"].as_u64().unwrap(),
                step["held"].as_u64().unwrap(),
            );
            // Real-world counts its events: every other preload request.
            let sent = if name == "real_world_scenarios" {
                records / 2
            } else {
                records
            };
            assert!(held >= sent, "{name}: holds {held} of {sent}");
        }
        // The one server was started with room for twice the largest size.
        let command = c["server"]["command"].as_array().unwrap();
        if name != "real_world_scenarios" {
            assert!(command.iter().any(|a| a == "240"), "{name}: {command:?}");
        }
        for e in endpoints {
            let sizes: Vec<u64> = c["results"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["name"] == *e)
                .map(|m| {
                    assert!(m["cpu"]["us_per_request"].as_f64().unwrap() > 0.0);
                    assert_eq!(m["load_checks"]["failed"], 0, "{name}/{e}");
                    m["state"].as_u64().unwrap()
                })
                .collect();
            assert_eq!(sizes, [40, 120], "{name}/{e}");
        }
    }
    let report_dir = dir.join("report");
    let md = report_of(&[&results_path(&out)], &report_dir);
    for name in [
        "background_tasks",
        "file_operations",
        "real_world_scenarios",
    ] {
        assert!(
            md.contains(&format!("### {name}: cost against the store's size")),
            "{md}"
        );
        assert!(report_dir.join(format!("{name}-scaling.svg")).is_file());
    }
    assert!(md.contains("| 40 records | 120 records | growth |"), "{md}");
    assert!(md.contains("list_filtered · 120 records"), "{md}");
}

/// An external server is filled from where it stands: its store grows by
/// exactly what the preload sent, beyond what verification added.
#[test]
fn an_external_server_holds_the_preloaded_records_afterwards() {
    require_wrk();
    build_servers();
    let dir = temp_dir("scaling-external");
    let registry = registry(&dir, "");
    let server = ServerProcess::start(
        binary("background_tasks").to_str().unwrap(),
        &["--port", "0", "--threads", "1"],
        Duration::from_secs(30),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let total = || -> u64 {
        let url = format!("{}/tasks?limit=1", server.url);
        let body: Value = rt
            .block_on(async { reqwest::get(url).await?.json().await })
            .unwrap();
        body["total"].as_u64().unwrap()
    };
    let before = total();
    let pid = server.pid().to_string();
    let out = runner(&short_run(
        registry.to_str().unwrap(),
        dir.to_str().unwrap(),
        &[
            "--url",
            &server.url,
            "--pid",
            &pid,
            "--category",
            "background_tasks",
            "--endpoints",
            "list_tasks",
            "--state",
            "300",
        ],
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    let added = total() - before;
    // Verification creates a few dozen tasks; the preload 300 more.
    assert!((300..400).contains(&added), "{added} tasks added");
    let doc = load_results(&results_path(&out));
    let c = category_of(&doc, "background_tasks");
    assert_eq!(c["preload"][0]["sent"], 300);
    assert!(c["preload"][0]["settled_seconds"].as_f64().is_some());
    assert_eq!(c["results"][0]["state"], 300);
}

/// Runs a scaling run of `category` on a server started with `extra`
/// arguments (and no scaling room), which must fail: the category's error,
/// with nothing measured.
fn failed_scaling(name: &str, category: &str, endpoint: &str, state: &str, extra: &str) -> String {
    require_wrk();
    build_servers();
    let dir = temp_dir(name);
    let registry = stateful_registry(&dir, (category, extra), false);
    let out = runner(&short_run(
        registry.to_str().unwrap(),
        dir.to_str().unwrap(),
        &[
            "--category",
            category,
            "--endpoints",
            endpoint,
            "--state",
            state,
        ],
    ));
    assert!(!out.status.success(), "{name}: the run must fail");
    let doc = load_results(&results_path(&out));
    let c = category_of(&doc, category);
    assert_eq!(c["results"], serde_json::json!([]), "nothing measured");
    c["error"].as_str().unwrap().to_owned()
}

/// A preload the server refuses (uploads over its file size limit) ends the
/// category with the request and the answer that stopped it.
#[test]
fn a_refused_preload_ends_the_category_with_the_reason() {
    let error = failed_scaling(
        "scaling-refused",
        "file_operations",
        "list_files",
        "50",
        ", \"--max-file-bytes\", \"512\"",
    );
    assert!(
        error.contains("filling the store to 50 records")
            && error.contains("upload_single")
            && error.contains("413"),
        "{error}"
    );
}

/// A store that evicts (finished tasks retained: 50) is not measured at a
/// size it does not hold: the count read back after filling says so.
#[test]
fn an_evicting_store_is_not_measured_at_a_size_it_does_not_hold() {
    let error = failed_scaling(
        "scaling-evicting",
        "background_tasks",
        "list_tasks",
        "200",
        ", \"--retain-finished\", \"50\"",
    );
    assert!(
        error.contains("of the 200 records sent") && error.contains("evicted or dropped"),
        "{error}"
    );
}

#[test]
fn scaling_flags_are_checked_before_anything_starts() {
    for (args, expected) in [
        (&["--state", "0"][..], "at least 1 record"),
        (
            &["--state", "10", "--category", "basic"][..],
            "declares a preload",
        ),
        (
            &["--state", "10", "--scenarios"][..],
            "--scenarios does not apply",
        ),
        (&["--state", "ten"][..], "invalid digit"),
    ] {
        let mut all = vec!["run"];
        all.extend_from_slice(args);
        let out = runner(&all);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}
