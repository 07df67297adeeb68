//! The open-model phase of a category: after the closed loop, each
//! measured endpoint offered constant arrival rates with oha (fractions of
//! its own closed-loop maximum, and one rate common to every framework), so
//! latency is seen where a closed loop would hide queueing.

use super::Runner;
use crate::managed::Managed;
use crate::open_model;
use crate::results::{CategoryResult, FailedTarget, OpenPoint};
use crate::server::{pin, Server};
use crate::targets::{Target, TargetKind};
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

impl Runner<'_> {
    /// The open-model phase of a category: each measured endpoint at
    /// fractions of its own closed-loop maximum and at the common rate.
    pub(super) fn open_model(
        &self,
        oha: &Path,
        server: &mut Server,
        label: &str,
        targets: &[Target],
        stateful: bool,
        result: &mut CategoryResult,
    ) {
        let open = &self.opts.open;
        for t in targets.iter().filter(|t| t.kind == TargetKind::Endpoint) {
            if let Some(why) = open_model::unsuitable(t) {
                self.progress
                    .note(format!("  {label}: {}: no open-model phase: {why}", t.name));
                continue;
            }
            let best = result
                .results
                .iter()
                .filter(|m| m.name == t.name && m.trusted())
                .map(|m| m.requests_per_second)
                .fold(0.0, f64::max);
            let mut rates: Vec<(Option<f64>, f64)> = if best > 0.0 {
                open.fractions
                    .iter()
                    .map(|&f| (Some(f), f * best))
                    .collect()
            } else {
                Vec::new()
            };
            rates.push((None, open.common_rate));
            let body = t.requests[0].request.body.as_ref().map(|b| {
                let path = self.logs.join(format!("{label}-{}-open.bin", t.name));
                (std::fs::write(&path, b).map(|()| path.clone()), path)
            });
            for (fraction, rate) in rates {
                let what = fraction.map_or_else(
                    || format!("{rate:.0} req/s (common)"),
                    |f| format!("{:.0}% = {rate:.0} req/s", f * 100.0),
                );
                self.progress
                    .step(format!("{label}: {} open model at {what}", t.name));
                let outcome =
                    self.open_point(oha, server, t, stateful, body_file(&body), (fraction, rate));
                match outcome {
                    Ok(point) => result.open_model.push(point),
                    Err(e) => result.failed_targets.push(FailedTarget {
                        name: format!("{} (open model, {what})", t.name),
                        error: format!("{e:#}"),
                    }),
                }
                let during = format!("open model: {}", t.name);
                if !self.survive(server, label, &during, result) {
                    return;
                }
            }
            if let Some((_, path)) = body {
                let _ = std::fs::remove_file(path);
            }
        }
    }

    /// One offered rate: a fresh or settled server, then oha at `rate`
    /// (`fraction` of the closed-loop maximum, or the common rate).
    fn open_point(
        &self,
        oha: &Path,
        server: &mut Server,
        t: &Target,
        stateful: bool,
        body: Result<Option<&Path>>,
        (fraction, rate): (Option<f64>, f64),
    ) -> Result<OpenPoint> {
        self.settle(
            server,
            stateful,
            &format!("a fresh store for {} (open model)", t.name),
        )?;
        let body_file = body?;
        let open = &self.opts.open;
        let connections = self
            .opts
            .connections
            .iter()
            .copied()
            .max()
            .map_or(64, |level| t.load.connections_at(level));
        let mut cmd = pin(
            &open_model::command(
                oha,
                server.url(),
                t,
                rate,
                open.duration,
                connections,
                body_file,
            ),
            self.load_cpus(),
        );
        let (status, stdout, stderr) = Managed::spawn(&mut cmd, None, true)?.wait_output()?;
        if !status.success() {
            bail!("oha failed ({status}): {}", stderr.trim());
        }
        open_model::parse(
            &stdout,
            &t.name,
            fraction,
            rate,
            t.requests[0].expect.status,
        )
    }
}

/// The request body file written for oha, or why it could not be.
fn body_file(body: &Option<(std::io::Result<PathBuf>, PathBuf)>) -> Result<Option<&Path>> {
    match body {
        Some((Ok(p), _)) => Ok(Some(p.as_path())),
        Some((Err(e), p)) => bail!("writing {}: {e}", p.display()),
        None => Ok(None),
    }
}
