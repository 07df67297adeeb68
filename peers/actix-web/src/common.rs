//! What every category's routes share: a resource builder that answers the
//! contract's 405 (with `Allow`) and HEAD on GET routes, the JSON body
//! extractor with its size limit, the 404 service, and small helpers over
//! `HttpRequest`.

use crate::error::ApiError;
use actix_web::dev::{AppService, HttpServiceFactory, Payload};
use actix_web::http::header::{self, ContentType};
use actix_web::{guard, web, FromRequest, Handler, HttpRequest, HttpResponse, Responder};
use bytes::{Bytes, BytesMut};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use shared::api::{check_declared_length, require_json, Error, Query};

/// The body limit of JSON requests unless a category says otherwise.
pub const DEFAULT_BODY_LIMIT: usize = shared::api::DEFAULT_MAX_BODY_BYTES;

/// The largest JSON body a category accepts, in its app data.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// One path of a route table: `web::resource` with its methods, where any
/// other method gets the contract's JSON 405 naming them in `Allow`, in the
/// order they were added (a GET route also answers HEAD, listed last), as
/// the reference answers.
pub struct Endpoint {
    resource: actix_web::Resource,
    allow: Vec<&'static str>,
}

impl Endpoint {
    /// A path pattern (`/user/{id}`) with no methods yet.
    pub fn new(path: &str) -> Self {
        Self {
            resource: web::resource(path),
            allow: Vec::new(),
        }
    }

    fn method<F, Args>(mut self, name: &'static str, route: actix_web::Route, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.resource = self.resource.route(route.to(handler));
        self.allow.push(name);
        self
    }

    /// Answers GET (and HEAD: actix-http sends the head without the body).
    pub fn get<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let get_or_head = web::route().guard(guard::Any(guard::Get()).or(guard::Head()));
        self.method("GET", get_or_head, handler)
    }

    /// Answers POST.
    pub fn post<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.method("POST", web::post(), handler)
    }

    /// Answers DELETE.
    pub fn delete<F, Args>(self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.method("DELETE", web::delete(), handler)
    }
}

impl HttpServiceFactory for Endpoint {
    fn register(self, config: &mut AppService) {
        let mut allow = self.allow;
        if allow.contains(&"GET") {
            allow.push("HEAD");
        }
        let allow = allow.join(", ");
        self.resource
            .default_service(web::to(move || {
                let e = Error::method_not_allowed(allow.clone());
                async move { Err::<HttpResponse, _>(ApiError(e)) }
            }))
            .register(config);
    }
}

/// The app's `default_service`: an unknown path is a JSON 404.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(Error::not_found(format!("no route for {}", req.path())).into())
}

/// A `web::Path` segment that does not deserialize is the contract's 400,
/// not actix's text answer.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|e, _req| {
        ApiError(Error::bad_request(
            "invalid_path_param",
            format!("invalid path parameter: {e}"),
        ))
        .into()
    })
}

/// A request header as text, if present and valid.
pub fn header(req: &HttpRequest, name: impl header::AsHeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The decoded query string.
pub fn query(req: &HttpRequest) -> Query<'_> {
    Query::parse(Some(req.query_string()))
}

/// 200 `application/json` with a body the shared crate serialized.
pub fn json_raw(body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(body)
}

/// The raw body of a JSON request (parsed by the shared services): 415
/// unless `Content-Type` is JSON, 413 past the category's [`BodyLimit`]
/// (declared in `Content-Length`, or found while reading), answered only
/// once the rest of the body was read and dropped (within the shared drain
/// bounds) so a client still sending reads the 413. actix's `web::Bytes`
/// cannot do that (it drops the payload on overflow), so the payload is
/// read here; its `PayloadConfig` limit never applies.
pub struct JsonBody(pub Bytes);

impl FromRequest for JsonBody {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<BodyLimit>()
            .map_or(DEFAULT_BODY_LIMIT, |l| l.0);
        let json = require_json(header(req, header::CONTENT_TYPE));
        let declared = header(req, header::CONTENT_LENGTH);
        let length = check_declared_length(declared, limit as u64);
        let capacity = declared
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0)
            .min(limit);
        let mut payload = payload.take();
        Box::pin(async move {
            json?;
            if let Err(too_large) = length {
                shared::api::drain(&mut payload, limit as u64).await;
                return Err(too_large.into());
            }
            let mut body = BytesMut::with_capacity(capacity);
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(Error::body_read)?;
                if body.len() + chunk.len() > limit {
                    shared::api::drain(&mut payload, limit as u64).await;
                    return Err(Error::payload_too_large(limit as u64).into());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Self(body.freeze()))
        })
    }
}

/// A JSON body, or `None` when the request has no body at all
/// (`shared::api::is_bodiless`) — for endpoints with a documented default.
pub struct OptionalJsonBody(pub Option<Bytes>);

impl FromRequest for OptionalJsonBody {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let present = |name| {
            req.headers()
                .get(name)
                .map(|v: &header::HeaderValue| v.to_str().unwrap_or(""))
        };
        if shared::api::is_bodiless(
            present(header::CONTENT_TYPE),
            present(header::CONTENT_LENGTH),
            present(header::TRANSFER_ENCODING),
        ) {
            return Box::pin(async { Ok(Self(None)) });
        }
        let body = JsonBody::from_request(req, payload);
        Box::pin(async move { body.await.map(|JsonBody(b)| Self(Some(b))) })
    }
}

impl std::ops::Deref for JsonBody {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}
