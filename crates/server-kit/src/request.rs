//! The request a handler receives: path parameters, query, headers and a
//! body that is read only through size-limited extractors, under read
//! deadlines.

use crate::conn::ConnState;
use crate::error::ApiError;
use bytes::Bytes;
use http::{header, request::Parts};
use http_body::{Body as _, Frame};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde::de::DeserializeOwned;
use shared::api::{parse_json, require_json, Query};
use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{sleep_until, Instant, Sleep};

/// Limits applied to every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted request body in bytes; larger gets 413.
    pub max_body_bytes: usize,
    /// Longest wait for the next bytes of a request body once reading has
    /// begun (zero: no limit); beyond it the read fails with 408.
    pub body_idle_timeout: Duration,
    /// Longest time to read a whole buffered body ([`Req::bytes`],
    /// [`Req::json_bytes`]), from the first read (zero: no limit).
    pub body_timeout: Duration,
    /// Longest time to read a whole streamed body ([`Req::into_stream`],
    /// uploads), from the first read (zero: no limit).
    pub upload_timeout: Duration,
}

/// Default of `--body-idle-timeout`.
pub const DEFAULT_BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(15);
/// Default of `--body-timeout`.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Default of `--upload-timeout`.
pub const DEFAULT_UPLOAD_TIMEOUT: Duration = Duration::from_secs(300);

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            body_idle_timeout: DEFAULT_BODY_IDLE_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            upload_timeout: DEFAULT_UPLOAD_TIMEOUT,
        }
    }
}

/// Where a request body comes from: the connection, or memory (tests).
pub(crate) enum RawBody {
    Incoming(Incoming),
    Memory(Full<Bytes>),
}

/// A body read under deadlines: at most `idle` between data (counted
/// only while the reader waits, so time the server spends between reads is
/// not held against the client) and at most `total` for the whole body,
/// both from the first read. A timeout ends the body with a
/// [`BodyTimeout`] error and, unless the body is only being drained, is
/// reported to the connection so the answer becomes a 408.
pub(crate) struct TimedBody {
    raw: RawBody,
    idle: Duration,
    total: Duration,
    /// Set at the first read.
    total_deadline: Option<Instant>,
    started: bool,
    waiting_since: Option<Instant>,
    sleep: Option<Pin<Box<Sleep>>>,
    /// Where a timeout is reported (a connection's bodies only).
    conn: Option<Arc<ConnState>>,
    /// Draining a refused body: a timeout only ends the drain.
    draining: bool,
    /// Timed out: the body reads as ended from now on.
    expired: bool,
}

/// The error a body read ends with when a deadline passes.
#[derive(Debug)]
pub(crate) struct BodyTimeout(String);

impl std::fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BodyTimeout {}

/// The 408 of a body that did not arrive in time; the connection is closed
/// after it (the rest of the body is never read).
pub(crate) fn request_timeout(why: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        408,
        "request_timeout",
        format!("the request body did not arrive in time: {why}"),
    )
    .with_header("connection", "close")
}

impl TimedBody {
    fn new(raw: RawBody, conn: Option<Arc<ConnState>>, idle: Duration, total: Duration) -> Self {
        Self {
            raw,
            idle,
            total,
            total_deadline: None,
            started: false,
            waiting_since: None,
            sleep: None,
            conn,
            draining: false,
            expired: false,
        }
    }

    /// The reader is waiting for data: the timeout if a deadline passed,
    /// else `None` with a timer armed to wake it at the nearest deadline.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Option<BodyTimeout> {
        let now = Instant::now();
        let since = *self.waiting_since.get_or_insert(now);
        let idle = (!self.idle.is_zero()).then(|| (since + self.idle, "idle"));
        let total = self.total_deadline.map(|at| (at, "total"));
        let (deadline, which) = match (idle, total) {
            (Some(i), Some(t)) => {
                if t.0 < i.0 {
                    t
                } else {
                    i
                }
            }
            (Some(d), None) | (None, Some(d)) => d,
            (None, None) => return None,
        };
        let expired = now >= deadline || {
            let sleep = match &mut self.sleep {
                Some(sleep) => {
                    if sleep.deadline() != deadline {
                        sleep.as_mut().reset(deadline);
                    }
                    sleep
                }
                none => none.insert(Box::pin(sleep_until(deadline))),
            };
            sleep.as_mut().poll(cx).is_ready()
        };
        if !expired {
            return None;
        }
        let why = if which == "idle" {
            format!("no data for {:?}", self.idle)
        } else {
            format!("not complete within {:?}", self.total)
        };
        self.expired = true;
        self.sleep = None;
        if !self.draining {
            tracing::debug!("request body read timed out: {why}");
            if let Some(conn) = &self.conn {
                conn.report_body_timeout(&why);
            }
        }
        Some(BodyTimeout(why))
    }
}

impl http_body::Body for TimedBody {
    type Data = Bytes;
    type Error = crate::BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.expired {
            return Poll::Ready(None);
        }
        if !this.started {
            this.started = true;
            if !this.total.is_zero() {
                this.total_deadline = Some(Instant::now() + this.total);
            }
        }
        let frame = match &mut this.raw {
            RawBody::Incoming(b) => Pin::new(b)
                .poll_frame(cx)
                .map(|f| f.map(|r| r.map_err(crate::BodyError::from))),
            RawBody::Memory(b) => Pin::new(b)
                .poll_frame(cx)
                .map(|f| f.map(|r| r.map_err(crate::BodyError::from))),
        };
        match frame {
            Poll::Ready(Some(Ok(f))) => {
                this.waiting_since = None;
                Poll::Ready(Some(Ok(f)))
            }
            Poll::Pending => match this.poll_deadline(cx) {
                Some(timeout) => Poll::Ready(Some(Err(timeout.into()))),
                None => Poll::Pending,
            },
            done => done,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.expired
            || match &self.raw {
                RawBody::Incoming(b) => b.is_end_stream(),
                RawBody::Memory(b) => b.is_end_stream(),
            }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match &self.raw {
            RawBody::Incoming(b) => b.size_hint(),
            RawBody::Memory(b) => b.size_hint(),
        }
    }
}

/// One request as handed to a handler.
pub struct Req {
    /// Method, URI, headers and extensions.
    pub parts: Parts,
    body: RawBody,
    params: Vec<(Box<str>, String)>,
    limits: Arc<Limits>,
    /// The connection a body read timeout is reported to.
    conn: Option<Arc<ConnState>>,
    /// The client's address (a field, not an extension: no allocation per
    /// request).
    client: Option<std::net::SocketAddr>,
}

impl Req {
    pub(crate) fn new(
        parts: Parts,
        body: RawBody,
        params: Vec<(Box<str>, String)>,
        limits: Arc<Limits>,
    ) -> Self {
        Self {
            parts,
            body,
            params,
            limits,
            conn: None,
            client: None,
        }
    }

    /// Records the client's address.
    pub(crate) fn with_client(mut self, client: Option<std::net::SocketAddr>) -> Self {
        self.client = client;
        self
    }

    /// Reports a body read timeout of this request to `conn`.
    pub(crate) fn with_conn(mut self, conn: Arc<ConnState>) -> Self {
        self.conn = Some(conn);
        self
    }

    /// Whether the client waits for `100 Continue` before sending the body
    /// (hyper sends it when the body is first read).
    fn expects_continue(&self) -> bool {
        self.parts.version >= http::Version::HTTP_11
            && self
                .parts
                .headers
                .get(header::EXPECT)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"))
    }

    /// A request with an in-memory body, for tests of handlers and routers.
    pub fn from_parts(parts: Parts, body: impl Into<Bytes>, limits: Limits) -> Self {
        Self::new(
            parts,
            RawBody::Memory(Full::new(body.into())),
            Vec::new(),
            Arc::new(limits),
        )
    }

    pub(crate) fn set_params(&mut self, params: Vec<(Box<str>, String)>) {
        self.params = params;
    }

    /// The path parameter `name` parsed as `T`; unparseable is a 400
    /// `invalid_path_param`.
    pub fn param<T: FromStr>(&self, name: &str) -> Result<T, ApiError> {
        let raw = self
            .params
            .iter()
            .find(|(k, _)| k.as_ref() == name)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| ApiError::internal(format!("route has no parameter `{name}`")))?;
        shared::api::path_param(name, raw)
    }

    /// The path parameter `name` as sent (empty when the route has none).
    pub fn raw_param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(k, _)| k.as_ref() == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The decoded query string.
    pub fn query(&self) -> Query<'_> {
        Query::parse(self.parts.uri.query())
    }

    /// The client's address, when the connection knew it.
    pub fn client_addr(&self) -> Option<std::net::SocketAddr> {
        self.client
    }

    /// A request header as text, if present and valid.
    pub fn header(&self, name: impl header::AsHeaderName) -> Option<&str> {
        self.parts.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Whether the request has no body at all (`shared::api::is_bodiless`;
    /// a header that is present but not text counts as present).
    pub fn is_bodiless(&self) -> bool {
        let present = |name| {
            self.parts
                .headers
                .get(name)
                .map(|v| v.to_str().unwrap_or(""))
        };
        shared::api::is_bodiless(
            present(header::CONTENT_TYPE),
            present(header::CONTENT_LENGTH),
            present(header::TRANSFER_ENCODING),
        )
    }

    /// The whole body, refused with 413 past [`Limits::max_body_bytes`]
    /// (checked against `Content-Length` first, then while reading). Before
    /// a 413 the rest of the body is read and dropped (at most
    /// `shared::api::DRAIN_FACTOR` × the limit, for at most
    /// `shared::api::DRAIN_TIME`) so the
    /// client can finish sending and read the answer instead of hitting a
    /// reset connection — except when the client sent
    /// `Expect: 100-continue` with a `Content-Length` over the limit: it
    /// waits for a go-ahead, so it gets the 413 at once and the body is
    /// never invited. A body that stalls for [`Limits::body_idle_timeout`]
    /// or takes longer than [`Limits::body_timeout`] is a 408
    /// `request_timeout` (and the connection closes).
    pub async fn bytes(self) -> Result<Bytes, ApiError> {
        let limit = self.limits.max_body_bytes;
        let declared = self
            .header(header::CONTENT_LENGTH)
            .and_then(|v| v.parse::<u64>().ok());
        let total = self.limits.body_timeout;
        let (_, mut body) = self.body_stream(total);
        if declared.is_some_and(|n| n > limit as u64) {
            body.drain().await;
            return Err(ApiError::payload_too_large(limit as u64));
        }
        match Limited::new(&mut body.body, limit).collect().await {
            Ok(c) => Ok(c.to_bytes()),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                body.drain().await;
                Err(ApiError::payload_too_large(limit as u64))
            }
            Err(e) if e.is::<BodyTimeout>() => Err(request_timeout(e)),
            Err(e) => Err(ApiError::bad_request(
                "body_read_error",
                format!("could not read the request body: {e}"),
            )),
        }
    }

    /// The body as a stream of chunks, for handlers that process it as it
    /// arrives (uploads). No size limit applies: the handler enforces its
    /// own, then calls [`BodyStream::drain`] before refusing. The stream
    /// ends with an error when the body stalls for
    /// [`Limits::body_idle_timeout`] or takes longer than
    /// [`Limits::upload_timeout`]; the server then answers 408
    /// `request_timeout` whatever the handler made of that error.
    pub fn into_stream(self) -> (Parts, BodyStream) {
        let total = self.limits.upload_timeout;
        self.body_stream(total)
    }

    /// The body under the idle deadline and a total one of `total`.
    fn body_stream(self, total: Duration) -> (Parts, BodyStream) {
        let limit = self.limits.max_body_bytes;
        let expects_continue = self.expects_continue();
        let body = TimedBody::new(self.body, self.conn, self.limits.body_idle_timeout, total);
        (
            self.parts,
            BodyStream {
                body,
                limit,
                expects_continue,
            },
        )
    }

    /// The body as JSON of type `T`: 415 unless `Content-Type` is JSON, 413
    /// when too large, then as [`parse_json`].
    pub async fn json<T: DeserializeOwned>(self) -> Result<T, ApiError> {
        parse_json(&self.json_bytes().await?)
    }

    /// The raw body of a JSON request: 415 unless `Content-Type` is JSON,
    /// 413 when too large; not parsed.
    pub async fn json_bytes(self) -> Result<Bytes, ApiError> {
        require_json(self.header(header::CONTENT_TYPE))?;
        self.bytes().await
    }
}

/// A request body read chunk by chunk.
pub struct BodyStream {
    body: TimedBody,
    limit: usize,
    expects_continue: bool,
}

impl BodyStream {
    /// Reads and drops what is left (within `shared::api::DRAIN_FACTOR` ×
    /// the server's body limit and `shared::api::DRAIN_TIME`), so a client
    /// still sending can read
    /// a refusal instead of hitting a reset connection. A client that
    /// sent `Expect: 100-continue` and was refused before anything was
    /// read is not sending: its body is left alone (never invited).
    pub async fn drain(&mut self) {
        if self.expects_continue && !self.body.started {
            return;
        }
        self.body.draining = true;
        let limit = self.limit as u64;
        shared::api::drain(self, limit).await;
    }
}

impl futures_util::Stream for BodyStream {
    type Item = Result<Bytes, crate::BodyError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match Pin::new(&mut this.body).poll_frame(cx) {
                Poll::Ready(Some(Ok(f))) => match f.into_data() {
                    Ok(data) => return Poll::Ready(Some(Ok(data))),
                    Err(_trailers) => continue,
                },
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(body: &'static [u8], content_type: &str, content_length: Option<usize>) -> Req {
        let mut b = http::Request::post("/x").header(header::CONTENT_TYPE, content_type);
        if let Some(n) = content_length {
            b = b.header(header::CONTENT_LENGTH, n);
        }
        let (parts, ()) = b.body(()).unwrap().into_parts();
        Req::from_parts(
            parts,
            body,
            Limits {
                max_body_bytes: 16,
                ..Limits::default()
            },
        )
    }

    #[tokio::test]
    async fn body_limits_and_content_type() {
        let ok: serde_json::Value = req(b"{\"a\":1}", "application/json", None)
            .json()
            .await
            .unwrap();
        assert_eq!(ok["a"], 1);
        let big = req(b"{\"a\":\"0123456789abcdef\"}", "application/json", None);
        assert_eq!(
            big.json::<serde_json::Value>().await.unwrap_err().status,
            413
        );
        let declared = req(b"{}", "application/json", Some(1_000_000));
        assert_eq!(declared.bytes().await.unwrap_err().status, 413);
        let wrong = req(b"{}", "text/plain", None);
        assert_eq!(
            wrong.json::<serde_json::Value>().await.unwrap_err().status,
            415
        );
    }

    #[test]
    fn typed_path_params() {
        let (parts, ()) = http::Request::get("/user/x").body(()).unwrap().into_parts();
        let mut r = Req::from_parts(parts, Bytes::new(), Limits::default());
        r.set_params(vec![("id".into(), "abc".into()), ("n".into(), "7".into())]);
        assert_eq!(r.param::<u64>("n").unwrap(), 7);
        let e = r.param::<u64>("id").unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(e.code, "invalid_path_param");
    }
}
