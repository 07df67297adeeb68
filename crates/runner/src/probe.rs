//! Checking a load's answers beyond their status: before a load, every
//! distinct request wrk will send is verified against its endpoint's
//! contract expectation (the exact bytes, not a fresh random variant); while
//! it runs, samples of the same requests (their `unique` tokens renewed, as
//! wrk renews them) are checked the same way, so a server that answers fast
//! but wrong is caught under load too.

use crate::targets::Target;
use contract::{ClientError, Failure, Session, VerifyOptions};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Failures kept per measurement (the count covers all).
const KEPT_FAILURES: usize = 3;

pub(crate) fn session(url: &str) -> Result<Session, ClientError> {
    let mut options = VerifyOptions::new(url);
    options.timeout = Duration::from_secs(60);
    options.check_date = false;
    Session::new(options)
}

/// The JSON document a server answers to `GET url` (2xx only), waiting at
/// most `timeout`.
pub(crate) fn get_json(
    rt: &tokio::runtime::Runtime,
    url: &str,
    timeout: Duration,
) -> reqwest::Result<serde_json::Value> {
    rt.block_on(async {
        reqwest::Client::builder()
            .no_proxy()
            .timeout(timeout)
            .build()?
            .get(url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await
    })
}

/// Why a load's requests did not verify.
#[derive(Debug, thiserror::Error)]
pub enum VerifyRequestsError {
    /// No HTTP client to verify with.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A request variant's answer failed its check.
    #[error("request variant {n} of the load ({method} {target} for {endpoint}): {failure}")]
    Variant {
        /// Its number among the load's distinct requests, from 1.
        n: usize,
        /// Its method.
        method: String,
        /// Its path and query.
        target: String,
        /// The endpoint it is for.
        endpoint: String,
        /// Why its answer failed.
        failure: Box<Failure>,
    },
}

/// Verifies every distinct request of `target` against the server at `url`;
/// the first failure says which request and why.
pub fn verify_requests(
    rt: &tokio::runtime::Runtime,
    url: &str,
    target: &Target,
) -> Result<(), VerifyRequestsError> {
    let session = session(url)?;
    for (n, r) in target.distinct().into_iter().enumerate() {
        rt.block_on(session.check_prepared(&r.request, &r.expect))
            .map_err(|failure| VerifyRequestsError::Variant {
                n: n + 1,
                method: r.request.method.clone(),
                target: r.request.target.clone(),
                endpoint: r.endpoint.clone(),
                failure: Box::new(failure),
            })?;
    }
    Ok(())
}

/// Answers sampled during a load and checked against the contract.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadChecks {
    /// Samples checked.
    pub checked: u64,
    /// Samples whose answer failed its check.
    pub failed: u64,
    /// The first failures, `endpoint: detail`.
    pub failures: Vec<String>,
}

impl LoadChecks {
    /// Adds another run's samples.
    pub fn add(&mut self, other: &LoadChecks) {
        self.checked += other.checked;
        self.failed += other.failed;
        for f in &other.failures {
            if self.failures.len() < KEPT_FAILURES {
                self.failures.push(f.clone());
            }
        }
    }
}

/// Checks samples on a thread of its own while a load runs.
pub struct Prober {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<LoadChecks>,
}

impl Prober {
    /// Starts sampling `target`'s requests against `url`, one every `every`
    /// (after a first pause of the same length); with `once`, a single sample
    /// (for targets whose requests are heavy, such as 100 MB transfers).
    pub fn start(url: &str, target: &Target, every: Duration, once: bool) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let url = url.to_owned();
        let requests: Vec<_> = target.distinct().into_iter().cloned().collect();
        let thread = std::thread::spawn(move || {
            let mut checks = LoadChecks::default();
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return checks;
            };
            let Ok(session) = session(&url) else {
                return checks;
            };
            let mut rng = rand::rng();
            let mut next = 0;
            while !requests.is_empty() && !sleep_unless(&flag, every) {
                let r = &requests[next % requests.len()];
                next += 1;
                let fresh = r.request.renewed(&mut rng);
                let outcome = rt.block_on(session.check_prepared(&fresh, &r.expect));
                // A sample cut short by the end of the load is no verdict.
                if flag.load(Ordering::Relaxed) && outcome.is_err() {
                    break;
                }
                checks.checked += 1;
                if let Err(e) = outcome {
                    checks.failed += 1;
                    if checks.failures.len() < KEPT_FAILURES {
                        checks.failures.push(format!("{}: {e}", r.endpoint));
                    }
                }
                if once {
                    break;
                }
            }
            checks
        });
        Self { stop, thread }
    }

    /// Stops sampling and reports.
    pub fn finish(self) -> LoadChecks {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

/// Sleeps `pause` in short steps; true when `stop` was raised meanwhile.
fn sleep_unless(stop: &AtomicBool, pause: Duration) -> bool {
    let step = Duration::from_millis(20);
    let mut left = pause;
    while !left.is_zero() {
        if stop.load(Ordering::Relaxed) {
            return true;
        }
        let now = left.min(step);
        std::thread::sleep(now);
        left -= now;
    }
    stop.load(Ordering::Relaxed)
}
