"""Who is asking: a bearer token (`Authorization: Bearer …`), or for shop
requests the `X-User-ID` header the reference suite sends (a trusted header,
as behind an authenticating gateway). Frameworks pass the header values
(None when absent)."""

from __future__ import annotations

from .. import errors
from .accounts import Accounts, User
from .wire import rust_trim


def _readable(value: str | None) -> str | None:
    """The header value if it is visible ASCII (tabs allowed), as the
    reference reads headers; anything else counts as absent."""
    if value is None:
        return None
    if all(c == "\t" or " " <= c <= "~" for c in value):
        return value
    return None


def _from_token(accounts: Accounts, authorization: str | None) -> User | None:
    value = _readable(authorization)
    if value is None:
        return None
    for prefix in ("Bearer ", "bearer "):
        if value.startswith(prefix):
            return accounts.authenticate(rust_trim(value[len(prefix):]))
    raise errors.unauthorized("invalid_token", "Authorization must be `Bearer <token>`")


def required_token(accounts: Accounts, authorization: str | None) -> User:
    """The token's user; 401 without a valid token."""
    user = _from_token(accounts, authorization)
    if user is None:
        raise errors.unauthorized(
            "unauthenticated",
            "this endpoint needs `Authorization: Bearer <token>` (from /api/auth/login)")
    return user


def optional_user(accounts: Accounts, authorization: str | None,
                  x_user_id: str | None) -> User | None:
    """The token's user, else the `X-User-ID` user, else nobody. A bad token
    or an unknown user id is 401, a non-numeric id 400."""
    user = _from_token(accounts, authorization)
    if user is not None:
        return user
    raw = _readable(x_user_id)
    if raw is None:
        return None
    text = rust_trim(raw)
    digits = text[1:] if text.startswith("+") else text
    if not digits.isdigit() or not digits.isascii() or int(digits) >= 1 << 32:
        raise errors.bad_request("invalid_header",
                                 f"X-User-ID must be a positive integer, got {raw!r}")
    user = accounts.get(int(digits))
    if user is None:
        raise errors.unauthorized("unknown_user", f"no user {int(digits)}")
    return user


def required_user(accounts: Accounts, authorization: str | None, x_user_id: str | None) -> User:
    """Like `optional_user`, but someone must be named: 401 otherwise."""
    user = optional_user(accounts, authorization, x_user_id)
    if user is None:
        raise errors.unauthorized(
            "unauthenticated", "send `Authorization: Bearer <token>` or an `X-User-ID` header")
    return user
