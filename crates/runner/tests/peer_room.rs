//! A scaling run gives every peer's bounded stores room for its records:
//! each peer's file_operations server, started with the checked-in
//! registry's scaling arguments for 125,000 records, reports a file quota
//! of 250,000 in its `/stats` (the reference's default is 100,000, so the
//! arguments must have reached the store).

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use runner::registry::{with_workers, Registry};
use runner::server::{Launch, Server};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// A Rust peer's binary built next to the runner (the registry names the
/// release build, which the tests do not make).
fn debug_peer(package: &str) -> String {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["build", "-q", "-p", package]);
    if bin_dir().ends_with("release") {
        cmd.arg("--release");
    }
    assert!(cmd.status().unwrap().success(), "building {package} failed");
    bin_dir().join(package).display().to_string()
}

#[test]
fn every_peer_gives_its_file_store_the_room_a_scaling_run_asks() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let registry = Registry::load(&root.join("frameworks.toml")).unwrap();
    let setup = Command::new(root.join("scripts/setup_peers.sh"))
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(setup.status.success(), "{}", stderr(&setup));
    let dir = temp_dir("peer-room");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for name in [
        "axum",
        "actix-web",
        "fastapi",
        "catzilla",
        "flask",
        "django",
    ] {
        let f = &registry.frameworks[name];
        let mut command = f.command_for("file_operations", 125_000).unwrap();
        if let Some(package) = command[0].strip_prefix("target/release/") {
            command[0] = debug_peer(package);
        }
        let server = Server::start(&Launch {
            label: name.to_owned(),
            command: with_workers(&command, 1).0,
            health: f.health.clone(),
            root: root.clone(),
            log: dir.join(format!("{name}.log")),
            startup_timeout: Duration::from_secs(60),
            cpus: None,
            database: None,
            upstream: None,
        })
        .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let url = format!("{}/stats", server.url());
        let stats: serde_json::Value = rt
            .block_on(async { reqwest::get(url).await?.json().await })
            .unwrap();
        assert_eq!(
            stats["limits"]["max_stored_files"], 250_000,
            "{name}: {stats}"
        );
        server.stop();
    }
}
