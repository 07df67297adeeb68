//! Bearer authentication: `Authorization: Bearer <JWT>`, HS256 only,
//! `exp` (checked with no leeway) and `sub` required, `nbf` checked when
//! present, `scope` an optional
//! space-separated list. Failures are [`AuthError`]s: no HTTP in them, a
//! server answers 401 with [`AuthError::challenge`] as `WWW-Authenticate`.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// Who a valid token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// The token's `sub`.
    pub subject: String,
    /// The token's `scope`, split on spaces.
    pub scopes: Vec<String>,
}

/// Why a request is not authenticated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header, or another scheme than Bearer.
    #[error("a bearer token is required")]
    Missing,
    /// A token that is not a valid HS256 JWT with `exp` and `sub` signed
    /// with the key.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// A valid token whose `exp` has passed.
    #[error("the token has expired")]
    Expired,
}

impl AuthError {
    /// The error code of the answer.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "missing_token",
            Self::Invalid(_) => "invalid_token",
            Self::Expired => "token_expired",
        }
    }

    /// The `WWW-Authenticate` challenge (RFC 6750 §3).
    pub fn challenge(&self) -> String {
        match self {
            Self::Missing => r#"Bearer realm="middleware""#.to_owned(),
            other => format!(
                r#"Bearer realm="middleware", error="invalid_token", error_description="{}""#,
                other.to_string().replace(['"', '\\'], "'")
            ),
        }
    }
}

#[derive(Deserialize)]
struct Payload {
    sub: String,
    #[serde(default)]
    scope: Option<String>,
}

/// Checks tokens against one key.
#[derive(Clone)]
pub struct Verifier {
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Verifier(HS256)")
    }
}

/// A key tokens cannot be checked with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unusable JWT key: {0}")]
pub struct KeyError(String);

impl Verifier {
    /// A verifier of HS256 tokens signed with `secret`.
    pub fn new(secret: &str) -> Result<Self, KeyError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        // As PyJWT: a token not valid yet is refused too.
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Ok(Self {
            key: DecodingKey::from_secret(secret.as_bytes())
                .map_err(|e| KeyError(e.to_string()))?,
            validation,
        })
    }

    /// The claims of the request whose `Authorization` header is
    /// `authorization`.
    pub fn verify(&self, authorization: Option<&str>) -> Result<Claims, AuthError> {
        let token = authorization
            .and_then(|h| {
                let (scheme, token) = h.split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then_some(token.trim())
            })
            .ok_or(AuthError::Missing)?;
        let data = jsonwebtoken::decode::<Payload>(token, &self.key, &self.validation).map_err(
            |e| match e.kind() {
                ErrorKind::ExpiredSignature => AuthError::Expired,
                _ => AuthError::Invalid(e.to_string()),
            },
        )?;
        let Payload { sub, scope } = data.claims;
        Ok(Claims {
            subject: sub,
            scopes: scope
                .as_deref()
                .unwrap_or("")
                .split_ascii_whitespace()
                .map(str::to_owned)
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const VALID: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJiZW5jaC11c2VyIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwiZXhwIjo0MTAyNDQ0ODAwfQ.uJALk1spGiI6HOZOw0rMzV4pmKju5pTY2pBuu_vv5Os";
    const EXPIRED: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJiZW5jaC11c2VyIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwiZXhwIjoxNzAwMDAwMDAwfQ.UJAOGCGVTDZ1I_bPlud87crXtI5TMVczsZI1rlVxHqE";
    const OTHER_KEY: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJiZW5jaC11c2VyIiwic2NvcGUiOiJyZWFkIHdyaXRlIiwiZXhwIjo0MTAyNDQ0ODAwfQ.Qb4pApHLO8t7eLG4j6gG2SFR9Z40S_iSBFTC05WdMJc";

    fn bearer(t: &str) -> String {
        format!("Bearer {t}")
    }

    #[test]
    fn a_valid_token_gives_its_claims() {
        let v = Verifier::new(crate::middleware::DEFAULT_JWT_SECRET).unwrap();
        let c = v.verify(Some(&bearer(VALID))).unwrap();
        assert_eq!(c.subject, "bench-user");
        assert_eq!(c.scopes, ["read", "write"]);
        assert_eq!(v.verify(Some(&format!("bearer  {VALID}"))).unwrap(), c);
    }

    #[test]
    fn every_bad_token_is_refused_with_its_code() {
        let v = Verifier::new(crate::middleware::DEFAULT_JWT_SECRET).unwrap();
        let none = format!(
            "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
            VALID.split('.').nth(1).unwrap()
        );
        assert_eq!(v.verify(None), Err(AuthError::Missing));
        assert_eq!(v.verify(Some("Basic abc")), Err(AuthError::Missing));
        assert_eq!(v.verify(Some(&bearer(EXPIRED))), Err(AuthError::Expired));
        for bad in ["not-a-jwt", OTHER_KEY, &none, ""] {
            let e = v.verify(Some(&bearer(bad))).unwrap_err();
            assert_eq!(e.code(), "invalid_token", "{bad}: {e}");
            assert!(e.challenge().contains(r#"error="invalid_token""#));
        }
        // The same token under another key is a bad signature.
        let w = Verifier::new("wrong-secret").unwrap();
        assert_eq!(
            w.verify(Some(&bearer(VALID))).unwrap_err().code(),
            "invalid_token"
        );
        assert_eq!(
            AuthError::Missing.challenge(),
            r#"Bearer realm="middleware""#
        );
    }
}
