//! The category's layers as server-kit [`Middleware`]: each does one job
//! and counts what it did in the [`Stacks`]' counters.

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::Method;
use server_kit::{error_response, Body, Middleware, MiddlewareFuture, Next, Req, Response};
use shared::middleware::access_log::Entry;
use shared::middleware::auth::Claims;
use shared::middleware::{self as mw, bump, Stacks};
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

/// The request's id, for the handlers and the access log.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The accepted token's claims, for the handlers and the rate limiter.
#[derive(Debug, Clone)]
pub struct Subject(pub Arc<Claims>);

/// `Server-Timing: app;dur=…` on every answer.
pub struct Timing;

impl Middleware for Timing {
    fn call<'a>(&'a self, req: Req, next: Next<'a>) -> MiddlewareFuture<'a> {
        Box::pin(async move {
            let start = Instant::now();
            let mut resp = next.run(req).await;
            if let Ok(v) = HeaderValue::from_str(&mw::server_timing(start.elapsed())) {
                resp.headers_mut().insert("server-timing", v);
            }
            resp
        })
    }
}

/// Keeps a valid `X-Request-ID` or makes one; on the answer too.
pub struct RequestIds(pub Arc<Stacks>);

impl Middleware for RequestIds {
    fn call<'a>(&'a self, mut req: Req, next: Next<'a>) -> MiddlewareFuture<'a> {
        Box::pin(async move {
            let id = self.0.request_id(req.header("x-request-id"));
            let value = HeaderValue::from_str(&id);
            req.parts.extensions.insert(RequestId(id));
            let mut resp = next.run(req).await;
            if let Ok(v) = value {
                resp.headers_mut().insert("x-request-id", v);
            }
            resp
        })
    }
}

/// Counts the requests of the light and heavy stacks.
pub struct Counting(pub Arc<Stacks>);

impl Middleware for Counting {
    fn call<'a>(&'a self, req: Req, next: Next<'a>) -> MiddlewareFuture<'a> {
        bump(&self.0.counters.requests);
        next.run(req)
    }
}

/// One JSON line per request in the access log.
pub struct AccessLogging(pub Arc<Stacks>);

impl Middleware for AccessLogging {
    fn call<'a>(&'a self, req: Req, next: Next<'a>) -> MiddlewareFuture<'a> {
        Box::pin(async move {
            let start = Instant::now();
            let method = req.parts.method.clone();
            let path = req.parts.uri.path().to_owned();
            let id = req.parts.extensions.get::<RequestId>().cloned();
            let resp = next.run(req).await;
            let subject = resp.extensions().get::<Subject>();
            let entry = Entry {
                time: Entry::now(),
                request_id: id.as_ref().map_or("", |r| r.0.as_str()),
                method: method.as_str(),
                path: &path,
                status: resp.status().as_u16(),
                duration_ms: start.elapsed().as_secs_f64() * 1000.0,
                subject: subject.map(|s| s.0.subject.as_str()),
            };
            if let Err(e) = self.0.record(&entry) {
                eprintln!(
                    "middleware: access log {}: {e}",
                    self.0.log.path().display()
                );
            }
            resp
        })
    }
}

/// The heavy stack's security headers on every answer.
pub struct SecurityHeaders;

impl Middleware for SecurityHeaders {
    fn call<'a>(&'a self, req: Req, next: Next<'a>) -> MiddlewareFuture<'a> {
        Box::pin(async move {
            let mut resp = next.run(req).await;
            let headers = resp.headers_mut();
            for (name, value) in mw::SECURITY_HEADERS {
                headers.insert(
                    HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                );
            }
            resp
        })
    }
}

/// CORS for [`mw::ALLOWED_ORIGIN`]: preflights answered here, before
/// authentication; other answers from that origin marked as allowed.
pub struct Cors(pub Arc<Stacks>);

impl Middleware for Cors {
    fn call<'a>(&'a self, req: Req, next: Next<'a>) -> MiddlewareFuture<'a> {
        Box::pin(async move {
            let allowed = req.header(header::ORIGIN) == Some(mw::ALLOWED_ORIGIN);
            let preflight = req.parts.method == Method::OPTIONS
                && req.parts.headers.contains_key(header::ORIGIN)
                && req
                    .parts
                    .headers
                    .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
            let mut resp = if preflight {
                let mut resp = Response::new(Body::full(Bytes::new()));
                if allowed {
                    let h = resp.headers_mut();
                    let set = |h: &mut http::HeaderMap, name, value| {
                        h.insert(name, HeaderValue::from_static(value));
                    };
                    set(h, header::ACCESS_CONTROL_ALLOW_METHODS, mw::ALLOWED_METHODS);
                    set(h, header::ACCESS_CONTROL_ALLOW_HEADERS, mw::ALLOWED_HEADERS);
                    h.insert(
                        header::ACCESS_CONTROL_MAX_AGE,
                        HeaderValue::from(mw::CORS_MAX_AGE),
                    );
                }
                resp
            } else {
                next.run(req).await
            };
            let h = resp.headers_mut();
            h.append(header::VARY, HeaderValue::from_static("origin"));
            if allowed {
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    HeaderValue::from_static(mw::ALLOWED_ORIGIN),
                );
                h.insert(
                    header::ACCESS_CONTROL_EXPOSE_HEADERS,
                    HeaderValue::from_static("x-request-id"),
                );
                bump(&self.0.counters.cors_allowed);
            }
            resp
        })
    }
}

/// gzip (level 6) of whole bodies of at least [`mw::GZIP_MIN_BYTES`] when
/// the client accepts it.
pub struct Gzip(pub Arc<Stacks>);

fn gzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 3 + 64),
        flate2::Compression::new(6),
    );
    enc.write_all(data)?;
    enc.finish()
}

impl Middleware for Gzip {
    fn call<'a>(&'a self, req: Req, next: Next<'a>) -> MiddlewareFuture<'a> {
        Box::pin(async move {
            let accepts = req
                .header(header::ACCEPT_ENCODING)
                .is_some_and(mw::accepts_gzip);
            let mut resp = next.run(req).await;
            resp.headers_mut()
                .append(header::VARY, HeaderValue::from_static("accept-encoding"));
            if !accepts || resp.headers().contains_key(header::CONTENT_ENCODING) {
                return resp;
            }
            let Body::Full(Some(data)) = resp.body() else {
                return resp;
            };
            if data.len() < mw::GZIP_MIN_BYTES {
                return resp;
            }
            match gzip(data) {
                Ok(packed) => {
                    *resp.body_mut() = Body::full(packed);
                    let h = resp.headers_mut();
                    h.remove(header::CONTENT_LENGTH);
                    h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                    bump(&self.0.counters.gzipped);
                }
                Err(e) => eprintln!("middleware: gzip: {e}"),
            }
            resp
        })
    }
}

/// Bearer JWT authentication: 401 with a challenge, or the claims handed
/// on (and to the access log, on the answer).
pub struct Auth(pub Arc<Stacks>);

impl Middleware for Auth {
    fn call<'a>(&'a self, mut req: Req, next: Next<'a>) -> MiddlewareFuture<'a> {
        Box::pin(async move {
            match self.0.authenticate(req.header(header::AUTHORIZATION)) {
                Ok(claims) => {
                    let subject = Subject(Arc::new(claims));
                    req.parts.extensions.insert(subject.clone());
                    let mut resp = next.run(req).await;
                    resp.extensions_mut().insert(subject);
                    resp
                }
                Err(e) => error_response(&e),
            }
        })
    }
}

/// A token bucket per subject: 429 with `Retry-After` past the limit.
pub struct RateLimit(pub Arc<Stacks>);

impl Middleware for RateLimit {
    fn call<'a>(&'a self, req: Req, next: Next<'a>) -> MiddlewareFuture<'a> {
        let subject = req.parts.extensions.get::<Subject>();
        match subject.map(|s| self.0.take_token(&s.0.subject)) {
            Some(Err(e)) => Box::pin(async move { error_response(&e) }),
            _ => next.run(req),
        }
    }
}

/// Cuts a handler that takes longer than the limit: 504 `timeout`.
pub struct Timeout(pub Arc<Stacks>);

impl Middleware for Timeout {
    fn call<'a>(&'a self, req: Req, next: Next<'a>) -> MiddlewareFuture<'a> {
        Box::pin(async move {
            let limit = self.0.config.request_timeout;
            match tokio::time::timeout(limit, next.run(req)).await {
                Ok(resp) => resp,
                Err(_) => error_response(&self.0.timed_out()),
            }
        })
    }
}
