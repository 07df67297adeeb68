//! Progress of a long run: a bar with the current step on a terminal, plain
//! numbered lines otherwise (logs, CI).

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

/// Reports steps of a run on stderr.
pub struct Progress {
    bar: Option<ProgressBar>,
    done: AtomicU64,
    total: u64,
}

impl Progress {
    /// A progress report of `total` steps.
    pub fn new(total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30.cyan/blue} {pos}/{len} (eta {eta}) {msg}",
            ) {
                bar.set_style(style);
            }
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            bar
        });
        Self {
            bar,
            done: AtomicU64::new(0),
            total,
        }
    }

    /// Starts a step that counts toward the total.
    pub fn step(&self, message: impl Into<String>) {
        let message = message.into();
        let n = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        match &self.bar {
            Some(bar) => {
                bar.set_position(n.saturating_sub(1));
                bar.set_message(message);
            }
            None => eprintln!("[{n}/{}] {message}", self.total),
        }
    }

    /// A line of information that stays on screen.
    pub fn note(&self, message: impl AsRef<str>) {
        match &self.bar {
            Some(bar) => bar.println(message.as_ref()),
            None => eprintln!("{}", message.as_ref()),
        }
    }

    /// Ends the report.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.set_position(self.total);
            bar.finish_and_clear();
        }
    }
}
