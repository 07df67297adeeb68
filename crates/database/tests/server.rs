//! The database server on an ephemeral port, on SQLite and on PostgreSQL
//! (the project's own cluster, a fresh database per test; skipped with a
//! reason when PostgreSQL cannot be started and `BENCH_REQUIRE_POSTGRES` is
//! unset): its contract, the transfer invariant under contention, a
//! restart on the same database after kill -9, SQL metacharacters stored
//! verbatim, and a database that goes away and comes back.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use contract::db_checks::client;
use contract::process::ServerProcess;
use serde_json::{json, Value};
use std::time::Duration;

fn start(extra: &[&str]) -> ServerProcess {
    let mut args = vec!["--port", "0", "--threads", "2"];
    args.extend_from_slice(extra);
    ServerProcess::start(
        env!("CARGO_BIN_EXE_database"),
        &args,
        Duration::from_secs(60),
    )
    .expect("server starts")
}

async fn get(c: &reqwest::Client, url: &str) -> Value {
    contract::db_checks::get_json(c, url).await.unwrap()
}

/// A fresh PostgreSQL database for one test, or `None` (skipped).
fn postgres(test: &str) -> Option<String> {
    contract::postgres::for_test(&format!("database_{test}"))
}

async fn passes_verify(server: &ServerProcess) {
    verify_counting(server, None).await;
}

/// Verifies; with the server's PostgreSQL database, its statements too.
async fn verify_counting(server: &ServerProcess, database: Option<&str>) {
    let contract = contract::load("database").expect("contract loads");
    let mut options = contract::VerifyOptions::new(&server.url);
    options.database_url = database.map(str::to_owned);
    let report = contract::verify(&contract, &options).await;
    assert!(report.passed(), "\n{}", report.table());
    let counted = report
        .checks
        .iter()
        .filter(|c| c.kind == contract::CheckKind::Statements)
        .count();
    assert_eq!(counted, if database.is_some() { 4 } else { 0 });
}

#[tokio::test]
async fn passes_verify_on_sqlite() {
    passes_verify(&start(&[])).await;
}

#[tokio::test]
async fn passes_verify_on_postgres() {
    let Some(url) = postgres("verify") else {
        return;
    };
    let server = start(&["--database", &url]);
    passes_verify(&server).await;
    let health = get(&client(), &format!("{}/health", server.url)).await;
    assert!(
        health["engine"]
            .as_str()
            .unwrap()
            .starts_with("PostgreSQL "),
        "{health}"
    );
}

#[tokio::test]
async fn concurrent_transfers_keep_every_balance_and_the_total_on_sqlite() {
    transfers_keep_every_balance(&start(&[])).await;
}

#[tokio::test]
async fn concurrent_transfers_keep_every_balance_and_the_total_on_postgres() {
    let Some(url) = postgres("contention") else {
        return;
    };
    transfers_keep_every_balance(&start(&["--database", &url])).await;
}

async fn transfers_keep_every_balance(server: &ServerProcess) {
    if let Err(e) = contract::db_checks::transfers_keep_every_balance(&server.url, 3, 100).await {
        panic!("{e:#}");
    }
}

#[tokio::test]
async fn killed_mid_transfers_restarts_with_the_total_intact_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    killed_mid_transfers(&url).await;
}

#[tokio::test]
async fn killed_mid_transfers_restarts_with_the_total_intact_on_postgres() {
    let Some(url) = postgres("killed") else {
        return;
    };
    killed_mid_transfers(&url).await;
}

async fn killed_mid_transfers(url: &str) {
    let mut server = start(&["--database", url]);
    let c = client();
    let total = get(&c, &format!("{}/accounts/total", server.url)).await["total"].clone();
    let load = tokio::spawn(contend_until_gone(server.url.clone()));
    tokio::time::sleep(Duration::from_millis(700)).await;
    server.kill();
    load.await.unwrap();
    let server = start(&["--database", url]);
    assert_eq!(
        get(&c, &format!("{}/accounts/total", server.url)).await["total"],
        total
    );
    // Every recorded transfer moved money: the seeded balances plus the
    // recorded transfers give the balances found.
    let contract = contract::load("database").expect("contract loads");
    let report = contract::verify(&contract, &contract::VerifyOptions::new(&server.url)).await;
    assert!(report.passed(), "\n{}", report.table());
}

async fn contend_until_gone(url: String) {
    let c = client();
    let mut i = 0i64;
    loop {
        i += 1;
        let (from, to) = if i % 2 == 0 { (1, 2) } else { (2, 1) };
        let sent = c
            .post(format!("{url}/transfers"))
            .json(&json!({"from": from, "to": to, "amount": 1 + i % 50}))
            .send()
            .await;
        if sent.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn sql_metacharacters_are_data_on_sqlite() {
    metacharacters_are_data(&start(&[])).await;
}

#[tokio::test]
async fn sql_metacharacters_are_data_on_postgres() {
    let Some(url) = postgres("metacharacters") else {
        return;
    };
    metacharacters_are_data(&start(&["--database", &url])).await;
}

async fn metacharacters_are_data(server: &ServerProcess) {
    if let Err(e) = contract::db_checks::metacharacters_are_data(&server.url).await {
        panic!("{e:#}");
    }
}

#[tokio::test]
async fn a_database_that_goes_away_gives_503_then_recovers() {
    let Some(url) = postgres("outage") else {
        return;
    };
    let server = start(&["--database", &url]);
    if let Err(e) = contract::db_checks::outage_gives_503_then_recovers(&server.url, &url).await {
        panic!("{e:#}");
    }
    passes_verify(&server).await;
}

/// The control: the statement count can fail. `/cached-queries` reads from
/// the cache, so asking it for one SELECT per row must fail.
#[tokio::test]
async fn statement_counts_catch_a_cache() {
    let Some(url) = postgres("control") else {
        return;
    };
    let server = start(&["--database", &url]);
    let mut contract = contract::load("database").expect("contract loads");
    let cached = contract
        .endpoints
        .iter_mut()
        .find(|e| e.name == "cached_queries")
        .unwrap();
    cached.statements = Some(contract::Statements {
        select: 20,
        updated_rows: 0,
    });
    let mut options = contract::VerifyOptions::new(&server.url);
    options.database_url = Some(url);
    options.check_date = false;
    let report = contract::verify(&contract, &options).await;
    let failed: Vec<_> = report
        .failures()
        .map(|c| (c.kind, c.name.as_str()))
        .collect();
    assert_eq!(
        failed,
        [(contract::CheckKind::Statements, "cached_queries")]
    );
    let detail = &report.failures().next().unwrap().detail;
    assert!(
        detail.contains("SELECTs per request (expected at least 20)"),
        "{detail}"
    );
}
