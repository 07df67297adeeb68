//! Middleware: code that runs around handlers, seeing each request before
//! and its response after. A [`Middleware`] gets the request and a [`Next`]
//! running the rest of the chain; it may answer by itself (a refused token,
//! a CORS preflight) or change what comes back (a header, a compressed
//! body). [`Stack`] wraps one handler (a route group's layers);
//! [`Router::layer`](crate::Router::layer) wraps the whole router, so its
//! layers also see the 404 and 405 answers of routing.

use crate::error::{error_response, ApiError};
use crate::request::Req;
use crate::response::Response;
use crate::router::{Handler, HandlerFuture};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The boxed future of a layer's response.
pub type MiddlewareFuture<'a> = Pin<Box<dyn Future<Output = Response> + Send + 'a>>;

/// One layer around handlers.
pub trait Middleware: Send + Sync + 'static {
    /// Handles `req`, calling `next.run(req)` for the rest of the chain
    /// (or not, to answer by itself).
    fn call<'a>(&'a self, req: Req, next: Next<'a>) -> MiddlewareFuture<'a>;
}

/// What a chain of layers ends in.
pub(crate) trait Endpoint: Send + Sync {
    fn run<'a>(&'a self, req: Req) -> MiddlewareFuture<'a>;
}

impl Endpoint for Arc<dyn Handler> {
    fn run<'a>(&'a self, req: Req) -> MiddlewareFuture<'a> {
        let fut = self.call(req);
        Box::pin(async move { fut.await.unwrap_or_else(|e| error_response(&e)) })
    }
}

/// The rest of a chain: the layers after the current one, then the
/// handler (or the router).
#[derive(Clone, Copy)]
pub struct Next<'a> {
    layers: &'a [Arc<dyn Middleware>],
    endpoint: &'a dyn Endpoint,
}

impl<'a> Next<'a> {
    pub(crate) fn new(layers: &'a [Arc<dyn Middleware>], endpoint: &'a dyn Endpoint) -> Self {
        Self { layers, endpoint }
    }

    /// Runs the rest of the chain on `req`.
    pub fn run(self, req: Req) -> MiddlewareFuture<'a> {
        match self.layers.split_first() {
            Some((layer, rest)) => layer.call(req, Next::new(rest, self.endpoint)),
            None => self.endpoint.run(req),
        }
    }
}

/// Layers applied, outermost first, to the handlers of a route group.
#[derive(Clone, Default)]
pub struct Stack {
    layers: Vec<Arc<dyn Middleware>>,
}

impl Stack {
    /// A stack of no layers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `layer` inside the ones added before.
    pub fn layer(mut self, layer: impl Middleware) -> Self {
        self.layers.push(Arc::new(layer));
        self
    }

    /// `handler` behind these layers.
    pub fn wrap(&self, handler: impl Handler) -> impl Handler {
        Layered(Arc::new(LayeredInner {
            layers: self.layers.clone(),
            handler: Arc::new(handler),
        }))
    }
}

struct LayeredInner {
    layers: Vec<Arc<dyn Middleware>>,
    handler: Arc<dyn Handler>,
}

struct Layered(Arc<LayeredInner>);

impl Handler for Layered {
    fn call(&self, req: Req) -> HandlerFuture {
        let inner = self.0.clone();
        Box::pin(async move {
            let next = Next::new(&inner.layers, &inner.handler);
            Ok::<_, ApiError>(next.run(req).await)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::request::Limits;
    use crate::response::text;
    use crate::Router;
    use http::{HeaderValue, Method, StatusCode};

    /// Appends its name to `x-trace` on the way in (a request header) and
    /// on the way out (a response header).
    struct Trace(&'static str);

    impl Middleware for Trace {
        fn call<'a>(&'a self, mut req: Req, next: Next<'a>) -> MiddlewareFuture<'a> {
            Box::pin(async move {
                let seen = req
                    .header("x-trace")
                    .map_or(self.0.to_owned(), |t| format!("{t} {}", self.0));
                req.parts
                    .headers
                    .insert("x-trace", HeaderValue::from_str(&seen).unwrap());
                let mut resp = next.run(req).await;
                let out = resp.headers().get("x-out").map_or(self.0.to_owned(), |t| {
                    format!("{} {}", t.to_str().unwrap(), self.0)
                });
                resp.headers_mut()
                    .insert("x-out", HeaderValue::from_str(&out).unwrap());
                resp
            })
        }
    }

    /// Answers by itself without calling the rest.
    struct Refuse;

    impl Middleware for Refuse {
        fn call<'a>(&'a self, _req: Req, _next: Next<'a>) -> MiddlewareFuture<'a> {
            Box::pin(async { error_response(&ApiError::unauthorized("no", "refused")) })
        }
    }

    async fn call(r: &Router, uri: &str) -> Response {
        let (parts, ()) = http::Request::builder()
            .method(Method::GET)
            .uri(uri)
            .body(())
            .unwrap()
            .into_parts();
        r.dispatch(Req::from_parts(
            parts,
            bytes::Bytes::new(),
            Limits::default(),
        ))
        .await
    }

    fn echo_trace(req: Req) -> impl Future<Output = Result<Response, ApiError>> {
        let trace = req.header("x-trace").unwrap_or("").to_owned();
        async move { Ok(text("text/plain", trace)) }
    }

    #[tokio::test]
    async fn layers_run_outermost_first_in_and_last_out() {
        let group = Stack::new().layer(Trace("b")).layer(Trace("c"));
        let r = Router::new()
            .get("/", group.wrap(echo_trace))
            .get("/bare", echo_trace)
            .layer(Trace("a"));
        let resp = call(&r, "/").await;
        assert_eq!(resp.headers()["x-out"], "c b a");
        use http_body_util::BodyExt;
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, "a b c");
        assert_eq!(call(&r, "/bare").await.headers()["x-out"], "a");
        // Routing's own answers pass the router's layers.
        let missing = call(&r, "/nope").await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(missing.headers()["x-out"], "a");
    }

    #[tokio::test]
    async fn a_layer_can_answer_without_the_handler() {
        let r = Router::new().get(
            "/",
            Stack::new()
                .layer(Refuse)
                .layer(Trace("x"))
                .wrap(echo_trace),
        );
        let resp = call(&r, "/").await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert!(resp.headers().get("x-out").is_none());
    }
}
