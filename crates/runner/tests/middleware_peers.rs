//! The Python peers' `middleware` servers, started from the checked-in
//! registry: with two worker processes every heavy-stack request is one
//! line in the shared access log, counted once across the processes; with
//! one process and `--rate-limit 3` the fourth request is refused while
//! another subject is served. (`peers.rs` verifies their contract; the
//! Rust servers are held to the same in their own tests.)

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use contract::middleware_checks::{access_log_matches, client, rate_limit_holds};
use runner::registry::{with_workers, Registry};
use runner::server::{Launch, Server};
use std::time::Duration;

const CATEGORY: &str = "middleware";

#[test]
fn python_peers_log_every_request_and_limit_rates() {
    let root = repo_root();
    let registry = Registry::load(&root.join("frameworks.toml")).unwrap();
    setup_peers(&root);
    let dir = temp_dir("middleware-peers");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let contract = contract::load(CATEGORY).unwrap();
    let peers = python_peers(&registry, CATEGORY);
    assert!(peers.len() >= 4, "{peers:?}");
    let c = client();
    for name in peers {
        let f = &registry.frameworks[&name];
        let command = f.command_for(CATEGORY, 0).unwrap();
        let start = |workers: u32, extra: &[&str], label: &str| {
            let mut command = with_workers(&command, workers).0;
            command.extend(extra.iter().map(|s| (*s).to_owned()));
            Server::start(&Launch {
                label: label.to_owned(),
                command,
                health: f.health.clone(),
                root: root.clone(),
                log: dir.join(format!("{label}.log")),
                startup_timeout: Duration::from_secs(60),
                cpus: None,
                database: None,
                upstream: None,
            })
            .unwrap_or_else(|e| panic!("{name}: {e:#}"))
        };
        let log = dir.join(format!("{name}-access.log"));
        let server = start(
            2,
            &["--access-log", log.to_str().unwrap()],
            &format!("{name}-log"),
        );
        let outcome = rt.block_on(async {
            let report =
                contract::verify(&contract, &contract::VerifyOptions::new(server.url())).await;
            anyhow::ensure!(report.passed(), "\n{}", report.table());
            access_log_matches(&c, server.url(), &log).await
        });
        if let Err(e) = outcome {
            let text = std::fs::read_to_string(server.log().unwrap()).unwrap_or_default();
            panic!("{name}: {e:#}\nserver log:\n{text}");
        }
        server.stop();
        let server = start(1, &["--rate-limit", "3"], &format!("{name}-limit"));
        rt.block_on(rate_limit_holds(&c, server.url()))
            .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        server.stop();
    }
}
