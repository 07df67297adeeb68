//! The framework registry (`frameworks.toml`): how to start each framework's
//! server per category, how to ask its version, and the ceiling server.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The name of this suite's own servers in the registry.
pub const REFERENCE: &str = "reference";

/// The whole registry file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    /// The ceiling server, measured in every run.
    pub ceiling: Ceiling,
    /// Frameworks by name.
    pub frameworks: BTreeMap<String, Framework>,
}

/// The ceiling server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ceiling {
    /// What it is.
    pub description: String,
    /// Start command; `{port}` is replaced.
    pub command: Vec<String>,
    /// Command printing its version.
    pub version: Vec<String>,
    /// Path it is measured on.
    pub path: String,
}

/// One framework.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    /// What it is (framework, server, workers).
    pub description: String,
    /// Command printing its version.
    pub version: Vec<String>,
    /// Path answering 2xx once the server is ready.
    pub health: String,
    /// Start command per category; `{port}` is replaced.
    pub categories: BTreeMap<String, Vec<String>>,
    /// Command run once before the framework's servers start (e.g. creating
    /// a virtual environment); it must be quick when already done.
    #[serde(default)]
    pub setup: Option<Vec<String>>,
    /// Checks the framework itself cannot pass (a missing feature, a crash
    /// inside it), each with the reason; reported as known, never hidden.
    #[serde(default)]
    pub known_failures: Vec<KnownFailure>,
    /// Why it keeps one process whatever `--workers` says (its state would
    /// split across processes, or it cannot run more): one reason for every
    /// category, or a reason per category. Those commands take no
    /// `{workers}` (the checked-in registry gives a reason for every
    /// command that does not).
    #[serde(default)]
    pub single_process: Option<SingleProcess>,
    /// Arguments added to a category's command in a scaling run
    /// (`runner run --state`), raising the store's bounds so that N records
    /// fit without eviction; `{room}` is replaced by twice the largest N.
    #[serde(default)]
    pub scaling: BTreeMap<String, Vec<String>>,
}

/// Why a framework keeps one process: in every category, or per category.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum SingleProcess {
    /// The same reason for every category.
    All(String),
    /// A reason for each category that keeps one process.
    PerCategory(BTreeMap<String, String>),
}

impl Framework {
    /// Why `category` keeps one process, if it does.
    pub fn single_process_in(&self, category: &str) -> Option<&str> {
        match self.single_process.as_ref()? {
            SingleProcess::All(reason) => Some(reason),
            SingleProcess::PerCategory(reasons) => reasons.get(category).map(String::as_str),
        }
    }

    /// Whether it implements `category` (has a command for it).
    pub fn serves(&self, category: &str) -> bool {
        self.categories.contains_key(category)
    }

    /// The command of `category` for a run whose largest store is `state`
    /// records (0: an ordinary run).
    pub fn command_for(&self, category: &str, state: u64) -> Option<Vec<String>> {
        let mut command = self.categories.get(category)?.clone();
        if state > 0 {
            let room = state.saturating_mul(2).to_string();
            command.extend(
                self.scaling
                    .get(category)
                    .into_iter()
                    .flatten()
                    .map(|a| a.replace("{room}", &room)),
            );
        }
        Some(command)
    }
}

/// A contract check a framework cannot pass, and why.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct KnownFailure {
    /// Category of the check.
    pub category: String,
    /// The check: kind and name, e.g. `negative malformed_request_line`.
    pub check: String,
    /// Why the framework cannot pass it.
    pub reason: String,
}

impl Framework {
    /// The known failures of one category.
    pub fn known_in(&self, category: &str) -> Vec<KnownFailure> {
        self.known_failures
            .iter()
            .filter(|k| k.category == category)
            .cloned()
            .collect()
    }
}

impl Registry {
    /// Reads and checks a registry file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the registry {}", path.display()))?;
        let registry: Self =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        if registry.ceiling.command.is_empty() {
            bail!("{}: the ceiling has an empty command", path.display());
        }
        for (name, f) in &registry.frameworks {
            if let Some((category, _)) = f.categories.iter().find(|(_, c)| c.is_empty()) {
                bail!(
                    "{}: {name} has an empty command for {category}",
                    path.display()
                );
            }
            if let Some(SingleProcess::PerCategory(reasons)) = &f.single_process {
                if let Some(c) = reasons.keys().find(|c| !f.categories.contains_key(*c)) {
                    bail!(
                        "{}: {name} gives a single_process reason for {c}, which it has no command for",
                        path.display()
                    );
                }
            }
            for (category, command) in &f.categories {
                let takes_workers = command.iter().any(|a| a.contains("{workers}"));
                if takes_workers && f.single_process_in(category).is_some() {
                    bail!(
                        "{}: {name} says it keeps one process in {category} but its command takes {{workers}}",
                        path.display()
                    );
                }
            }
        }
        Ok(registry)
    }

    /// The frameworks `selector` names: `all` (the reference first, then the
    /// others by name, so every run lists them in the same order), or
    /// comma-separated names in the order given. An unknown name is an error
    /// listing the known ones.
    pub fn select(&self, selector: &str) -> Result<Vec<(&str, &Framework)>> {
        if selector == "all" {
            let mut all: Vec<(&str, &Framework)> = self
                .frameworks
                .iter()
                .map(|(n, f)| (n.as_str(), f))
                .collect();
            all.sort_by_key(|(n, _)| (*n != REFERENCE, *n));
            return Ok(all);
        }
        selector
            .split(',')
            .map(str::trim)
            .map(|name| {
                self.frameworks
                    .get_key_value(name)
                    .map(|(n, f)| (n.as_str(), f))
                    .with_context(|| {
                        format!(
                            "unknown framework `{name}` (known: {})",
                            self.frameworks
                                .keys()
                                .cloned()
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    })
            })
            .collect()
    }
}

/// `command` with `{port}` replaced.
pub fn with_port(command: &[String], port: u16) -> Vec<String> {
    command
        .iter()
        .map(|a| a.replace("{port}", &port.to_string()))
        .collect()
}

/// `command` with `{workers}` replaced, and whether it had one.
pub fn with_workers(command: &[String], workers: u32) -> (Vec<String>, bool) {
    let takes = command.iter().any(|a| a.contains("{workers}"));
    let replaced = command
        .iter()
        .map(|a| a.replace("{workers}", &workers.to_string()))
        .collect();
    (replaced, takes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        Registry::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../frameworks.toml"))
            .unwrap()
    }

    #[test]
    fn scaling_runs_give_the_reference_room() {
        let r = registry();
        let f = &r.frameworks["reference"];
        let plain = f.command_for("file_operations", 0).unwrap();
        assert_eq!(&plain, &f.categories["file_operations"]);
        let scaled = f.command_for("file_operations", 100_000).unwrap();
        assert!(scaled.len() > plain.len());
        assert!(scaled.iter().any(|a| a == "200000"), "{scaled:?}");
        assert!(!scaled.iter().any(|a| a.contains("{room}")));
        assert!(f.command_for("nope", 10).is_none());
        // Every framework's bounded stores get room: a scaling run of any
        // of them measures N records, not evictions.
        for (name, f) in &r.frameworks {
            for category in ["background_tasks", "file_operations"] {
                if f.categories.contains_key(category) {
                    let extra = f.scaling.get(category).map(|a| a.join(" "));
                    assert!(
                        extra.as_deref().is_some_and(|a| a.contains("{room}")),
                        "{name}/{category}: no room for a scaling run"
                    );
                }
            }
        }
    }

    #[test]
    fn the_checked_in_registry_loads() {
        let r = registry();
        assert!(r.frameworks["reference"].categories.contains_key("basic"));
        let all = r.select("all").unwrap();
        assert_eq!(all.len(), r.frameworks.len());
        assert_eq!(all[0].0, REFERENCE, "the reference comes first");
    }

    #[test]
    fn unknown_frameworks_are_refused_clearly() {
        let err = registry().select("reference,nope").unwrap_err().to_string();
        assert!(err.contains("unknown framework `nope`"), "{err}");
        assert!(err.contains("reference"), "{err}");
    }

    #[test]
    fn ports_are_substituted() {
        let cmd = vec!["srv".to_owned(), "--port={port}".to_owned()];
        assert_eq!(with_port(&cmd, 81), ["srv", "--port=81"]);
        let cmd = vec![
            "srv".to_owned(),
            "--threads".to_owned(),
            "{workers}".to_owned(),
        ];
        assert_eq!(
            with_workers(&cmd, 3),
            (vec!["srv".into(), "--threads".into(), "3".into()], true)
        );
        assert!(!with_workers(&cmd[..1], 3).1);
    }

    #[test]
    fn every_command_takes_workers_or_says_why_not() {
        for (name, f) in &registry().frameworks {
            for (category, command) in &f.categories {
                let takes = command.iter().any(|a| a.contains("{workers}"));
                assert!(
                    takes || f.single_process_in(category).is_some(),
                    "{name}/{category}: no {{workers}} and no single_process reason"
                );
            }
        }
    }

    /// Categories that keep no state in process memory run as many
    /// processes as the machine gives every framework, unless the
    /// framework cannot run more than one at all (one reason for all).
    #[test]
    fn stateless_categories_take_workers() {
        for (name, f) in &registry().frameworks {
            for category in ["basic", "validation"] {
                let one = f.single_process_in(category);
                assert!(
                    one.is_none() || matches!(f.single_process, Some(SingleProcess::All(_))),
                    "{name}/{category} keeps one process: {one:?}"
                );
            }
        }
    }

    fn load_text(text: &str) -> Result<Registry> {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
        Registry::load(file.path())
    }

    #[test]
    fn workers_and_single_process_reasons_must_agree() {
        let head = "[ceiling]\ndescription = \"c\"\ncommand = [\"c\"]\nversion = [\"v\"]\npath = \"/\"\n\n[frameworks.f]\ndescription = \"f\"\nversion = [\"v\"]\nhealth = \"/health\"\n";
        let cmds = "\n[frameworks.f.categories]\nbasic = [\"s\", \"{workers}\"]\nfile_operations = [\"s\"]\n";
        let per = "\n[frameworks.f.single_process]\nfile_operations = \"state in memory\"\n";
        let r = load_text(&format!("{head}{cmds}{per}")).unwrap();
        let f = &r.frameworks["f"];
        assert_eq!(
            f.single_process_in("file_operations"),
            Some("state in memory")
        );
        assert_eq!(f.single_process_in("basic"), None);
        // A command without {workers} and without a reason loads: its
        // server runs as it starts.
        let r = load_text(&format!("{head}{cmds}")).unwrap();
        assert_eq!(r.frameworks["f"].single_process_in("file_operations"), None);
        // One reason for all, but a command takes {workers}.
        let all = "single_process = \"cannot fork\"\n";
        let err = load_text(&format!("{head}{all}{cmds}"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("keeps one process in basic"), "{err}");
        // A reason for a category it has no command for.
        let stray =
            "\n[frameworks.f.single_process]\nfile_operations = \"x\"\nvalidation = \"y\"\n";
        let err = load_text(&format!("{head}{cmds}{stray}"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("reason for validation"), "{err}");
    }
}
