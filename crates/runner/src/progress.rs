//! Progress of a long run: a bar with the current step on a terminal, plain
//! numbered lines otherwise (logs, CI); both say the time elapsed and an
//! estimate of what remains, in all and for the part being measured (a
//! framework, or side by side a category).

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Reports steps of a run on stderr.
pub struct Progress {
    bar: Option<ProgressBar>,
    done: AtomicU64,
    total: u64,
    started: Instant,
    /// The part being measured (a framework, or a category side by side),
    /// when the run said so.
    part: Mutex<Option<Part>>,
}

/// A named part of a run (a framework, or a category side by side): its
/// steps and when it began.
struct Part {
    name: String,
    /// Steps done when it began.
    first: u64,
    steps: u64,
    started: Instant,
}

impl Part {
    /// `fastapi 1m02s in, ~4m00s left`, at this part's own pace once one
    /// of its steps is done, before that at the run's.
    fn timing(&self, done: u64, run: (Duration, u64)) -> String {
        let own = done.saturating_sub(self.first).min(self.steps);
        let elapsed = self.started.elapsed();
        let (spent, run_steps) = run;
        if own == 0 && run_steps > 0 {
            let left = spent.mul_f64(self.steps as f64 / run_steps as f64);
            return format!("{} {} in, ~{} left", self.name, short(elapsed), short(left));
        }
        format!("{} {}", self.name, timing(elapsed, own, self.steps))
    }
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
            started: Instant::now(),
            part: Mutex::new(None),
        }
    }

    /// Begins a part of the run (a framework or a category) of `steps` steps: step lines
    /// then also say its time spent and left.
    pub fn begin(&self, name: &str, steps: u64) {
        let part = Part {
            name: name.to_owned(),
            first: self.done.load(Ordering::Relaxed),
            steps,
            started: Instant::now(),
        };
        if let Ok(mut p) = self.part.lock() {
            *p = Some(part);
        }
    }

    /// The current part's timing (`fastapi 1m02s in, ~4m00s left`), if a
    /// part has begun.
    fn part_timing(&self, done: u64) -> Option<String> {
        let run = (self.started.elapsed(), done);
        let part = self.part.lock().ok()?;
        part.as_ref().map(|p| p.timing(done, run))
    }

    /// Starts a step that counts toward the total.
    pub fn step(&self, message: impl Into<String>) {
        let message = message.into();
        let n = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        match &self.bar {
            Some(bar) => {
                bar.set_position(n.saturating_sub(1));
                bar.set_message(match self.part_timing(n - 1) {
                    Some(part) => format!("{message} [{part}]"),
                    None => message,
                });
            }
            None => eprintln!(
                "[{n}/{} {}{}] {message}",
                self.total,
                timing(self.started.elapsed(), n - 1, self.total),
                self.part_timing(n - 1)
                    .map(|part| format!("; {part}"))
                    .unwrap_or_default()
            ),
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

/// `3m10s in, ~9m left`: the time since the start and, once a step is
/// done, the rest estimated at the mean pace of the steps so far.
fn timing(elapsed: Duration, done: u64, total: u64) -> String {
    let spent = short(elapsed);
    if done == 0 {
        return format!("{spent} in");
    }
    let left = elapsed.mul_f64(total.saturating_sub(done) as f64 / done as f64);
    format!("{spent} in, ~{} left", short(left))
}

/// A duration to the second: `45s`, `3m10s`, `2h05m`.
pub fn short(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_follows_the_pace_so_far() {
        let min = |m: u64| Duration::from_secs(60 * m);
        assert_eq!(timing(Duration::from_secs(5), 0, 10), "5s in");
        assert_eq!(timing(min(10), 5, 20), "10m00s in, ~30m00s left");
        assert_eq!(timing(min(125), 50, 50), "2h05m in, ~0s left");
        assert_eq!(short(Duration::from_secs(59)), "59s");
        assert_eq!(short(Duration::from_secs(3600)), "1h00m");
    }

    #[test]
    fn a_part_is_estimated_at_its_own_pace_once_it_has_one() {
        let part = |first, steps| Part {
            name: "fastapi".into(),
            first,
            steps,
            started: Instant::now(),
        };
        let run = (Duration::from_secs(100), 10);
        // Nothing of its own done yet: the run's pace, 10 s a step.
        assert_eq!(part(10, 6).timing(10, run), "fastapi 0s in, ~1m00s left");
        // Its own steps done instantly: nothing left at that pace.
        assert_eq!(part(10, 6).timing(13, run), "fastapi 0s in, ~0s left");
        assert_eq!(part(0, 6).timing(0, (Duration::ZERO, 0)), "fastapi 0s in");
    }
}
