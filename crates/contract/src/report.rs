//! Verification results and their table.

use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt::Write;

/// What a check covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// An endpoint's example request.
    Endpoint,
    /// A bad request.
    Negative,
    /// A multi-step flow.
    Flow,
    /// Headers across requests (`Date` changing).
    Headers,
    /// The database statements an endpoint's requests ran.
    Statements,
}

impl CheckKind {
    fn label(self) -> &'static str {
        match self {
            Self::Endpoint => "endpoint",
            Self::Negative => "negative",
            Self::Flow => "flow",
            Self::Headers => "headers",
            Self::Statements => "statements",
        }
    }
}

/// One check and its outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked.
    pub kind: CheckKind,
    /// Endpoint, case or flow name.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// Why it failed (empty when it passed).
    pub detail: String,
}

/// Everything one verification found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Category verified.
    pub category: String,
    /// Server address.
    pub url: String,
    /// All checks, in contract order.
    pub checks: Vec<Check>,
}

impl Report {
    /// True when every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// The failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed)
    }

    /// Endpoints whose own check passed (only these are worth benchmarking).
    pub fn passed_endpoints(&self) -> BTreeSet<&str> {
        self.checks
            .iter()
            .filter(|c| c.kind == CheckKind::Endpoint && c.passed)
            .map(|c| c.name.as_str())
            .collect()
    }

    /// A plain-text pass/fail table with a summary line.
    pub fn table(&self) -> String {
        let width = self
            .checks
            .iter()
            .map(|c| c.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let mut out = String::new();
        let _ = writeln!(out, "{:<9} {:<width$} result  detail", "kind", "name");
        for c in &self.checks {
            let _ = writeln!(
                out,
                "{:<9} {:<width$} {}  {}",
                c.kind.label(),
                c.name,
                if c.passed { "PASS  " } else { "FAIL  " },
                c.detail
            );
        }
        let failed = self.failures().count();
        let _ = writeln!(
            out,
            "{}: {} passed, {} failed ({} at {})",
            if failed == 0 {
                "verified"
            } else {
                "NOT verified"
            },
            self.checks.len() - failed,
            failed,
            self.category,
            self.url
        );
        out
    }
}
