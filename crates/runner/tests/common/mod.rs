//! Helpers for the runner's tests: the servers' binaries, a registry that
//! points at them, and running the `runner` binary.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Once;

/// The target directory the runner binary was built into.
pub fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_runner"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Builds the server binaries next to the runner (cheap when up to date).
pub fn build_servers() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let release = bin_dir().ends_with("release");
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args([
            "build",
            "-q",
            "-p",
            "basic",
            "-p",
            "ceiling",
            "-p",
            "real-world",
        ]);
        if release {
            cmd.arg("--release");
        }
        let status = cmd.status().unwrap();
        assert!(status.success(), "building the servers failed");
    });
}

/// The reference server of every category, built next to the runner.
pub fn binary(category: &str) -> PathBuf {
    let package = match category {
        "basic" => "basic",
        "validation" => "validation",
        "file_operations" => "file-operations",
        "background_tasks" => "background-tasks",
        "database" => "database",
        "async_operations" => "async-operations",
        "middleware" => "middleware",
        _ => "real-world",
    };
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["build", "-q", "-p", package]);
    if bin_dir().ends_with("release") {
        cmd.arg("--release");
    }
    assert!(cmd.status().unwrap().success(), "building {package} failed");
    bin_dir().join(package)
}

/// wrk must be installed for load tests: `.ci/run` installs it.
pub fn require_wrk() {
    let found = Command::new("wrk").arg("--version").output().is_ok();
    assert!(
        found,
        "wrk is not installed (apt-get install -y wrk); .ci/run installs it"
    );
}

/// oha must be installed for the open-model phase: `.ci/run` runs
/// `scripts/setup_tools.sh`, which puts it in `target/tools/bin`.
pub fn require_oha() {
    let beside = bin_dir().parent().unwrap().join("tools/bin/oha");
    let found = beside.is_file() || Command::new("oha").arg("--version").output().is_ok();
    assert!(
        found,
        "oha is not installed: run scripts/setup_tools.sh (.ci/run does)"
    );
}

/// A registry in `dir` using the freshly built binaries, plus `extra` TOML.
pub fn registry(dir: &Path, extra: &str) -> PathBuf {
    let bin = bin_dir();
    let text = format!(
        r#"
[ceiling]
description = "test ceiling"
command = ["{ceiling}", "--port", "{{port}}", "--threads", "1"]
version = ["{ceiling}", "--version"]
path = "/"

[frameworks.reference]
description = "test reference"
version = ["{basic}", "--version"]
health = "/health"

[frameworks.reference.categories]
basic = ["{basic}", "--port", "{{port}}", "--threads", "1"]
{extra}
"#,
        ceiling = bin.join("ceiling").display(),
        basic = bin.join("basic").display(),
    );
    let path = dir.join("frameworks.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs the runner binary with these arguments.
pub fn runner(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_runner"))
        .args(args)
        .env_remove("BENCH_CONTRACTS")
        .output()
        .unwrap()
}

/// A fresh temporary directory, removed when dropped (also when the test
/// fails).
pub struct TestDir(PathBuf);

impl std::ops::Deref for TestDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TestDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh temporary directory for one test.
pub fn temp_dir(name: &str) -> TestDir {
    let dir = std::env::temp_dir().join(format!("runner-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TestDir(dir)
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Locust from `target/locust-venv`, set up by `scripts/setup_locust.sh`
/// (which `scripts/test.sh` and `.ci/run` run first; quick when it is there).
pub fn locust() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(root.join("scripts/setup_locust.sh"))
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "scripts/setup_locust.sh failed: {}",
        stderr(&out)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let path = root.join(stdout.lines().last().unwrap().trim());
    assert!(path.is_file(), "no locust at {}", path.display());
    path
}

/// The results file a runner command named on its `results: PATH` line.
pub fn results_path(out: &Output) -> PathBuf {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let path = stdout
        .lines()
        .find_map(|l| l.strip_prefix("results: "))
        .unwrap_or_else(|| panic!("no results path printed: {stdout}{}", stderr(out)));
    PathBuf::from(path.trim())
}

/// A results file, checked against `schemas/results.schema.json`.
pub fn load_results(path: &Path) -> serde_json::Value {
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let schema_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/results.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let errors: Vec<String> = jsonschema::validator_for(&schema)
        .unwrap()
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    doc
}

/// `runner report FILES --output DIR`: the report's Markdown.
pub fn report_of(files: &[&Path], dir: &Path) -> String {
    let mut args = vec!["report"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    args.extend(["--output", dir.to_str().unwrap()]);
    let out = runner(&args);
    assert!(out.status.success(), "report failed: {}", stderr(&out));
    std::fs::read_to_string(dir.join("report.md")).unwrap()
}

/// The repository's root (where `frameworks.toml` is).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Makes the Python peers' environment (`scripts/setup_peers.sh`).
pub fn setup_peers(root: &Path) {
    let setup = Command::new(root.join("scripts/setup_peers.sh"))
        .current_dir(root)
        .output()
        .unwrap();
    assert!(setup.status.success(), "{}", stderr(&setup));
}

/// Every framework of `registry` whose `category` server is not one of
/// this workspace's binaries (the Python peers).
pub fn python_peers(registry: &runner::registry::Registry, category: &str) -> Vec<String> {
    registry
        .frameworks
        .iter()
        .filter(|(_, f)| {
            f.categories
                .get(category)
                .is_some_and(|c| !c[0].starts_with("target/release/"))
        })
        .map(|(name, _)| name.clone())
        .collect()
}
