//! Finding and loading contract files.

use crate::model::Contract;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// The suite's categories, in the order reports list them.
pub const CATEGORIES: [&str; 8] = [
    "basic",
    "validation",
    "file_operations",
    "background_tasks",
    "real_world_scenarios",
    "database",
    "async_operations",
    "middleware",
];

/// The contract directory: `$BENCH_CONTRACTS`, else the nearest
/// `shared-endpoints/` above the current directory, else the one in this
/// source tree.
pub fn contracts_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BENCH_CONTRACTS") {
        return PathBuf::from(dir);
    }
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            let candidate = dir.join("shared-endpoints");
            if candidate.join("basic.json").is_file() {
                return candidate;
            }
        }
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared-endpoints")
}

/// Loads `<contracts_dir>/<category>.json`.
pub fn load(category: &str) -> Result<Contract> {
    load_in(&contracts_dir(), category)
}

/// Loads `<dir>/<category>.json`; an unknown category is an error that lists
/// the available ones.
pub fn load_in(dir: &Path, category: &str) -> Result<Contract> {
    let path = dir.join(format!("{category}.json"));
    if !path.is_file() {
        let mut available: Vec<String> = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .filter_map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        let stem = name.strip_suffix(".json")?;
                        (!stem.ends_with(".schema")).then(|| stem.to_owned())
                    })
                    .collect()
            })
            .unwrap_or_default();
        available.sort();
        bail!(
            "unknown category `{category}`: no {} (available: {})",
            path.display(),
            available.join(", ")
        );
    }
    load_from(&path)
}

/// Loads and checks one contract file (fixtures from `fixtures/` beside it).
pub fn load_from(path: &Path) -> Result<Contract> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let fixtures = path
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join("fixtures");
    parse(&text, &fixtures).with_context(|| format!("{}", path.display()))
}

/// Parses and checks a contract from its text; named fixtures are read
/// from `fixtures` (plain file names only).
pub fn parse(text: &str, fixtures: &Path) -> Result<Contract> {
    let mut contract: Contract = serde_json::from_str(text).context("not a valid contract")?;
    let read = |name: &str| -> Result<std::sync::Arc<Vec<u8>>> {
        if name.is_empty() || name.contains(['/', '\\', '\0']) || name.starts_with('.') {
            bail!("fixture name `{name}` must be a plain file name");
        }
        let file = fixtures.join(name);
        let bytes =
            std::fs::read(&file).with_context(|| format!("reading fixture {}", file.display()))?;
        Ok(std::sync::Arc::new(bytes))
    };
    for spec in contract.requests_mut() {
        if let Some(name) = &spec.fixture {
            spec.fixture_body = Some(read(name)?);
        }
        for part in &mut spec.multipart {
            if let Some(name) = &part.fixture {
                part.fixture_bytes = Some(read(name)?);
            }
        }
    }
    let problems = contract.problems();
    if !problems.is_empty() {
        bail!("{}", problems.join("; "));
    }
    Ok(contract)
}
