//! Who is asking: a bearer token (`Authorization: Bearer …`), or for shop
//! requests the `X-User-ID` header the reference suite sends (a trusted
//! header, as behind an authenticating gateway).

use crate::api::Error;
use crate::realworld::accounts::{AccountError, User};
use crate::realworld::RealWorld;
use std::net::IpAddr;
use std::sync::Arc;

/// Whom the `X-User-ID` header is believed from. It names a user without
/// proving anything, so it stands for an authenticating gateway in front
/// of the server: by default only loopback clients (a load generator on
/// the same machine) may use it; a bearer token always works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserIdHeader {
    /// Never: only bearer tokens identify users.
    Off,
    /// From loopback clients only.
    #[default]
    Loopback,
    /// From anyone (only behind a gateway that sets it).
    Any,
}

impl std::str::FromStr for UserIdHeader {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "off" => Ok(Self::Off),
            "loopback" => Ok(Self::Loopback),
            "any" => Ok(Self::Any),
            other => Err(format!("`{other}` is not off, loopback or any")),
        }
    }
}

impl UserIdHeader {
    fn believes(self, client: Option<IpAddr>) -> bool {
        match self {
            Self::Off => false,
            Self::Loopback => client.is_some_and(|ip| match ip {
                IpAddr::V4(v4) => v4.is_loopback(),
                IpAddr::V6(v6) => {
                    v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
                }
            }),
            Self::Any => true,
        }
    }
}

/// The identity headers of a request, as sent, and who sent it.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// `Authorization`.
    pub authorization: Option<String>,
    /// `X-User-ID`.
    pub user_id: Option<String>,
    /// The client's address, when the server knows it.
    pub client: Option<IpAddr>,
}

impl Caller {
    /// The caller named by these header values, from `client`.
    pub fn new(authorization: Option<&str>, user_id: Option<&str>, client: Option<IpAddr>) -> Self {
        Self {
            authorization: authorization.map(str::to_owned),
            user_id: user_id.map(str::to_owned),
            client,
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

    /// The token's user, else the `X-User-ID` user (when `policy` believes
    /// this client), else nobody. A bad token or an unknown user id is 401,
    /// a non-numeric id 400.
    pub fn optional_user(
        &self,
        world: &RealWorld,
        policy: UserIdHeader,
    ) -> Result<Option<Arc<User>>, Error> {
        if let Some(user) = self.bearer(world) {
            return user.map(Some);
        }
        let Some(raw) = self
            .user_id
            .as_deref()
            .filter(|_| policy.believes(self.client))
        else {
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
    pub fn user(&self, world: &RealWorld, policy: UserIdHeader) -> Result<Arc<User>, Error> {
        self.optional_user(world, policy)?.ok_or_else(|| {
            Error::unauthorized(
                "unauthenticated",
                "send `Authorization: Bearer <token>` or an `X-User-ID` header",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_believed_only_where_the_policy_says() {
        let local: IpAddr = "127.0.0.1".parse().unwrap_or(IpAddr::from([127, 0, 0, 1]));
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap_or(local);
        let remote = IpAddr::from([192, 0, 2, 7]);
        assert!(UserIdHeader::Loopback.believes(Some(local)));
        assert!(UserIdHeader::Loopback.believes(Some(mapped)));
        assert!(!UserIdHeader::Loopback.believes(Some(remote)));
        assert!(!UserIdHeader::Loopback.believes(None));
        assert!(!UserIdHeader::Off.believes(Some(local)));
        assert!(UserIdHeader::Any.believes(Some(remote)));
        assert_eq!("any".parse(), Ok(UserIdHeader::Any));
        assert!("all".parse::<UserIdHeader>().is_err());
    }
}
