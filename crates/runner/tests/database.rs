//! The `database` category through the runner on PostgreSQL (the project's
//! own cluster; skipped with a reason when it cannot be started here and
//! `BENCH_REQUIRE_POSTGRES` is unset): `verify --database postgres` counts
//! each endpoint's statements in the database's statistics, and a run
//! samples the database's process tree beside the server's and reports
//! both costs.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::path::Path;

fn reference_registry(dir: &Path) -> std::path::PathBuf {
    let database = binary("database");
    registry(
        dir,
        &format!(
            "database = [\"{}\", \"--port\", \"{{port}}\", \"--threads\", \"1\"]",
            database.display()
        ),
    )
}

/// One test, the two in turn: both give the same server the same
/// database name, as two runs on one machine at once would.
#[test]
fn verify_then_run_on_postgres() {
    // Starts the cluster, or says why not and skips.
    if contract::postgres::for_test("runner_probe").is_none() {
        return;
    }
    verify_on_postgres_counts_statements();
    a_run_on_postgres_reports_the_database_cost();
}

fn verify_on_postgres_counts_statements() {
    let dir = temp_dir("database-verify");
    let registry = reference_registry(&dir);
    let json = dir.join("matrix.json");
    let out = runner(&[
        "verify",
        "--framework",
        "reference",
        "--category",
        "database",
        "--database",
        "postgres",
        "--registry",
        registry.to_str().unwrap(),
        "--output",
        dir.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", stderr(&out));
    let matrix: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let cell = &matrix["cells"][0];
    let contract = contract::load("database").unwrap();
    let counted = contract
        .endpoints
        .iter()
        .filter(|e| e.statements.is_some())
        .count();
    assert!(counted >= 4);
    assert_eq!(
        cell["passed"].as_u64().unwrap() as usize,
        contract.endpoints.len()
            + contract.negative_cases.len()
            + contract.flows.len()
            + 1
            + counted,
        "{cell}"
    );
}

fn a_run_on_postgres_reports_the_database_cost() {
    require_wrk();
    build_servers();
    let dir = temp_dir("database-run");
    let registry = reference_registry(&dir);
    let out_dir = dir.join("results");
    let out = runner(&[
        "run",
        "--category",
        "database",
        "--framework",
        "reference",
        "--database",
        "postgres",
        "--duration",
        "1s",
        "--warmup",
        "0s",
        "--repeat",
        "1",
        "--connections",
        "16",
        "--endpoints",
        "db,queries",
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
    assert_eq!(results["parameters"]["database"]["engine"], "postgres");
    assert!(results["parameters"]["database"]["server"]
        .as_str()
        .unwrap()
        .starts_with("PostgreSQL "));
    let category = &results["frameworks"][0]["categories"][0];
    let server = &category["server"]["database"];
    assert!(
        server["engine"]
            .as_str()
            .unwrap()
            .starts_with("PostgreSQL "),
        "{server}"
    );
    assert!(server["pool_size"].as_u64().unwrap() >= 1, "{server}");
    for m in category["results"].as_array().unwrap() {
        let db = m["database"]["cpu"]["us_per_request"].as_f64().unwrap();
        // /queries does twenty reads a request: the database works.
        assert!(db > 0.0, "{}: {m}", m["name"]);
    }
    let md = report_of(&[&path], &dir.join("report"));
    assert!(md.contains("| framework | endpoint | conns | server CPU µs/req | database CPU µs/req | total CPU µs/req |"), "{md}");
    assert!(md.contains("database category on PostgreSQL"), "{md}");
    assert!(md.contains("database: PostgreSQL"), "{md}");
}
