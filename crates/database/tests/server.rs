//! The database server on an ephemeral port, on SQLite and on PostgreSQL
//! (the project's own cluster, a fresh database per test; skipped with a
//! reason when PostgreSQL cannot be started and `BENCH_REQUIRE_POSTGRES` is
//! unset): its contract, the transfer invariant under contention, a
//! restart on the same database after kill -9, SQL metacharacters stored
//! verbatim, and a database that goes away and comes back.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use contract::process::ServerProcess;
use serde_json::{json, Value};
use std::collections::HashMap;
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

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn get(c: &reqwest::Client, url: &str) -> Value {
    let r = c.get(url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "{url}");
    r.json().await.unwrap()
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

/// 16 clients move money both ways between four accounts at once: no 5xx,
/// the total never changes, and each balance equals its seeded value plus
/// a replay of the transfers that were answered 201.
async fn contend(url: &str, seconds: u64) -> (HashMap<i64, i64>, usize) {
    let c = client();
    let accounts = [1i64, 2, 3, 4];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    let clients = (0..16).map(|k| {
        let (c, url) = (c.clone(), url.to_owned());
        async move {
            let mut moved: HashMap<i64, i64> = HashMap::new();
            let mut done = 0usize;
            let mut i = k;
            while tokio::time::Instant::now() < deadline {
                i += 1;
                let from = accounts[i % 4];
                let to = accounts[(i / 4 + 1 + i % 4) % 4];
                if from == to {
                    continue;
                }
                let amount = 1 + (i as i64 * 7919) % 500;
                let r = c
                    .post(format!("{url}/transfers"))
                    .json(&json!({"from": from, "to": to, "amount": amount}))
                    .send()
                    .await;
                let Ok(r) = r else { break };
                let status = r.status().as_u16();
                assert!(status < 500, "transfer answered {status}");
                if status == 201 {
                    *moved.entry(from).or_default() -= amount;
                    *moved.entry(to).or_default() += amount;
                    done += 1;
                }
            }
            (moved, done)
        }
    });
    let mut total: HashMap<i64, i64> = HashMap::new();
    let mut done = 0;
    for (moved, n) in futures_util::future::join_all(clients).await {
        for (k, v) in moved {
            *total.entry(k).or_default() += v;
        }
        done += n;
    }
    (total, done)
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
    let c = client();
    let before: HashMap<i64, i64> = {
        let mut m = HashMap::new();
        for id in 1..=4 {
            let a = get(&c, &format!("{}/accounts/{id}", server.url)).await;
            m.insert(id, a["balance"].as_i64().unwrap());
        }
        m
    };
    let total = get(&c, &format!("{}/accounts/total", server.url)).await["total"].clone();
    let (moved, done) = contend(&server.url, 3).await;
    assert!(done > 100, "only {done} transfers went through");
    for id in 1..=4 {
        let a = get(&c, &format!("{}/accounts/{id}", server.url)).await;
        assert_eq!(
            a["balance"].as_i64().unwrap(),
            before[&id] + moved.get(&id).copied().unwrap_or(0),
            "account {id}"
        );
    }
    assert_eq!(
        get(&c, &format!("{}/accounts/total", server.url)).await["total"],
        total
    );
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
    let c = client();
    let name = "'; DROP TABLE users; --";
    let r = c
        .post(format!("{}/users", server.url))
        .json(&json!({"name": name, "email": "x'); DELETE FROM accounts; --@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let created: Value = r.json().await.unwrap();
    let id = created["id"].as_i64().unwrap();
    let back = get(&c, &format!("{}/users/{id}", server.url)).await;
    assert_eq!(back["name"], name);
    assert_eq!(back["email"], "x'); DELETE FROM accounts; --@example.com");
    let page = get(&c, &format!("{}/users?limit=1", server.url)).await;
    assert_eq!(page["users"][0]["id"], 1);
    assert_eq!(
        get(&c, &format!("{}/accounts/total", server.url)).await["accounts"],
        1000
    );
}

/// Runs SQL on the cluster's maintenance database as the `bench` role.
fn psql(url: &str, sql: &str) {
    let maintenance = format!("{}/postgres", url.rsplit_once('/').unwrap().0);
    if let Err(e) = contract::postgres::query(&maintenance, sql) {
        panic!("{sql}: {e:#}");
    }
}

#[tokio::test]
async fn a_database_that_goes_away_gives_503_then_recovers() {
    let Some(url) = postgres("outage") else {
        return;
    };
    let name = url.rsplit('/').next().unwrap().to_owned();
    let server = start(&["--database", &url]);
    let c = client();
    get(&c, &format!("{}/db", server.url)).await;
    // The database refuses new connections and drops the open ones.
    psql(
        &url,
        &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"),
    );
    psql(
        &url,
        &format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"),
    );
    for path in ["/db", "/users/1", "/accounts/total"] {
        let r = c.get(format!("{}{path}", server.url)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 503, "{path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "database_unavailable", "{path}: {body}");
    }
    let r = c
        .post(format!("{}/transfers", server.url))
        .json(&json!({"from": 1, "to": 2, "amount": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    // Back: the server reconnects on its own.
    psql(
        &url,
        &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = c.get(format!("{}/db", server.url)).send().await.unwrap();
        if r.status().as_u16() == 200 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no recovery: {}",
            r.status()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
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
