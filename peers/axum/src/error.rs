//! The suite's error answer as an axum response: handlers and extractors
//! reject with [`ApiError`], a newtype around [`shared::api::Error`] (its
//! status, JSON body and the headers its status calls for).

use axum::http::{header, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use shared::api::Error;

/// The error every handler and extractor of the peer rejects with; any
/// `shared` error converts into it with `?`.
#[derive(Debug)]
pub struct ApiError(pub Error);

/// What handlers return.
pub type ApiResult<T> = Result<T, ApiError>;

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let json = HeaderValue::from_static("application/json");
        let mut res = (status, [(header::CONTENT_TYPE, json)], e.to_json()).into_response();
        let headers = res.headers_mut();
        for (name, value) in e.headers() {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
        res
    }
}

/// The router's fallback: no route has this path.
pub async fn not_found(uri: Uri) -> ApiError {
    Error::not_found(format!("no route for {}", uri.path())).into()
}

/// Middleware over the finished router: axum answers a known path with an
/// unknown method by a bare 405 and sets its `Allow` last (after the
/// router's own layers), so the JSON error is written from that header here.
pub async fn method_not_allowed(res: Response) -> Response {
    if res.status() != StatusCode::METHOD_NOT_ALLOWED {
        return res;
    }
    let allow = res
        .headers()
        .get(header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut json = ApiError(Error::method_not_allowed(allow)).into_response();
    // Headers the router's layers set (`Server-Timing`) stay.
    for (name, value) in res.headers() {
        if !json.headers().contains_key(name) && name != header::CONTENT_LENGTH {
            json.headers_mut().insert(name.clone(), value.clone());
        }
    }
    json
}

/// Answer of a handler that panicked: a 500, the connection kept.
pub fn panicked(_: Box<dyn std::any::Any + Send>) -> Response {
    ApiError(Error::internal("the handler failed")).into_response()
}
