//! Why a check failed: typed, and displayed as the detail a report shows.

/// The HTTP client a session needs could not be built.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ClientError(pub(super) reqwest::Error);

/// Why one check failed; its text is the check's detail in reports.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// No HTTP client to check with.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The request could not be built from the contract (why).
    #[error("{0}")]
    Request(String),
    /// The server URL is not a URL (why).
    #[error("{0}")]
    BadUrl(String),
    /// The server URL names no host.
    #[error("no host in the URL")]
    NoHost,
    /// The server URL names no port.
    #[error("no port in the URL")]
    NoPort,
    /// The request's method is not an HTTP method.
    #[error("bad method {0}")]
    BadMethod(String),
    /// The request could not be sent or got no answer.
    #[error("{method} {target}: {cause}")]
    Send {
        /// The request's method.
        method: String,
        /// The request's path and query.
        target: String,
        /// The error and its causes.
        cause: String,
    },
    /// The answer's body could not be read (the error and its causes).
    #[error("reading the body: {0}")]
    ReadBody(String),
    /// Raw bytes on a fresh connection got no status line (why).
    #[error("{0}")]
    Raw(String),
    /// The answer differs from the expectation in each of these ways.
    #[error("{}", .0.join("; "))]
    Differences(Vec<String>),
    /// A flow step failed.
    #[error("step {step} ({method} {path}){}: {cause}", after(.attempts))]
    Step {
        /// Its number, from 1.
        step: usize,
        /// Its method.
        method: String,
        /// Its path template.
        path: String,
        /// How many tries it had, when it polls.
        attempts: Option<u32>,
        /// Why its last try failed.
        cause: Box<Failure>,
    },
    /// A flow step's answer holds nothing to capture at `path`.
    #[error("step {step}: nothing to capture at `{path}`")]
    NoCapture {
        /// The step's number, from 1.
        step: usize,
        /// The capture path (`header:` and a name, or a JSON path).
        path: String,
    },
    /// An answer without a `Date` header.
    #[error("no Date header")]
    NoDate,
    /// The same `Date` (this one) a second apart.
    #[error("Date did not change in 1.1 s: {0}")]
    DateUnchanged(String),
    /// A check the contract does not have.
    #[error("no such check in the contract")]
    NoSuchCheck,
}

fn after(attempts: &Option<u32>) -> String {
    attempts.map_or_else(String::new, |n| format!(" after {n} attempts"))
}

/// Ok when nothing differs, else every difference (shown joined by `; `).
pub(super) fn joined(differences: Vec<String>) -> Result<(), Failure> {
    if differences.is_empty() {
        Ok(())
    } else {
        Err(Failure::Differences(differences))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_step_reads_as_before() {
        let cause = Failure::Differences(vec![
            "status 500 (expected 200), body: oops".into(),
            "no date header".into(),
        ]);
        let step = Failure::Step {
            step: 2,
            method: "POST".into(),
            path: "/items".into(),
            attempts: Some(3),
            cause: Box::new(cause),
        };
        assert_eq!(
            step.to_string(),
            "step 2 (POST /items) after 3 attempts: status 500 (expected 200), body: oops; no date header"
        );
        let once = Failure::Step {
            step: 1,
            method: "GET".into(),
            path: "/x".into(),
            attempts: None,
            cause: Box::new(Failure::NoDate),
        };
        assert_eq!(once.to_string(), "step 1 (GET /x): no Date header");
    }
}
