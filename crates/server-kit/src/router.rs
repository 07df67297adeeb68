//! Routing by method and path template (`/user/{id}`): unknown paths get a
//! JSON 404, known paths with another method a JSON 405 with `Allow`.

use crate::error::ApiError;
use crate::middleware::{Endpoint, Middleware, MiddlewareFuture, Next};
use crate::request::{RawBody, Req};
use crate::response::Response;
use http::{HeaderValue, Method};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The boxed future a handler returns.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Response, ApiError>> + Send>>;

/// Anything that turns a request into a response or an [`ApiError`]; every
/// `async fn(Req) -> Result<Response, ApiError>` and closure returning such a
/// future is one.
pub trait Handler: Send + Sync + 'static {
    /// Handles one request.
    fn call(&self, req: Req) -> HandlerFuture;
}

impl<F, Fut> Handler for F
where
    F: Fn(Req) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response, ApiError>> + Send + 'static,
{
    fn call(&self, req: Req) -> HandlerFuture {
        Box::pin(self(req))
    }
}

/// A handler that gets a clone of `state` with each request.
pub fn with_state<S, F, Fut>(state: &Arc<S>, f: F) -> impl Handler
where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, Req) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response, ApiError>> + Send + 'static,
{
    let state = state.clone();
    move |req| f(state.clone(), req)
}

struct Route {
    template: String,
    methods: Vec<(Method, Arc<dyn Handler>)>,
    allow: HeaderValue,
}

/// A table of routes, built once at start-up.
#[derive(Default)]
pub struct Router {
    paths: matchit::Router<usize>,
    routes: Vec<Route>,
    /// Layers around all routing, outermost first.
    layers: Vec<Arc<dyn Middleware>>,
}

/// What a lookup found.
pub(crate) enum Found<'r> {
    Handler(&'r Arc<dyn Handler>, Vec<(Box<str>, String)>),
    Error(ApiError),
}

impl Router {
    /// An empty router.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `handler` for `method` on `template` (`/user/{id}`); a `GET`
    /// route also answers `HEAD`.
    ///
    /// # Panics
    /// On an invalid or conflicting template, or a duplicate method: route
    /// tables are fixed at start-up, so this is a programming error.
    pub fn route(mut self, method: Method, template: &str, handler: impl Handler) -> Self {
        let index = match self.routes.iter().position(|r| r.template == template) {
            Some(index) => index,
            None => {
                self.paths
                    .insert(template, self.routes.len())
                    .unwrap_or_else(|e| panic!("invalid route {template}: {e}"));
                self.routes.push(Route {
                    template: template.to_owned(),
                    methods: Vec::new(),
                    allow: HeaderValue::from_static(""),
                });
                self.routes.len() - 1
            }
        };
        let route = &mut self.routes[index];
        assert!(
            route.methods.iter().all(|(m, _)| *m != method),
            "duplicate route {method} {template}"
        );
        route.methods.push((method, Arc::new(handler)));
        let mut names: Vec<&str> = route.methods.iter().map(|(m, _)| m.as_str()).collect();
        if names.contains(&"GET") {
            names.push("HEAD");
        }
        route.allow = HeaderValue::from_str(&names.join(", "))
            .unwrap_or_else(|_| HeaderValue::from_static("GET"));
        self
    }

    /// Adds a `GET` route.
    pub fn get(self, template: &str, handler: impl Handler) -> Self {
        self.route(Method::GET, template, handler)
    }

    /// Adds a `POST` route.
    pub fn post(self, template: &str, handler: impl Handler) -> Self {
        self.route(Method::POST, template, handler)
    }

    /// Adds an `OPTIONS` route.
    pub fn options(self, template: &str, handler: impl Handler) -> Self {
        self.route(Method::OPTIONS, template, handler)
    }

    /// Wraps every route, and routing's own 404 and 405 answers, in
    /// `layer` (inside the layers added before).
    pub fn layer(mut self, layer: impl Middleware) -> Self {
        self.layers.push(Arc::new(layer));
        self
    }

    /// Adds a `DELETE` route.
    pub fn delete(self, template: &str, handler: impl Handler) -> Self {
        self.route(Method::DELETE, template, handler)
    }

    pub(crate) fn find(&self, method: &Method, path: &str) -> Found<'_> {
        let Ok(m) = self.paths.at(path) else {
            return Found::Error(ApiError::not_found(format!("no route for {path}")));
        };
        let route = &self.routes[*m.value];
        let wanted = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        match route.methods.iter().find(|(m, _)| m == wanted) {
            Some((_, handler)) => Found::Handler(
                handler,
                m.params
                    .iter()
                    .map(|(k, v)| (Box::from(k), v.to_owned()))
                    .collect(),
            ),
            None => Found::Error(ApiError::method_not_allowed(
                route.allow.to_str().unwrap_or_default(),
            )),
        }
    }

    /// Routes one request and runs its handler, inside the router's
    /// layers; every outcome is a response.
    pub async fn dispatch(&self, req: Req) -> Response {
        if self.layers.is_empty() {
            self.route_request(req).await
        } else {
            Next::new(&self.layers, &Routing(self)).run(req).await
        }
    }

    async fn route_request(&self, mut req: Req) -> Response {
        match self.find(&req.parts.method, req.parts.uri.path()) {
            Found::Handler(handler, params) => {
                req.set_params(params);
                handler
                    .call(req)
                    .await
                    .unwrap_or_else(|e| crate::error_response(&e))
            }
            Found::Error(e) => crate::error_response(&e),
        }
    }

    pub(crate) fn request(
        parts: http::request::Parts,
        body: hyper::body::Incoming,
        limits: Arc<crate::request::Limits>,
    ) -> Req {
        Req::new(parts, RawBody::Incoming(body), Vec::new(), limits)
    }
}

/// Routing as the end of the router's chain of layers.
struct Routing<'r>(&'r Router);

impl Endpoint for Routing<'_> {
    fn run<'a>(&'a self, req: Req) -> MiddlewareFuture<'a> {
        Box::pin(self.0.route_request(req))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Limits;
    use crate::response::text;
    use http::StatusCode;

    fn router() -> Router {
        Router::new()
            .get("/", |_req: Req| async { Ok(text("text/plain", "root")) })
            .get("/user/{id}", |req: Req| async move {
                let id: u64 = req.param("id")?;
                Ok(text("text/plain", format!("user {id}")))
            })
            .post("/user/{id}", |_req: Req| async {
                Ok(text("text/plain", "posted"))
            })
            .get("/user/{id}/profile", |_req: Req| async {
                Ok(text("text/plain", "profile"))
            })
    }

    async fn call(r: &Router, method: Method, uri: &str) -> (StatusCode, Response) {
        let (parts, ()) = http::Request::builder()
            .method(method)
            .uri(uri)
            .body(())
            .unwrap()
            .into_parts();
        let resp = r
            .dispatch(Req::from_parts(
                parts,
                bytes::Bytes::new(),
                Limits::default(),
            ))
            .await;
        (resp.status(), resp)
    }

    async fn body_text(resp: Response) -> String {
        use http_body_util::BodyExt;
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn routes_by_method_and_template() {
        let r = router();
        let (s, resp) = call(&r, Method::GET, "/user/42?x=1").await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(body_text(resp).await, "user 42");
        let (s, resp) = call(&r, Method::POST, "/user/7").await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(body_text(resp).await, "posted");
        assert_eq!(
            call(&r, Method::GET, "/user/7/profile").await.0,
            StatusCode::OK
        );
        assert_eq!(call(&r, Method::HEAD, "/").await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn errors_are_json_with_the_right_status() {
        let r = router();
        let (s, resp) = call(&r, Method::GET, "/nope").await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert_eq!(resp.headers()["content-type"], "application/json");
        let body: serde_json::Value = serde_json::from_str(&body_text(resp).await).unwrap();
        assert_eq!(body["error"], "not_found");
        assert!(body["details"].is_array());

        let (s, resp) = call(&r, Method::DELETE, "/user/1").await;
        assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(resp.headers()["allow"], "GET, POST, HEAD");

        let (s, resp) = call(&r, Method::GET, "/user/abc").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let body: serde_json::Value = serde_json::from_str(&body_text(resp).await).unwrap();
        assert_eq!(body["error"], "invalid_path_param");
        assert_eq!(body["details"][0]["field"], "id");
    }

    #[test]
    #[should_panic(expected = "duplicate route")]
    fn duplicate_routes_are_refused() {
        let _ = router().get("/", |_req: Req| async { Ok(text("text/plain", "again")) });
    }
}
