//! The Python peers' `database` servers, started from the checked-in
//! registry with two worker processes, on SQLite and on PostgreSQL (the
//! project's own cluster, a fresh database per server; skipped with a
//! reason when it cannot be started and `BENCH_REQUIRE_POSTGRES` is unset):
//! 16 concurrent clients' transfers keep every balance and the total, SQL
//! metacharacters are stored as data and, on PostgreSQL, a database that
//! goes away gives 503 JSON and is reconnected to, after which the contract
//! passes with its statement counts, failing only the registry's documented
//! limitations. (`peers.rs` verifies them on SQLite; the servers that embed
//! `shared::db` — the reference, axum, actix-web — are held to the same in
//! `crates/database` and their own tests.)

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use runner::registry::{with_workers, Registry};
use runner::server::{Launch, Server};
use std::collections::BTreeSet;
use std::time::Duration;

fn check_peers(postgres: bool) {
    let root = repo_root();
    let registry = Registry::load(&root.join("frameworks.toml")).unwrap();
    setup_peers(&root);
    let dir = temp_dir(if postgres { "peers-pg" } else { "peers-sqlite" });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let contract = contract::load("database").unwrap();
    let peers = python_peers(&registry, "database");
    assert!(peers.len() >= 4, "{peers:?}");
    for name in peers {
        let f = &registry.frameworks[&name];
        let command = f.command_for("database", 0).unwrap();
        let label = format!("{name}-database-test");
        let mut server = Server::start(&Launch {
            label: label.clone(),
            command: with_workers(&command, 2).0,
            health: f.health.clone(),
            root: root.clone(),
            log: dir.join(format!("{label}.log")),
            startup_timeout: Duration::from_secs(90),
            cpus: None,
            database: postgres.then(|| format!("bench_{}", label.replace('-', "_"))),
            upstream: None,
        })
        .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let url = server.url().to_owned();
        let database_url = server.database_url().map(str::to_owned);
        let outcome: anyhow::Result<()> = rt.block_on(async {
            let done = contract::db_checks::transfers_keep_every_balance(&url, 3, 50).await?;
            eprintln!("{name}: {done} transfers in 3 s");
            contract::db_checks::metacharacters_are_data(&url).await?;
            if let Some(database_url) = &database_url {
                contract::db_checks::outage_gives_503_then_recovers(&url, database_url).await?;
                let mut options = contract::VerifyOptions::new(&url);
                options.database_url = Some(database_url.clone());
                let report = contract::verify(&contract, &options).await;
                let known = f.known_in("database");
                let failed: BTreeSet<String> =
                    runner::conformance::summarize(&report, &contract, &known)
                        .failures
                        .iter()
                        .map(|f| f.split(':').next().unwrap().to_owned())
                        .collect();
                let documented: BTreeSet<String> = known.into_iter().map(|k| k.check).collect();
                anyhow::ensure!(
                    failed == documented,
                    "failed checks differ from the documented limitations\n{}",
                    report.table()
                );
            }
            Ok(())
        });
        if let Err(e) = outcome {
            let log = std::fs::read_to_string(server.log().unwrap()).unwrap_or_default();
            panic!("{name}: {e:#}\nserver log:\n{log}");
        }
        assert!(server.exited().is_none(), "{name} died");
        server.stop();
    }
}

#[test]
fn python_peers_keep_their_data_whole_on_sqlite() {
    check_peers(false);
}

#[test]
fn python_peers_keep_their_data_whole_and_recover_on_postgres() {
    // Starts the cluster, or says why not and skips.
    if contract::postgres::for_test("peers_probe").is_none() {
        return;
    }
    check_peers(true);
}
