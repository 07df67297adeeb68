//! What a run needs before any server starts: the selected categories'
//! contracts (and their files' hashes, recorded with the results) and each
//! framework's setup command, run once per invocation.

use crate::managed::Managed;
use crate::progress::Progress;
use crate::registry::Framework;
use anyhow::{bail, Context, Result};
use contract::Contract;
use sha2::Digest;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Frameworks' setup commands, each run at most once per invocation.
#[derive(Default)]
pub struct Setups {
    done: BTreeMap<Vec<String>, Result<(), String>>,
}

impl Setups {
    /// Runs `framework`'s setup command (if any, and not already run) in
    /// `root`, its output going to a log in `logs`.
    pub fn run(
        &mut self,
        framework: &Framework,
        root: &Path,
        logs: &Path,
        progress: &Progress,
    ) -> Result<(), String> {
        let Some(command) = &framework.setup else {
            return Ok(());
        };
        if let Some(outcome) = self.done.get(command) {
            return outcome.clone();
        }
        progress.note(format!("setting up: {}", command.join(" ")));
        let index = self.done.len();
        let log = logs.join(format!("setup-{index}.log"));
        let outcome = (|| -> Result<()> {
            let (program, args) = command.split_first().context("empty setup command")?;
            let mut cmd = Command::new(program);
            cmd.args(args).current_dir(root);
            let (status, stdout, stderr) = Managed::spawn(&mut cmd, None, true)?.wait_output()?;
            std::fs::write(&log, format!("{stdout}{stderr}"))
                .with_context(|| format!("writing {}", log.display()))?;
            if !status.success() {
                bail!(
                    "setup `{}` failed ({}): {}",
                    command.join(" "),
                    crate::server::describe(status),
                    crate::server::log_tail(&log)
                );
            }
            Ok(())
        })()
        .map_err(|e| format!("{e:#}"));
        self.done.insert(command.clone(), outcome.clone());
        outcome
    }
}

/// Categories named by `selector` with their contracts.
pub fn contracts(dir: &Path, selector: &str) -> Result<Vec<Contract>> {
    let names: Vec<&str> = if selector == "all" {
        contract::CATEGORIES
            .iter()
            .copied()
            .filter(|c| dir.join(format!("{c}.json")).is_file())
            .collect()
    } else {
        selector.split(',').map(str::trim).collect()
    };
    names.iter().map(|n| contract::load_in(dir, n)).collect()
}

/// sha256 of a category's contract file, hex.
pub(crate) fn contract_sha256(dir: &Path, category: &str) -> Option<String> {
    let bytes = std::fs::read(dir.join(format!("{category}.json"))).ok()?;
    Some(
        sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}
