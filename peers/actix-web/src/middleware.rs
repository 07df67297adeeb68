//! `middleware`: the category's stacks as actix-web users build them:
//! `wrap` with actix's own middleware where it has one (`Compress`,
//! `DefaultHeaders` for the security headers), actix-cors' `Cors`, and
//! `middleware::from_fn` over `shared::middleware`'s rules for the rest.
//! A layer that refuses answers with a response of its own (an
//! `EitherBody`), so the layers around it still see and mark the answer.
//! Each route is wrapped with its group's stack (a 405 is the resource's
//! default service, routing's answer, outside the stack); an empty-prefix
//! scope wrapped in the timing layer holds them all, its default service
//! the JSON 404, so every answer of the category is timed.
//!
//! actix-web's `wrap` runs the last one added first (outermost): stacks
//! are listed innermost first below.

use crate::common::{query, JsonBody};
use crate::error::ApiError;
use actix_cors::Cors;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{from_fn, Compress, DefaultHeaders, Next};
use actix_web::{guard, web, HttpMessage, HttpRequest, HttpResponse, ResponseError, Route};
use shared::api::{parse_json, Error};
use shared::asyncops;
use shared::middleware::access_log::Entry;
use shared::middleware::answers::{Authenticated, Concurrent, Heavy, Light, Received, HOME};
use shared::middleware::auth::Claims;
use shared::middleware::{self as mw, bump, params, Stacks};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

type St = web::Data<Stacks>;

/// The request's id, set by [`request_ids`].
#[derive(Debug, Clone)]
struct RequestId(Rc<str>);

/// The accepted token's claims, set by [`authenticate`].
#[derive(Debug, Clone)]
struct Subject(Arc<Claims>);

/// A layer's own answer, as the `EitherBody` its type needs.
fn answer<B>(req: ServiceRequest, e: Error) -> ServiceResponse<EitherBody<B>> {
    req.into_response(ApiError(e).error_response())
        .map_into_right_body()
}

/// The category's routes behind their stacks.
pub fn routes(stacks: Stacks) -> impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static {
    let state = web::Data::new(stacks);
    move |cfg| {
        cfg.app_data(state.clone())
            .app_data(crate::common::BodyLimit(mw::MAX_BODY_BYTES))
            .service(
                web::scope("")
                    .route("/", web::get().to(|| async { HOME }))
                    .route("/health", web::get().to(health))
                    .route("/middleware-stats", web::get().to(stats))
                    .service(
                        web::resource("/middleware-light")
                            .route(light(get_or_head().to(light_answer)))
                            .default_service(web::to(|| not_allowed("GET, HEAD"))),
                    )
                    .service(
                        web::resource("/middleware-concurrent")
                            .route(light(get_or_head().to(concurrent)))
                            .default_service(web::to(|| not_allowed("GET, HEAD"))),
                    )
                    .service(heavy_resource(
                        "/middleware-heavy",
                        get_or_head().to(heavy_answer),
                        "GET, HEAD",
                    ))
                    .service(heavy_resource(
                        "/middleware-auth",
                        get_or_head().to(auth_answer),
                        "GET, HEAD",
                    ))
                    .service(heavy_resource(
                        "/middleware-post",
                        web::post().to(post_answer),
                        "POST",
                    ))
                    .default_service(web::to(crate::common::not_found))
                    .wrap(from_fn(timing)),
            );
    }
}

fn get_or_head() -> Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

async fn not_allowed(allow: &'static str) -> Result<HttpResponse, ApiError> {
    Err(Error::method_not_allowed(allow).into())
}

/// A heavy-stack resource: `route` and an OPTIONS route behind the stack
/// (preflights are answered by the CORS layer; any other OPTIONS is a 405
/// past authentication); other methods are routing's 405, timed only.
fn heavy_resource(path: &str, route: Route, allow: &'static str) -> actix_web::Resource {
    web::resource(path)
        .route(heavy(route))
        .route(heavy(
            web::route()
                .guard(guard::Options())
                .to(move || not_allowed(allow)),
        ))
        .default_service(web::to(move || not_allowed(allow)))
}

/// The light stack around `route`.
fn light(route: Route) -> Route {
    route.wrap(from_fn(counting)).wrap(from_fn(request_ids))
}

/// The heavy stack (light included) around `route`.
fn heavy(route: Route) -> Route {
    let security = mw::SECURITY_HEADERS
        .iter()
        .fold(DefaultHeaders::new(), |h, (name, value)| {
            h.add((*name, *value))
        });
    let cors = Cors::default()
        .allowed_origin(mw::ALLOWED_ORIGIN)
        .allowed_methods(["GET", "POST"])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .allowed_header("x-request-id")
        .expose_headers(["x-request-id"])
        .max_age(mw::CORS_MAX_AGE as usize);
    route
        .wrap(from_fn(timeout))
        .wrap(from_fn(rate_limit))
        .wrap(from_fn(authenticate))
        .wrap(Compress::default())
        .wrap(from_fn(count_gzip))
        .wrap(cors)
        .wrap(from_fn(count_cors))
        .wrap(security)
        .wrap(from_fn(access_log))
        .wrap(from_fn(counting))
        .wrap(from_fn(request_ids))
}

async fn timing(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let mut res = next.call(req).await?;
    if let Ok(v) = HeaderValue::from_str(&mw::server_timing(start.elapsed())) {
        res.headers_mut()
            .insert(header::HeaderName::from_static("server-timing"), v);
    }
    Ok(res)
}

async fn request_ids(
    s: St,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let given = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok());
    let id = s.request_id(given);
    let value = HeaderValue::from_str(&id);
    req.extensions_mut().insert(RequestId(id.into()));
    let mut res = next.call(req).await?;
    if let Ok(v) = value {
        res.headers_mut()
            .insert(header::HeaderName::from_static("x-request-id"), v);
    }
    Ok(res)
}

async fn counting(
    s: St,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    bump(&s.counters.requests);
    next.call(req).await
}

async fn access_log(
    s: St,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let id = req.extensions().get::<RequestId>().cloned();
    let res = next.call(req).await?;
    let subject = res.request().extensions().get::<Subject>().cloned();
    let entry = Entry {
        time: Entry::now(),
        request_id: id.as_ref().map_or("", |r| &r.0),
        method: method.as_str(),
        path: &path,
        status: res.status().as_u16(),
        duration_ms: start.elapsed().as_secs_f64() * 1000.0,
        subject: subject.as_ref().map(|s| s.0.subject.as_str()),
    };
    if let Err(e) = s.record(&entry) {
        eprintln!("actix-web-peer: access log: {e}");
    }
    Ok(res)
}

async fn count_cors(
    s: St,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let res = next.call(req).await?;
    if res
        .headers()
        .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    {
        bump(&s.counters.cors_allowed);
    }
    Ok(res)
}

async fn count_gzip(
    s: St,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let res = next.call(req).await?;
    if res
        .headers()
        .get(header::CONTENT_ENCODING)
        .is_some_and(|v| v == "gzip")
    {
        bump(&s.counters.gzipped);
    }
    Ok(res)
}

async fn authenticate<B: MessageBody>(
    s: St,
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match s.authenticate(given) {
        Ok(claims) => {
            req.extensions_mut().insert(Subject(Arc::new(claims)));
            Ok(next.call(req).await?.map_into_left_body())
        }
        Err(e) => Ok(answer(req, e)),
    }
}

async fn rate_limit<B: MessageBody>(
    s: St,
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let subject = req.extensions().get::<Subject>().cloned();
    if let Some(Err(e)) = subject.map(|sub| s.take_token(&sub.0.subject)) {
        return Ok(answer(req, e));
    }
    Ok(next.call(req).await?.map_into_left_body())
}

async fn timeout<B: MessageBody>(
    s: St,
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let limit = s.config.request_timeout;
    // The request's head stays here for the 504 when the handler is cut.
    let (http_req, payload) = req.into_parts();
    let inner = ServiceRequest::from_parts(http_req.clone(), payload);
    match actix_web::rt::time::timeout(limit, next.call(inner)).await {
        Ok(res) => Ok(res?.map_into_left_body()),
        Err(_) => {
            let e = ApiError(s.timed_out()).error_response();
            Ok(ServiceResponse::new(http_req, e).map_into_right_body())
        }
    }
}

fn request_id_of(req: &HttpRequest) -> Rc<str> {
    req.extensions()
        .get::<RequestId>()
        .map_or_else(|| Rc::from(""), |r| r.0.clone())
}

fn subject_of(req: &HttpRequest) -> Result<Arc<Claims>, ApiError> {
    req.extensions()
        .get::<Subject>()
        .map(|s| s.0.clone())
        .ok_or_else(|| ApiError(Error::internal("no authentication layer before this route")))
}

async fn health(s: St) -> HttpResponse {
    HttpResponse::Ok().json(s.health())
}

async fn stats(s: St) -> HttpResponse {
    HttpResponse::Ok().json(s.counters.stats())
}

async fn light_answer(req: HttpRequest) -> HttpResponse {
    HttpResponse::Ok().json(Light {
        stack: "light",
        request_id: &request_id_of(&req),
    })
}

async fn concurrent(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let x = asyncops::fanout_x(&query(&req))?;
    Ok(HttpResponse::Ok().json(Concurrent {
        fanout: asyncops::fanout(x).await,
        stack: "light",
        request_id: &request_id_of(&req),
    }))
}

async fn heavy_answer(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let (count, delay) = params::heavy(&query(&req))?;
    let subject = subject_of(&req)?;
    if delay > 0 {
        actix_web::rt::time::sleep(Duration::from_millis(delay)).await;
    }
    Ok(HttpResponse::Ok().json(Heavy::new(&subject.subject, &request_id_of(&req), count)))
}

async fn auth_answer(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let subject = subject_of(&req)?;
    Ok(HttpResponse::Ok().json(Authenticated {
        subject: &subject.subject,
        scopes: &subject.scopes,
        request_id: &request_id_of(&req),
    }))
}

async fn post_answer(req: HttpRequest, JsonBody(body): JsonBody) -> Result<HttpResponse, ApiError> {
    let subject = subject_of(&req)?;
    let value: serde_json::Value = parse_json(&body)?;
    let received = params::posted(&value)?;
    Ok(HttpResponse::Ok().json(Received {
        subject: &subject.subject,
        received,
        request_id: &request_id_of(&req),
    }))
}
