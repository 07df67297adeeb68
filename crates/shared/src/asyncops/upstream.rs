//! Concurrent GETs to an upstream HTTP server through one pooled client
//! (reqwest over hyper: keep-alive connections reused across requests).

use crate::api::Error;
use futures_util::future::join_all;
use serde::Serialize;
use std::time::Duration;

/// Where a server finds its upstream unless told otherwise: the ceiling
/// server's default address (`cargo run --release -p ceiling`).
pub const DEFAULT_UPSTREAM: &str = "http://127.0.0.1:8999/";

/// A connection that does not open within this is an unreachable upstream.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// An answer that does not come within this is an unreachable upstream.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Upstream requests in flight at most per client (per process): more wait
/// for one to finish, so the connections stay as many (every framework's
/// client is held to the same number).
pub const MAX_IN_FLIGHT: usize = 64;

/// Why the upstream gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The URL given is not an `http://` URL.
    #[error("the upstream {0:?} is not an http:// URL")]
    BadUrl(String),
    /// The client could not be built.
    #[error("the HTTP client could not be built: {0}")]
    Client(String),
    /// A request got no answer (refused, reset, timed out).
    #[error("the upstream {url} did not answer: {cause}")]
    Unreachable {
        /// The upstream.
        url: String,
        /// Why, with its causes.
        cause: String,
    },
}

impl From<UpstreamError> for Error {
    fn from(e: UpstreamError) -> Self {
        Error::new(502, "upstream_unavailable", e.to_string())
    }
}

/// One upstream answer: its status and body size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Answer {
    /// The upstream's status code.
    pub status: u16,
    /// Bytes of its body.
    pub bytes: u64,
}

/// `GET /async/upstream?n=K` answered: every answer, in request order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Combined {
    /// Always `upstream`.
    pub mode: &'static str,
    /// Requests sent.
    pub n: u64,
    /// Their answers, in order.
    pub answers: Vec<Answer>,
    /// Body bytes received in all.
    pub bytes: u64,
}

/// An upstream server and the pooled client that calls it.
#[derive(Debug, Clone)]
pub struct Upstream {
    url: reqwest::Url,
    client: reqwest::Client,
    in_flight: std::sync::Arc<tokio::sync::Semaphore>,
}

impl Upstream {
    /// A client for the upstream at `url` (`http://host:port/path`).
    pub fn new(url: &str) -> Result<Self, UpstreamError> {
        let parsed = reqwest::Url::parse(url)
            .ok()
            .filter(|u| u.scheme() == "http" && u.host().is_some())
            .ok_or_else(|| UpstreamError::BadUrl(url.to_owned()))?;
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .tcp_nodelay(true)
            .pool_max_idle_per_host(MAX_IN_FLIGHT)
            .build()
            .map_err(|e| UpstreamError::Client(e.to_string()))?;
        Ok(Self {
            url: parsed,
            client,
            in_flight: std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT)),
        })
    }

    /// The upstream's URL.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    async fn one(&self) -> Result<Answer, reqwest::Error> {
        // Never closed: acquiring cannot fail.
        let _slot = self.in_flight.acquire().await.ok();
        let response = self.client.get(self.url.clone()).send().await?;
        let status = response.status().as_u16();
        let body = response.bytes().await?;
        Ok(Answer {
            status,
            bytes: body.len() as u64,
        })
    }

    /// `n` GETs sent concurrently, their answers combined; the first
    /// failure fails them all.
    pub async fn call(&self, n: u64) -> Result<Combined, UpstreamError> {
        let answers = join_all((0..n).map(|_| self.one()))
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| UpstreamError::Unreachable {
                url: self.url.to_string(),
                cause: chain(&e),
            })?;
        Ok(Combined {
            mode: "upstream",
            n,
            bytes: answers.iter().map(|a| a.bytes).sum(),
            answers,
        })
    }
}

/// An error and its causes, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_http_urls_are_upstreams() {
        assert!(Upstream::new("http://127.0.0.1:8999/").is_ok());
        for bad in ["https://example.com/", "127.0.0.1:8999", "http://", ""] {
            assert!(
                matches!(Upstream::new(bad), Err(UpstreamError::BadUrl(_))),
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn a_closed_port_is_a_502() {
        // A port just released: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let up = Upstream::new(&format!("http://127.0.0.1:{port}/")).unwrap();
        let e: Error = up.call(2).await.unwrap_err().into();
        assert_eq!((e.status, e.code), (502, "upstream_unavailable"));
    }
}
