//! Starting a server binary for tests and runs: it must print
//! `listening on http://ADDR` on its first stdout line.

use anyhow::{anyhow, bail, Context, Result};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running server process; killed when dropped.
pub struct ServerProcess {
    child: Child,
    /// Base URL it announced, e.g. `http://127.0.0.1:41234`.
    pub url: String,
}

impl ServerProcess {
    /// Runs `program args…` and waits up to `timeout` for its
    /// `listening on` line.
    pub fn start(program: &str, args: &[&str], timeout: Duration) -> Result<Self> {
        let mut child = Command::new(program)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {program}"))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next();
            let _ = tx.send(first);
            // Keep draining so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let mut server = Self {
            child,
            url: String::new(),
        };
        let line = match rx.recv_timeout(timeout) {
            Ok(Some(Ok(line))) => line,
            Ok(_) => bail!("{program} exited before it was listening"),
            Err(_) => bail!("{program} did not start listening within {timeout:?}"),
        };
        server.url = line
            .strip_prefix("listening on ")
            .ok_or_else(|| anyhow!("unexpected first line from {program}: {line:?}"))?
            .trim()
            .to_owned();
        Ok(server)
    }

    /// A starter of `program base… extra…` for checks that start a server
    /// several times with different flags (`extra`), waiting up to 60 s.
    pub fn starter<'a>(
        program: &'a str,
        base: &'a [&'a str],
    ) -> impl Fn(&[&str]) -> Result<Self> + 'a {
        move |extra| {
            let args: Vec<&str> = base.iter().chain(extra).copied().collect();
            Self::start(program, &args, Duration::from_secs(60))
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM (graceful shutdown).
    pub fn terminate(&self) -> Result<()> {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.pid())?);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).context("sending SIGTERM")
    }

    /// Kills the process at once (SIGKILL: no cleanup, as a crash) and
    /// reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                bail!("process {} still running after {timeout:?}", self.pid());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ServerProcess {
    /// Asks the server to stop (SIGTERM, so it can clean up), and kills it
    /// if it has not exited within five seconds.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let stopped =
                self.terminate().is_ok() && self.wait_exit(Duration::from_secs(5)).is_ok();
            if !stopped {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}
