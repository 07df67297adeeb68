//! Conformance: servers started from the registry verified against their
//! contracts check by check, with crashes noticed, blamed on the check that
//! was running, and survived by a restart; and the frameworks × categories
//! matrix of the outcome (`runner verify --framework`, and the top of every
//! report).

use crate::progress::Progress;
use crate::registry::{Framework, KnownFailure, Registry};
use crate::results::{CategoryResult, Results, VerifySummary};
use crate::run::Setups;
use crate::server::{Crash, Launch, Server};
use anyhow::{Context, Result};
use contract::{CheckId, Contract, Report, Session, VerifyOptions};
use serde::Serialize;
use std::fmt::Write;
use std::path::PathBuf;
use std::time::Duration;

/// How long a failed check waits before asking whether the server died, so
/// a crash that follows its answer is blamed on it, not on the next check.
const SETTLE: Duration = Duration::from_millis(150);

/// Verifies `server` against `contract`, one check at a time. When the
/// process dies, the running check fails saying how, the crash is recorded
/// and the server restarted for the remaining checks.
pub fn verify(
    rt: &tokio::runtime::Runtime,
    server: &mut Server,
    contract: &Contract,
    timeout: Duration,
) -> (Report, Vec<Crash>) {
    let mut options = VerifyOptions::new(server.url());
    options.timeout = timeout;
    options.database_url = server.database_url().map(str::to_owned);
    let mut report = Report {
        category: contract.category.clone(),
        url: server.url().to_owned(),
        checks: Vec::new(),
    };
    let mut crashes = Vec::new();
    let mut session = match Session::new(options) {
        Ok(s) => s,
        Err(e) => {
            report.checks.push(contract::Check {
                kind: contract::CheckKind::Headers,
                name: "client".into(),
                passed: false,
                detail: e.to_string(),
            });
            return (report, crashes);
        }
    };
    let plan = session.plan(contract);
    let mut dead: Option<String> = None;
    for id in plan {
        if let Some(why) = &dead {
            report.checks.push(not_run(contract, id, why));
            continue;
        }
        let mut check = rt.block_on(session.run(contract, id));
        let mut crash = server.crash(&format!("verify: {}", check.name));
        if crash.is_none() && !check.passed {
            std::thread::sleep(SETTLE);
            crash = server.crash(&format!("verify: {}", check.name));
        }
        if let Some(crash) = crash {
            check.passed = false;
            let note = format!(
                "the server process died during this check ({})",
                crash.status
            );
            check.detail = if check.detail.is_empty() {
                note
            } else {
                format!("{}; {note}", check.detail)
            };
            match server.restart(&crash.during) {
                Ok(()) => {
                    if let Err(e) = session.set_base_url(server.url()) {
                        dead = Some(e.to_string());
                    }
                }
                Err(e) => dead = Some(format!("the server could not be restarted: {e:#}")),
            }
            crashes.push(crash);
        }
        report.checks.push(check);
    }
    (report, crashes)
}

fn not_run(contract: &Contract, id: CheckId, why: &str) -> contract::Check {
    use contract::CheckKind as K;
    let (kind, name) = match id {
        CheckId::Endpoint(i) => (
            K::Endpoint,
            contract.endpoints.get(i).map(|e| e.name.clone()),
        ),
        CheckId::Negative(i) => (
            K::Negative,
            contract.negative_cases.get(i).map(|c| c.name.clone()),
        ),
        CheckId::Flow(i) => (K::Flow, contract.flows.get(i).map(|f| f.name.clone())),
        CheckId::Date => (K::Headers, Some("date_changes".to_owned())),
        CheckId::Statements(i) => (
            K::Statements,
            contract.endpoints.get(i).map(|e| e.name.clone()),
        ),
    };
    contract::Check {
        kind,
        name: name.unwrap_or_default(),
        passed: false,
        detail: format!("not run: {why}"),
    }
}

/// A verification report summarized for the results file: counts, each
/// failure as `kind name: detail`, the endpoints that failed their own check
/// (not benchmarked), and which failures are `known` limitations.
pub fn summarize(report: &Report, contract: &Contract, known: &[KnownFailure]) -> VerifySummary {
    let passed = report.passed_endpoints();
    VerifySummary {
        known_failures: known
            .iter()
            .filter(|k| {
                report
                    .failures()
                    .any(|c| format!("{} {}", kind_label(c.kind), c.name) == k.check)
            })
            .cloned()
            .collect(),
        passed: report.checks.iter().filter(|c| c.passed).count(),
        failed: report.failures().count(),
        failures: report
            .failures()
            .map(|c| format!("{} {}: {}", kind_label(c.kind), c.name, c.detail))
            .collect(),
        skipped_endpoints: contract
            .endpoints
            .iter()
            .filter(|e| !passed.contains(e.name.as_str()))
            .map(|e| e.name.clone())
            .collect(),
    }
}

/// Whether every negative case and flow passed: a framework that fails one
/// does not do the contract's work, so its figures are marked.
pub fn conforming(report: &Report) -> bool {
    !report.failures().any(|c| {
        matches!(
            c.kind,
            contract::CheckKind::Negative
                | contract::CheckKind::Flow
                | contract::CheckKind::Statements
        )
    })
}

fn kind_label(kind: contract::CheckKind) -> &'static str {
    match kind {
        contract::CheckKind::Endpoint => "endpoint",
        contract::CheckKind::Negative => "negative",
        contract::CheckKind::Flow => "flow",
        contract::CheckKind::Headers => "headers",
        contract::CheckKind::Statements => "statements",
    }
}

/// One framework × category of the matrix.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    /// Framework name.
    pub framework: String,
    /// Category name.
    pub category: String,
    /// Checks passed.
    pub passed: usize,
    /// Checks failed.
    pub failed: usize,
    /// Why it could not be verified at all (did not start, no server).
    pub error: Option<String>,
    /// Each failed check: `kind name: detail`.
    pub failures: Vec<String>,
    /// Failed checks documented as the framework's own limitations.
    pub known_failures: Vec<KnownFailure>,
    /// Times the server died, and during what.
    pub crashes: Vec<Crash>,
}

impl Cell {
    /// The cell of one framework's category result.
    pub fn of(framework: &str, c: &CategoryResult) -> Self {
        Self {
            framework: framework.to_owned(),
            category: c.category.clone(),
            passed: c.verify.passed,
            failed: c.verify.failed,
            error: c
                .error
                .clone()
                .filter(|_| c.verify.passed + c.verify.failed == 0),
            failures: c.verify.failures.clone(),
            known_failures: c.verify.known_failures.clone(),
            crashes: c.crashes.clone(),
        }
    }

    /// The documented reason of a failure line, if it is a known one.
    fn known_reason(&self, failure: &str) -> Option<&str> {
        self.known_failures
            .iter()
            .find(|k| {
                failure
                    .strip_prefix(k.check.as_str())
                    .is_some_and(|rest| rest.starts_with(':'))
            })
            .map(|k| k.reason.as_str())
    }

    /// Failed checks that no limitation explains.
    pub fn unexplained(&self) -> usize {
        self.failures
            .iter()
            .filter(|f| self.known_reason(f).is_none())
            .count()
    }

    /// Every check passed.
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.failed == 0 && self.passed > 0
    }

    /// No negative case or flow failed (see [`conforming`]).
    pub fn conforming(&self) -> bool {
        !self.failures.iter().any(|f| {
            ["negative ", "flow ", "statements "]
                .iter()
                .any(|kind| f.starts_with(kind))
        })
    }

    fn mark(&self) -> String {
        if self.error.is_some() {
            "error".to_owned()
        } else {
            let crashed = if self.crashes.is_empty() {
                String::new()
            } else {
                format!(
                    " ({} crash{})",
                    self.crashes.len(),
                    if self.crashes.len() == 1 { "" } else { "es" }
                )
            };
            let known = self.failed - self.unexplained().min(self.failed);
            let known = if known > 0 && !self.ok() {
                format!(" ({known} known)")
            } else {
                String::new()
            };
            format!(
                "{}/{} {}{known}{crashed}{}",
                self.passed,
                self.passed + self.failed,
                if self.ok() { "ok" } else { "FAIL" },
                if self.conforming() {
                    ""
                } else {
                    ", non-conforming"
                }
            )
        }
    }
}

/// Frameworks × categories: who passes which contract.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Matrix {
    /// Row order.
    pub frameworks: Vec<String>,
    /// Column order.
    pub categories: Vec<String>,
    /// The cells that were verified.
    pub cells: Vec<Cell>,
}

impl Matrix {
    /// The matrix of a run's results.
    pub fn of_results(results: &Results) -> Self {
        let mut m = Self::default();
        for f in &results.frameworks {
            for c in &f.categories {
                m.push(Cell::of(&f.name, c));
            }
        }
        m
    }

    /// Adds a cell (and its row and column if new).
    pub fn push(&mut self, cell: Cell) {
        if !self.frameworks.contains(&cell.framework) {
            self.frameworks.push(cell.framework.clone());
        }
        if !self.categories.contains(&cell.category) {
            self.categories.push(cell.category.clone());
        }
        self.cells.push(cell);
    }

    /// Whether every cell passed.
    pub fn passed(&self) -> bool {
        self.cells.iter().all(Cell::ok)
    }

    fn cell(&self, framework: &str, category: &str) -> Option<&Cell> {
        self.cells
            .iter()
            .find(|c| c.framework == framework && c.category == category)
    }

    fn rows(&self) -> Vec<Vec<String>> {
        let mut rows = vec![std::iter::once("framework".to_owned())
            .chain(self.categories.iter().cloned())
            .collect::<Vec<_>>()];
        for f in &self.frameworks {
            let mut row = vec![f.clone()];
            for c in &self.categories {
                row.push(
                    self.cell(f, c)
                        .map_or_else(|| "not implemented".to_owned(), Cell::mark),
                );
            }
            rows.push(row);
        }
        rows
    }

    /// Every failure, crash and error, one per line, grouped by cell.
    fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for cell in &self.cells {
            let at = format!("{}/{}", cell.framework, cell.category);
            if let Some(e) = &cell.error {
                out.push(format!("{at}: {e}"));
            }
            for f in &cell.failures {
                match cell.known_reason(f) {
                    Some(reason) => out.push(format!("{at}: {f} [known limitation: {reason}]")),
                    None => out.push(format!("{at}: {f}")),
                }
            }
            for c in &cell.crashes {
                out.push(format!(
                    "{at}: crash during {}: {}; log: {}",
                    c.during, c.status, c.log_tail
                ));
            }
        }
        out
    }

    /// A plain-text table, then each problem on its own line.
    pub fn table(&self) -> String {
        let rows = self.rows();
        let widths: Vec<usize> = (0..rows[0].len())
            .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for row in &rows {
            let line: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(v, w)| format!("{v:<w$}"))
                .collect();
            let _ = writeln!(out, "{}", line.join("  ").trim_end());
        }
        let problems = self.problems();
        if !problems.is_empty() {
            out.push('\n');
            for p in problems {
                let _ = writeln!(out, "{p}");
            }
        }
        out
    }

    /// The same as Markdown: a table, then the problems as a list.
    pub fn markdown(&self) -> String {
        let rows = self.rows();
        let mut out = String::new();
        let _ = writeln!(out, "| {} |", rows[0].join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(rows[0].len()));
        for row in &rows[1..] {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        let problems = self.problems();
        if !problems.is_empty() {
            out.push('\n');
            for p in problems {
                let _ = writeln!(out, "- {}", p.replace('|', "\\|"));
            }
        }
        out
    }
}

/// What `runner verify --framework` needs.
#[derive(Debug, Clone)]
pub struct MatrixOptions {
    /// Directory the registry's commands run in.
    pub root: PathBuf,
    /// The registry file.
    pub registry: PathBuf,
    /// The contract directory.
    pub contracts: PathBuf,
    /// `all` or comma-separated categories.
    pub categories: String,
    /// `all` or comma-separated frameworks.
    pub frameworks: String,
    /// Where server logs go.
    pub logs: PathBuf,
    /// How long a server may take to become healthy.
    pub startup_timeout: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
    /// The engine of the `database` category.
    pub database: crate::database::Engine,
    /// The `async_operations` category's upstream, when one already runs
    /// (`--upstream`); else the registry's ceiling is started as one.
    pub upstream: Option<String>,
}

/// Starts every selected framework's server for every selected category
/// (after the framework's setup, once per framework), hands it to `cell`
/// (or why there is none: a failed setup, no server for the category, a
/// server that did not start), and stops it. `doing` names the step in the
/// progress lines.
pub fn for_each_server(
    opts: &MatrixOptions,
    doing: &str,
    mut cell: impl FnMut(&str, &Framework, &Contract, Result<&mut Server, String>),
) -> Result<()> {
    let registry = Registry::load(&opts.registry)?;
    let frameworks = registry.select(&opts.frameworks)?;
    let contracts = crate::run::contracts(&opts.contracts, &opts.categories)?;
    std::fs::create_dir_all(&opts.logs)
        .with_context(|| format!("creating {}", opts.logs.display()))?;
    // Stopped at the end (when this started it) by its drop.
    let _cluster = opts
        .database
        .needs_cluster(contracts.iter().map(|c| c.category.as_str()))
        .then(crate::database::start_cluster)
        .transpose()
        .context("starting PostgreSQL (scripts/setup_postgres.sh)")?;
    // Stopped at the end by its drop.
    let upstream = crate::upstream::Running::for_run(
        opts.upstream.as_deref(),
        contracts.iter().map(|c| c.category.as_str()),
        &registry,
        &opts.root,
        &opts.logs,
        None,
    )?;
    let pairs = frameworks
        .iter()
        .map(|(_, f)| contracts.iter().filter(|c| f.serves(&c.category)).count())
        .sum::<usize>();
    let progress = Progress::new(pairs as u64);
    let mut setups = Setups::default();
    for (name, f) in &frameworks {
        // A category a framework does not implement has no cell: the
        // matrix shows it as not implemented, not as a failure.
        let served: Vec<(&Contract, &Vec<String>)> = contracts
            .iter()
            .filter_map(|c| Some((c, f.categories.get(&c.category)?)))
            .collect();
        if served.is_empty() {
            continue;
        }
        let setup = setups.run(f, &opts.root, &opts.logs, &progress);
        for (contract, command) in served {
            progress.step(format!("{name}/{}: {doing}", contract.category));
            match &setup {
                Err(e) => cell(name, f, contract, Err(e.clone())),
                Ok(()) => {
                    let label = format!("{name}-{}", contract.category);
                    let launch = Launch {
                        database: opts.database.database_for(&label, &contract.category),
                        upstream: upstream.for_category(&contract.category),
                        log: opts.logs.join(format!("{label}.log")),
                        label,
                        command: crate::registry::with_workers(command, crate::machine::cores()).0,
                        health: f.health.clone(),
                        root: opts.root.clone(),
                        startup_timeout: opts.startup_timeout,
                        cpus: None,
                    };
                    match Server::start(&launch) {
                        Err(e) => cell(name, f, contract, Err(format!("{e:#}"))),
                        Ok(mut server) => {
                            cell(name, f, contract, Ok(&mut server));
                            server.stop();
                        }
                    }
                }
            }
        }
    }
    progress.finish();
    Ok(())
}

/// Starts every selected framework's server for every selected category
/// (after the framework's setup), verifies it, stops it, and returns the
/// matrix.
pub fn verify_frameworks(opts: &MatrixOptions) -> Result<Matrix> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let mut matrix = Matrix::default();
    for_each_server(opts, "verifying", |name, f, contract, server| {
        let mut result = CategoryResult::new(&contract.category);
        match server {
            Err(e) => result.error = Some(e),
            Ok(server) => {
                let (report, crashes) = verify(&rt, server, contract, opts.timeout);
                result.verify = summarize(&report, contract, &f.known_in(&contract.category));
                result.crashes = crashes;
            }
        }
        matrix.push(Cell::of(name, &result));
    })?;
    Ok(matrix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(framework: &str, category: &str, passed: usize, failed: usize) -> Cell {
        Cell {
            framework: framework.into(),
            category: category.into(),
            passed,
            failed,
            error: None,
            failures: (0..failed)
                .map(|i| format!("negative case{i}: status 500"))
                .collect(),
            known_failures: Vec::new(),
            crashes: Vec::new(),
        }
    }

    #[test]
    fn the_matrix_lists_cells_and_every_problem() {
        let mut m = Matrix::default();
        m.push(cell("reference", "basic", 48, 0));
        m.push(cell("peer", "basic", 47, 1));
        m.push(Cell {
            error: Some("did not start".into()),
            ..cell("peer", "validation", 0, 0)
        });
        assert!(!m.passed());
        let t = m.table();
        assert!(t.contains("48/48 ok"), "{t}");
        assert!(t.contains("47/48 FAIL"), "{t}");
        assert!(t.contains("peer/basic: negative case0: status 500"), "{t}");
        assert!(t.contains("peer/validation: did not start"), "{t}");
        // A documented failure says why.
        m.cells[1].known_failures.push(KnownFailure {
            category: "basic".into(),
            check: "negative case0".into(),
            reason: "the framework cannot".into(),
        });
        let t = m.table();
        assert!(t.contains("47/48 FAIL (1 known), non-conforming"), "{t}");
        assert!(
            t.contains("status 500 [known limitation: the framework cannot]"),
            "{t}"
        );
        // reference has no validation cell: not implemented, not a pass.
        assert!(
            t.lines()
                .nth(1)
                .unwrap()
                .trim_end()
                .ends_with("not implemented"),
            "{t}"
        );
        let md = m.markdown();
        assert!(md.starts_with("| framework | basic | validation |"), "{md}");
    }

    #[test]
    fn a_matrix_of_passing_cells_passes() {
        let mut m = Matrix::default();
        m.push(cell("a", "basic", 3, 0));
        assert!(m.passed());
        m.push(cell("a", "validation", 0, 0));
        assert!(!m.passed(), "a cell with no checks at all is not a pass");
    }
}
