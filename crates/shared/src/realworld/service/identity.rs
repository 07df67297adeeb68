//! Who is asking: a bearer token (`Authorization: Bearer …`), or for shop
//! requests the `X-User-ID` header the reference suite sends (a trusted
//! header, as behind an authenticating gateway).

use crate::api::Error;
use crate::realworld::accounts::{AccountError, User};
use crate::realworld::RealWorld;
use std::sync::Arc;

/// The identity headers of a request, as sent.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// `Authorization`.
    pub authorization: Option<String>,
    /// `X-User-ID`.
    pub user_id: Option<String>,
}

impl Caller {
    /// The caller named by these header values.
    pub fn new(authorization: Option<&str>, user_id: Option<&str>) -> Self {
        Self {
            authorization: authorization.map(str::to_owned),
            user_id: user_id.map(str::to_owned),
        }
    }

    fn bearer(&self, world: &RealWorld) -> Option<Result<Arc<User>, Error>> {
        let value = self.authorization.as_deref()?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim);
        Some(match token {
            None => Err(Error::unauthorized(
                "invalid_token",
                "Authorization must be `Bearer <token>`",
            )),
            Some(t) => world.accounts.authenticate(t).map_err(|e| match e {
                AccountError::BadToken(why) => Error::unauthorized("invalid_token", why),
                _ => Error::unauthorized("invalid_token", "invalid token"),
            }),
        })
    }

    /// The token's user; 401 without a valid token.
    pub fn token_user(&self, world: &RealWorld) -> Result<Arc<User>, Error> {
        self.bearer(world).unwrap_or_else(|| {
            Err(Error::unauthorized(
                "unauthenticated",
                "this endpoint needs `Authorization: Bearer <token>` (from /api/auth/login)",
            ))
        })
    }

    /// The token's user, else the `X-User-ID` user, else nobody. A bad token
    /// or an unknown user id is 401, a non-numeric id 400.
    pub fn optional_user(&self, world: &RealWorld) -> Result<Option<Arc<User>>, Error> {
        if let Some(user) = self.bearer(world) {
            return user.map(Some);
        }
        let Some(raw) = self.user_id.as_deref() else {
            return Ok(None);
        };
        let id: u32 = raw.trim().parse().map_err(|_| {
            Error::bad_request(
                "invalid_header",
                format!("X-User-ID must be a positive integer, got {raw:?}"),
            )
        })?;
        world
            .accounts
            .get(id)
            .map(Some)
            .ok_or_else(|| Error::unauthorized("unknown_user", format!("no user {id}")))
    }

    /// Like [`Caller::optional_user`], but someone must be named: 401
    /// otherwise.
    pub fn user(&self, world: &RealWorld) -> Result<Arc<User>, Error> {
        self.optional_user(world)?.ok_or_else(|| {
            Error::unauthorized(
                "unauthenticated",
                "send `Authorization: Bearer <token>` or an `X-User-ID` header",
            )
        })
    }
}
