//! The Python peers' `async_operations` servers, started from the checked-in
//! registry with two worker processes and a counting upstream: each upstream
//! call really reaches the upstream, timer waits overlap, and with the
//! upstream gone the answer is a 502 JSON error. (`peers.rs` verifies their
//! contract; the Rust servers are held to the same in their own tests.)

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use contract::async_checks::{self, Canned};
use runner::registry::{with_workers, Registry};
use runner::server::{Launch, Server};
use runner::upstream::Upstream;
use std::time::Duration;

const CATEGORY: &str = "async_operations";

#[test]
fn python_peers_call_their_upstream_and_wait_without_blocking() {
    let root = repo_root();
    let registry = Registry::load(&root.join("frameworks.toml")).unwrap();
    setup_peers(&root);
    let dir = temp_dir("async-peers");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let upstream = rt
        .block_on(Canned::start("Hello, World!", "text/plain"))
        .unwrap();
    let dead = async_checks::dead_upstream().unwrap();
    let peers = python_peers(&registry, CATEGORY);
    assert!(peers.len() >= 4, "{peers:?}");
    let c = async_checks::client();
    for name in peers {
        let f = &registry.frameworks[&name];
        let command = f.command_for(CATEGORY, 0).unwrap();
        let start = |url: &str, label: &str| {
            Server::start(&Launch {
                label: label.to_owned(),
                command: with_workers(&command, 2).0,
                health: f.health.clone(),
                root: root.clone(),
                log: dir.join(format!("{label}.log")),
                startup_timeout: Duration::from_secs(60),
                cpus: None,
                database: None,
                upstream: Some(Upstream {
                    url: url.to_owned(),
                    pid: None,
                }),
            })
            .unwrap_or_else(|e| panic!("{name}: {e:#}"))
        };
        let mut server = start(upstream.url(), &format!("{name}-async"));
        let outcome = rt.block_on(async {
            async_checks::upstream_calls_are_real(&c, server.url(), &upstream).await?;
            async_checks::waits_overlap(&c, server.url(), 16).await
        });
        if let Err(e) = outcome {
            let log = std::fs::read_to_string(server.log().unwrap()).unwrap_or_default();
            panic!("{name}: {e:#}\nserver log:\n{log}");
        }
        assert!(server.exited().is_none(), "{name} died");
        server.stop();
        let server = start(&dead, &format!("{name}-async-dead"));
        rt.block_on(async_checks::unreachable_upstream_gives_502(
            &c,
            server.url(),
        ))
        .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        server.stop();
    }
}
