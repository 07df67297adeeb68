//! The request a handler receives: path parameters, query, headers and a
//! body that is read only through size-limited extractors.

use crate::error::ApiError;
use bytes::Bytes;
use http::{header, request::Parts};
use http_body::Body as _;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde::de::DeserializeOwned;
use shared::api::{parse_json, require_json, Query};
use std::str::FromStr;
use std::sync::Arc;

/// Limits applied to every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted request body in bytes; larger gets 413.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
        }
    }
}

/// Where a request body comes from: the connection, or memory (tests).
pub(crate) enum RawBody {
    Incoming(Incoming),
    Memory(Full<Bytes>),
}

/// One request as handed to a handler.
pub struct Req {
    /// Method, URI, headers and extensions.
    pub parts: Parts,
    body: RawBody,
    params: Vec<(Box<str>, String)>,
    limits: Arc<Limits>,
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
        }
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

    /// A request header as text, if present and valid.
    pub fn header(&self, name: impl header::AsHeaderName) -> Option<&str> {
        self.parts.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The whole body, refused with 413 past [`Limits::max_body_bytes`]
    /// (checked against `Content-Length` first, then while reading). Before
    /// a 413 the rest of the body is read and dropped (at most
    /// `shared::api::DRAIN_FACTOR` × the limit, for at most
    /// `shared::api::DRAIN_TIME`) so the
    /// client can finish sending and read the answer instead of hitting a
    /// reset connection.
    pub async fn bytes(self) -> Result<Bytes, ApiError> {
        let limit = self.limits.max_body_bytes;
        let declared = self
            .header(header::CONTENT_LENGTH)
            .and_then(|v| v.parse::<u64>().ok());
        let mut body = self.body;
        if declared.is_some_and(|n| n > limit as u64) {
            drain(body, limit).await;
            return Err(ApiError::payload_too_large(limit as u64));
        }
        let collected = match &mut body {
            RawBody::Incoming(b) => Limited::new(b, limit).collect().await,
            RawBody::Memory(b) => Limited::new(b, limit).collect().await,
        };
        match collected {
            Ok(c) => Ok(c.to_bytes()),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                drain(body, limit).await;
                Err(ApiError::payload_too_large(limit as u64))
            }
            Err(e) => Err(ApiError::bad_request(
                "body_read_error",
                format!("could not read the request body: {e}"),
            )),
        }
    }

    /// The body as a stream of chunks, for handlers that process it as it
    /// arrives (uploads). No size limit applies: the handler enforces its
    /// own, then calls [`BodyStream::drain`] before refusing.
    pub fn into_stream(self) -> (Parts, BodyStream) {
        let limit = self.limits.max_body_bytes;
        (
            self.parts,
            BodyStream {
                body: self.body,
                limit,
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
    body: RawBody,
    limit: usize,
}

impl BodyStream {
    /// Reads and drops what is left (within `shared::api::DRAIN_FACTOR` ×
    /// the server's body limit and `shared::api::DRAIN_TIME`), so a client
    /// still sending can read
    /// a refusal instead of hitting a reset connection.
    pub async fn drain(&mut self) {
        let limit = self.limit as u64;
        shared::api::drain(self, limit).await;
    }
}

impl futures_util::Stream for BodyStream {
    type Item = Result<Bytes, crate::BodyError>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        let this = self.get_mut();
        loop {
            let frame = match &mut this.body {
                RawBody::Incoming(b) => std::pin::Pin::new(b)
                    .poll_frame(cx)
                    .map(|f| f.map(|r| r.map_err(crate::BodyError::from))),
                RawBody::Memory(b) => std::pin::Pin::new(b)
                    .poll_frame(cx)
                    .map(|f| f.map(|r| r.map_err(crate::BodyError::from))),
            };
            match frame {
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

/// Reads and drops what is left of a refused body (see `shared::api::drain`).
async fn drain(body: RawBody, limit: usize) {
    let mut rest = BodyStream { body, limit };
    shared::api::drain(&mut rest, limit as u64).await;
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
        Req::from_parts(parts, body, Limits { max_body_bytes: 16 })
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
