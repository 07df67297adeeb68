//! The Python peers against every contract, started from the checked-in
//! registry (which sets up their environment first): FastAPI, Flask and
//! Django pass every check, and Catzilla fails exactly the checks the
//! registry documents as its framework's own limitations — a new failure and
//! a limitation that went away both fail this test.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use runner::registry::Registry;
use std::collections::BTreeSet;
use std::path::Path;

/// The ceiling started as the upstream, stopped however the test ends.
struct Upstream(std::process::Child);

impl Drop for Upstream {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn python_peers_fail_nothing_but_their_documented_limitations() {
    let registry_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../frameworks.toml");
    let registry = Registry::load(&registry_path).unwrap();
    let dir = temp_dir("peers");
    let json = dir.join("matrix.json");
    // The async_operations upstream: the ceiling built next to the runner
    // (the registry's is a release build).
    build_servers();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _upstream = Upstream(
        std::process::Command::new(bin_dir().join("ceiling"))
            .args(["--port", &port.to_string(), "--threads", "1"])
            .spawn()
            .unwrap(),
    );
    let upstream_url = format!("http://127.0.0.1:{port}/");
    let ready = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(ready, "the upstream did not start");
    let out = runner(&[
        "verify",
        "--upstream",
        &upstream_url,
        "--framework",
        "fastapi,catzilla,flask,django",
        "--category",
        "all",
        "--registry",
        registry_path.to_str().unwrap(),
        "--output",
        dir.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let matrix: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&json)
            .unwrap_or_else(|e| panic!("no matrix ({e}): {stdout}{}", stderr(&out))),
    )
    .unwrap();
    let cells = matrix["cells"].as_array().unwrap();
    let implemented: usize = ["fastapi", "catzilla", "flask", "django"]
        .iter()
        .map(|name| registry.frameworks[*name].categories.len())
        .sum();
    assert_eq!(cells.len(), implemented, "{stdout}");
    for cell in cells {
        let framework = cell["framework"].as_str().unwrap();
        let category = cell["category"].as_str().unwrap();
        assert!(
            cell["error"].is_null(),
            "{framework}/{category}: {}",
            cell["error"]
        );
        assert!(cell["passed"].as_u64().unwrap() > 0);
        let failed: BTreeSet<&str> = cell["failures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().split(':').next().unwrap())
            .collect();
        let documented: BTreeSet<&str> = registry.frameworks[framework]
            .known_failures
            .iter()
            .filter(|k| k.category == category)
            .map(|k| k.check.as_str())
            .collect();
        assert_eq!(
            failed, documented,
            "{framework}/{category}: failed checks differ from the documented limitations\n{stdout}"
        );
        // A crash is only acceptable during a documented check.
        for crash in cell["crashes"].as_array().unwrap() {
            let during = crash["during"].as_str().unwrap();
            let check = during.strip_prefix("verify: ").unwrap();
            assert!(
                documented.iter().any(|d| d.ends_with(&format!(" {check}"))),
                "{framework}/{category}: undocumented crash during {during}: {crash}"
            );
        }
    }
    // FastAPI, Flask and Django have no limitation at all.
    for name in ["fastapi", "flask", "django"] {
        assert!(
            registry.frameworks[name].known_failures.is_empty(),
            "{name}"
        );
    }
}
