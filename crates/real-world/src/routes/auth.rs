//! Registration, login and the current user.

use crate::identity::required_token;
use crate::App;
use http::StatusCode;
use serde_json::json;
use server_kit::{json, json_status, ApiError, Req, Response};
use shared::realworld::accounts::{AccountError, Login, Registration};
use shared::FieldError;
use std::sync::Arc;

fn from_accounts(e: AccountError) -> ApiError {
    match e {
        AccountError::Invalid(failure) => ApiError::validation(failure),
        AccountError::Taken(field) => ApiError::new(
            StatusCode::CONFLICT,
            "already_exists",
            format!("that {field} is taken"),
        )
        .with_details(vec![FieldError::new(field, "taken", "already registered")]),
        AccountError::BadCredentials => {
            ApiError::unauthorized("invalid_credentials", "wrong username or password")
        }
        AccountError::BadToken(why) => ApiError::unauthorized("invalid_token", why),
        AccountError::Full(n) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "user_limit",
            format!("the server holds its limit of {n} accounts"),
        ),
    }
}

/// `POST /api/auth/register`: 201 with the user (the password is hashed
/// with argon2id on a hashing worker).
pub async fn register(app: Arc<App>, req: Req) -> Result<Response, ApiError> {
    let registration: Registration = req.json().await?;
    registration.validate().map_err(ApiError::validation)?;
    let worker = app.clone();
    let user = app
        .hashing
        .run(move || worker.world.accounts.register(registration))
        .await?
        .map_err(from_accounts)?;
    json_status(StatusCode::CREATED, &*user)
}

/// `POST /api/auth/login`: a bearer token and the user.
pub async fn login(app: Arc<App>, req: Req) -> Result<Response, ApiError> {
    let login: Login = req.json().await?;
    let worker = app.clone();
    let (user, token) = app
        .hashing
        .run(move || worker.world.accounts.login(&login))
        .await?
        .map_err(from_accounts)?;
    json(&json!({
        "access_token": token.access_token,
        "token_type": token.token_type,
        "expires_in": token.expires_in,
        "user": &*user,
    }))
}

/// `GET /api/users/me`: the token's user and what they viewed last.
pub async fn me(app: Arc<App>, req: Req) -> Result<Response, ApiError> {
    let user = required_token(&app, &req)?;
    let mut body = serde_json::to_value(&*user)
        .map_err(|e| ApiError::internal(format!("serialization failed: {e}")))?;
    body["recently_viewed"] = json!(user.recently_viewed());
    json(&body)
}
