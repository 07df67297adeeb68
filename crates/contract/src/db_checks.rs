//! Black-box checks of a `database` category server beyond its contract,
//! for any framework's server: concurrent transfers keep every balance and
//! the total, SQL metacharacters are stored as data, and a database that
//! goes away gives 503 JSON and is reconnected to when it comes back.
//! Each gives the first problem found.

use anyhow::{anyhow, bail, ensure, Context, Result};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// The accounts the transfer checks move money between.
const ACCOUNTS: [i64; 4] = [1, 2, 3, 4];

/// A client for the checks (no proxy, 30 s per request).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default()
}

/// `GET url` answered 200 with JSON.
pub async fn get_json(c: &reqwest::Client, url: &str) -> Result<Value> {
    let r = c
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = r.status().as_u16();
    let body = r.text().await.unwrap_or_default();
    ensure!(status == 200, "GET {url} answered {status}: {body}");
    serde_json::from_str(&body).with_context(|| format!("GET {url}: not JSON: {body}"))
}

async fn balances(c: &reqwest::Client, base: &str) -> Result<HashMap<i64, i64>> {
    let mut out = HashMap::new();
    for id in ACCOUNTS {
        let a = get_json(c, &format!("{base}/accounts/{id}")).await?;
        let balance = a["balance"]
            .as_i64()
            .ok_or_else(|| anyhow!("account {id} has no balance: {a}"))?;
        out.insert(id, balance);
    }
    Ok(out)
}

/// 16 clients move money both ways between four accounts for `seconds`:
/// the net change of each account by the transfers answered 201, and how
/// many were. A 5xx fails.
async fn contend(base: &str, seconds: u64) -> Result<(HashMap<i64, i64>, usize)> {
    let c = client();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut clients = tokio::task::JoinSet::new();
    for k in 0..16usize {
        let (c, base) = (c.clone(), base.to_owned());
        clients.spawn(async move {
            let mut moved: HashMap<i64, i64> = HashMap::new();
            let (mut done, mut i) = (0usize, k);
            while Instant::now() < deadline {
                i += 1;
                let from = ACCOUNTS[i % 4];
                let to = ACCOUNTS[(i / 4 + 1 + i % 4) % 4];
                if from == to {
                    continue;
                }
                let amount = 1 + (i as i64 * 7919) % 500;
                let r = c
                    .post(format!("{base}/transfers"))
                    .json(&json!({"from": from, "to": to, "amount": amount}))
                    .send()
                    .await?;
                let status = r.status().as_u16();
                if status >= 500 {
                    bail!("a transfer answered {status}: {}", r.text().await?);
                }
                if status == 201 {
                    *moved.entry(from).or_default() -= amount;
                    *moved.entry(to).or_default() += amount;
                    done += 1;
                }
            }
            Ok((moved, done))
        });
    }
    let (mut total, mut done) = (HashMap::new(), 0);
    while let Some(joined) = clients.join_next().await {
        let (moved, n) = joined??;
        for (k, v) in moved {
            *total.entry(k).or_default() += v;
        }
        done += n;
    }
    Ok((total, done))
}

/// Transfers from 16 concurrent clients for `seconds`: none answered 5xx,
/// each balance equals its value before plus a replay of the transfers
/// answered 201, the total is unchanged, and at least `at_least` went
/// through. Gives how many did.
pub async fn transfers_keep_every_balance(
    base: &str,
    seconds: u64,
    at_least: usize,
) -> Result<usize> {
    let c = client();
    let before = balances(&c, base).await?;
    let total = get_json(&c, &format!("{base}/accounts/total")).await?["total"].clone();
    let (moved, done) = contend(base, seconds).await?;
    ensure!(
        done >= at_least,
        "only {done} transfers went through (at least {at_least} expected)"
    );
    let after = balances(&c, base).await?;
    for id in ACCOUNTS {
        let want = before[&id] + moved.get(&id).copied().unwrap_or(0);
        ensure!(
            after[&id] == want,
            "account {id}: balance {} but the answered transfers give {want}",
            after[&id]
        );
    }
    let now = get_json(&c, &format!("{base}/accounts/total")).await?["total"].clone();
    ensure!(now == total, "the total moved from {total} to {now}");
    Ok(done)
}

/// A user whose name and email are SQL is stored and read back verbatim,
/// and the tables it names are intact.
pub async fn metacharacters_are_data(base: &str) -> Result<()> {
    let c = client();
    let name = "'; DROP TABLE users; --";
    let email = "x'); DELETE FROM accounts; --@example.com";
    let r = c
        .post(format!("{base}/users"))
        .json(&json!({"name": name, "email": email}))
        .send()
        .await?;
    let status = r.status().as_u16();
    let created: Value = r.json().await?;
    ensure!(status == 201, "POST /users answered {status}: {created}");
    let id = created["id"]
        .as_i64()
        .ok_or_else(|| anyhow!("no id: {created}"))?;
    let back = get_json(&c, &format!("{base}/users/{id}")).await?;
    ensure!(
        back["name"] == name && back["email"] == email,
        "read back as {back}"
    );
    let page = get_json(&c, &format!("{base}/users?limit=1")).await?;
    ensure!(page["users"][0]["id"] == 1, "users: {page}");
    let total = get_json(&c, &format!("{base}/accounts/total")).await?;
    ensure!(total["accounts"] == 1000, "accounts: {total}");
    Ok(())
}

/// The server's PostgreSQL database (`database_url`) refuses connections
/// and drops the open ones: reads and a transfer answer 503
/// `database_unavailable`; allowed again, within 10 s the server answers
/// 30 reads in a row.
pub async fn outage_gives_503_then_recovers(base: &str, database_url: &str) -> Result<()> {
    let (server, name) = database_url
        .rsplit_once('/')
        .ok_or_else(|| anyhow!("no database name in {database_url}"))?;
    let maintenance = format!("{server}/postgres");
    let c = client();
    get_json(&c, &format!("{base}/db")).await?;
    crate::postgres::query(
        &maintenance,
        &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"),
    )?;
    crate::postgres::query(
        &maintenance,
        &format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"),
    )?;
    let during = async {
        for path in ["/db", "/users/1", "/accounts/total"] {
            let r = c.get(format!("{base}{path}")).send().await?;
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap_or_default();
            ensure!(
                status == 503 && body["error"] == "database_unavailable",
                "{path} answered {status} {body} while the database was away"
            );
        }
        let r = c
            .post(format!("{base}/transfers"))
            .json(&json!({"from": 1, "to": 2, "amount": 5}))
            .send()
            .await?;
        ensure!(
            r.status().as_u16() == 503,
            "a transfer answered {} while the database was away",
            r.status()
        );
        Ok(())
    }
    .await;
    crate::postgres::query(
        &maintenance,
        &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"),
    )?;
    during?;
    // A connection broken while the database was away may fail one more
    // request before its process replaces it (and the others it holds); a
    // new connection per request reaches every worker process.
    let c = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut in_a_row = 0;
    for i in 0usize.. {
        let path = ["/db", "/users/1", "/accounts/total"][i % 3];
        let status = c
            .get(format!("{base}{path}"))
            .send()
            .await?
            .status()
            .as_u16();
        in_a_row = if status == 200 { in_a_row + 1 } else { 0 };
        if in_a_row == RECOVERED {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "no recovery: {path} still answers {status}"
        );
        if status != 200 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

/// Answers in a row that show a server has recovered.
const RECOVERED: usize = 30;
