//! Child processes the runner must never leave behind: each runs in its own
//! process group, is registered for the Ctrl-C/SIGTERM handler, and is
//! stopped (SIGTERM, then SIGKILL) when dropped.

use anyhow::{Context, Result};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

fn register(pgid: i32) {
    if let Ok(mut g) = GROUPS.lock() {
        g.push(pgid);
    }
}

fn unregister(pgid: i32) {
    if let Ok(mut g) = GROUPS.lock() {
        g.retain(|&p| p != pgid);
    }
}

/// Installs the handler that stops every registered child on Ctrl-C or
/// SIGTERM and exits with 130.
pub fn install_signal_handler() -> Result<()> {
    ctrlc::set_handler(|| {
        let groups: Vec<i32> = GROUPS.lock().map(|g| g.clone()).unwrap_or_default();
        for &g in &groups {
            let _ = killpg(Pid::from_raw(g), Signal::SIGTERM);
        }
        std::thread::sleep(Duration::from_millis(500));
        for &g in &groups {
            let _ = killpg(Pid::from_raw(g), Signal::SIGKILL);
        }
        eprintln!(
            "\ninterrupted: stopped {} child process group(s)",
            groups.len()
        );
        std::process::exit(130);
    })
    .context("installing the Ctrl-C handler")
}

/// A child in its own process group.
pub struct Managed {
    child: Option<Child>,
    pgid: i32,
}

impl Managed {
    /// Starts `command` with stdout and stderr appended to `log` (or
    /// discarded when `None`, or piped when `capture`).
    pub fn spawn(command: &mut Command, log: Option<&Path>, capture: bool) -> Result<Self> {
        command.process_group(0).stdin(Stdio::null());
        if capture {
            command.stdout(Stdio::piped()).stderr(Stdio::piped());
        } else if let Some(path) = log {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening {}", path.display()))?;
            command.stdout(file.try_clone()?).stderr(file);
        } else {
            command.stdout(Stdio::null()).stderr(Stdio::null());
        }
        let child = command
            .spawn()
            .with_context(|| format!("starting {:?}", command.get_program()))?;
        let pgid = i32::try_from(child.id()).context("pid out of range")?;
        register(pgid);
        Ok(Self {
            child: Some(child),
            pgid,
        })
    }

    /// Process id (also the group id).
    pub fn pid(&self) -> u32 {
        self.pgid.unsigned_abs()
    }

    /// Exit status, if it has exited.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    /// Waits for it to finish on its own; returns status, stdout and stderr
    /// (when spawned with `capture`).
    pub fn wait_output(mut self) -> Result<(ExitStatus, String, String)> {
        let child = self.child.take().context("already stopped")?;
        let out = child.wait_with_output().context("waiting for the child")?;
        unregister(self.pgid);
        Ok((
            out.status,
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }

    /// SIGTERM to the group, up to `grace` to exit, then SIGKILL.
    pub fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        self.child.as_ref()?;
        let group = Pid::from_raw(self.pgid);
        let mut status = self.try_status();
        if status.is_none() {
            let _ = killpg(group, Signal::SIGTERM);
            let deadline = Instant::now() + grace;
            while status.is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
                status = self.try_status();
            }
        }
        // Whatever is left of the group (workers of a forking server) goes too.
        let _ = killpg(group, Signal::SIGKILL);
        if status.is_none() {
            status = self.child.as_mut().and_then(|c| c.wait().ok());
        }
        self.child = None;
        unregister(self.pgid);
        status
    }
}

impl Drop for Managed {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}
