//! Who is asking: a bearer token (`Authorization: Bearer …`), or for shop
//! requests the `X-User-ID` header the reference suite sends (a trusted
//! header, as behind an authenticating gateway).

use crate::App;
use server_kit::{ApiError, Req};
use shared::realworld::accounts::{AccountError, User};
use std::sync::Arc;

fn from_token(app: &App, req: &Req) -> Option<Result<Arc<User>, ApiError>> {
    let value = req.header(http::header::AUTHORIZATION)?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim);
    Some(match token {
        None => Err(ApiError::unauthorized(
            "invalid_token",
            "Authorization must be `Bearer <token>`",
        )),
        Some(t) => app.world.accounts.authenticate(t).map_err(|e| match e {
            AccountError::BadToken(why) => ApiError::unauthorized("invalid_token", why),
            _ => ApiError::unauthorized("invalid_token", "invalid token"),
        }),
    })
}

/// The token's user; 401 without a valid token.
pub fn required_token(app: &App, req: &Req) -> Result<Arc<User>, ApiError> {
    from_token(app, req).unwrap_or_else(|| {
        Err(ApiError::unauthorized(
            "unauthenticated",
            "this endpoint needs `Authorization: Bearer <token>` (from /api/auth/login)",
        ))
    })
}

/// The token's user, else the `X-User-ID` user, else nobody. A bad token
/// or an unknown user id is 401, a non-numeric id 400.
pub fn optional_user(app: &App, req: &Req) -> Result<Option<Arc<User>>, ApiError> {
    if let Some(user) = from_token(app, req) {
        return user.map(Some);
    }
    let Some(raw) = req.header("x-user-id") else {
        return Ok(None);
    };
    let id: u32 = raw.trim().parse().map_err(|_| {
        ApiError::bad_request(
            "invalid_header",
            format!("X-User-ID must be a positive integer, got {raw:?}"),
        )
    })?;
    app.world
        .accounts
        .get(id)
        .map(Some)
        .ok_or_else(|| ApiError::unauthorized("unknown_user", format!("no user {id}")))
}

/// Like [`optional_user`], but someone must be named: 401 otherwise.
pub fn required_user(app: &App, req: &Req) -> Result<Arc<User>, ApiError> {
    optional_user(app, req)?.ok_or_else(|| {
        ApiError::unauthorized(
            "unauthenticated",
            "send `Authorization: Bearer <token>` or an `X-User-ID` header",
        )
    })
}
