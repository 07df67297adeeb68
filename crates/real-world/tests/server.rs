//! The real_world_scenarios server on an ephemeral port: its contract, stock
//! that sells exactly what it has under concurrent orders, and a dashboard
//! that equals a recount of what was tracked.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use contract::process::ServerProcess;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

/// Cheap hashing keeps start-up (100 seeded users) and logins fast here.
fn start() -> ServerProcess {
    start_with(&[])
}

fn start_with(extra: &[&str]) -> ServerProcess {
    let mut args = vec![
        "--port",
        "0",
        "--threads",
        "2",
        "--argon2-memory-kib",
        "256",
        "--argon2-iterations",
        "1",
    ];
    args.extend_from_slice(extra);
    ServerProcess::start(
        env!("CARGO_BIN_EXE_real-world"),
        &args,
        Duration::from_secs(30),
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

#[tokio::test]
async fn real_world_server_passes_verify() {
    let server = start();
    let contract = contract::load("real_world_scenarios").expect("contract loads");
    assert!(contract.negative_cases.len() >= 25);
    let report = contract::verify(&contract, &contract::VerifyOptions::new(&server.url)).await;
    assert!(report.passed(), "\n{}", report.table());
}

#[tokio::test]
async fn fifty_concurrent_orders_sell_exactly_ten() {
    let server = start();
    let c = client();
    let product = format!("{}/api/products/1000", server.url);
    assert_eq!(get(&c, &product).await["stock_quantity"], 10);
    let orders = (0..50).map(|k| {
        let c = c.clone();
        let url = format!("{}/api/orders", server.url);
        async move {
            let body = json!({
                "items": [{"product_id": 1000, "quantity": 1}],
                "shipping_address": {"street": "1 Main St", "city": "Springfield",
                                     "zip_code": "12345", "country": "USA"},
                "payment_method": "paypal",
            });
            let user = (k % 5 + 1).to_string();
            let r = c
                .post(&url)
                .header("X-User-ID", user)
                .json(&body)
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        }
    });
    let tasks: Vec<_> = orders.map(tokio::spawn).collect();
    let mut statuses = BTreeMap::new();
    for t in tasks {
        *statuses.entry(t.await.unwrap()).or_insert(0) += 1;
    }
    assert_eq!(statuses, BTreeMap::from([(201, 10), (409, 40)]));
    let after = get(&c, &product).await;
    assert_eq!(
        (after["stock_quantity"].clone(), after["sold"].clone()),
        (json!(0), json!(10))
    );
    let health = get(&c, &format!("{}/health", server.url)).await;
    assert_eq!(health["orders"]["placed"], 10);
}

#[tokio::test]
async fn dashboard_equals_a_recount_of_tracked_events() {
    let server = start();
    let c = client();
    let types = ["page_view", "click", "purchase", "signup", "login"];
    let days = ["2025-06-01", "2025-06-02", "2025-06-03"];
    let mut sent = Vec::new();
    // Deterministic variety without a generator: strides through the lists.
    for i in 0..300usize {
        let event = (
            types[(i * 7) % 5],
            format!("s{}", (i * 13) % 37),
            format!("https://example.com/p/{}", (i * 11) % 17),
            days[(i * 5) % 3],
        );
        let r = c
            .post(format!("{}/api/analytics/track", server.url))
            .json(&json!({
                "event_type": event.0, "session_id": event.1, "page_url": event.2,
                "user_agent": "recount", "ip_address": "::1",
                "timestamp": format!("{}T{:02}:00:00Z", event.3, i % 24),
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 202);
        sent.push(event);
    }
    let d = get(
        &c,
        &format!(
            "{}/api/analytics/dashboard?date_from=2025-06-02&date_to=2025-06-03",
            server.url
        ),
    )
    .await;
    let in_range: Vec<_> = sent.iter().filter(|e| e.3 != "2025-06-01").collect();
    assert_eq!(d["total_events"], in_range.len());
    for t in types {
        let n = in_range.iter().filter(|e| e.0 == t).count();
        assert_eq!(d["events_by_type"][t], n, "{t}");
    }
    let sessions: HashSet<_> = in_range.iter().map(|e| &e.1).collect();
    assert_eq!(d["unique_sessions"], sessions.len());
    let mut views: HashMap<&str, u64> = HashMap::new();
    for e in in_range.iter().filter(|e| e.0 == "page_view") {
        *views.entry(&e.2).or_default() += 1;
    }
    let mut top: Vec<_> = views.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let got: Vec<(String, u64)> = d["top_pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["page_url"].as_str().unwrap().to_owned(),
                p["views"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, u64)> = top
        .into_iter()
        .take(10)
        .map(|(p, n)| (p.to_owned(), n))
        .collect();
    assert_eq!(got, want);
    assert_eq!(d["active_days"], 2);
}

/// `X-User-ID` proves nothing: with `--user-id-header off` it is ignored
/// even from loopback, and only a bearer token names the user.
#[tokio::test]
async fn the_user_id_header_is_believed_only_as_configured() {
    let order = json!({"items": [{"product_id": 3, "quantity": 1}],
        "shipping_address": {"street": "1 Main St", "city": "Town", "state": "CA",
                             "zip_code": "12345", "country": "USA"},
        "payment_method": "paypal"});
    let c = client();
    for (flag, expected) in [("loopback", 201), ("off", 401)] {
        let server = start_with(&["--user-id-header", flag]);
        let status = c
            .post(format!("{}/api/orders", server.url))
            .header("x-user-id", "7")
            .json(&order)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        assert_eq!(status, expected, "--user-id-header {flag}");
    }
}
