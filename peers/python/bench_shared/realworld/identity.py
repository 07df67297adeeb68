"""Who is asking: a bearer token (`Authorization: Bearer …`), or for shop
requests the `X-User-ID` header the reference suite sends (a trusted header,
as behind an authenticating gateway), believed only from the clients the
policy names (`UserIdHeader`). The twin of the reference's
`realworld::service::identity`. Frameworks pass the header values (None when
absent) and the client's address as the connection gives it."""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass

from .. import errors
from .accounts import Accounts, User
from .wire import rust_trim


class UserIdHeader(enum.Enum):
    """Whom the `X-User-ID` header is believed from. It names a user without
    proving anything, so it stands for an authenticating gateway in front of
    the server: by default only loopback clients (a load generator on the
    same machine) may use it; a bearer token always works."""

    OFF = "off"  # never: only bearer tokens identify users
    LOOPBACK = "loopback"  # from loopback clients only (the default)
    ANY = "any"  # from anyone (only behind a gateway that sets it)

    @classmethod
    def parse(cls, text: str) -> UserIdHeader:
        """`off`, `loopback` or `any`; ValueError otherwise."""
        for policy in cls:
            if policy.value == text:
                return policy
        raise ValueError(f"`{text}` is not off, loopback or any")

    def believes(self, client: str | None) -> bool:
        """Whether a header from `client` (an IP address as text, None when
        unknown) is believed."""
        if self is UserIdHeader.ANY:
            return True
        if self is UserIdHeader.OFF or client is None:
            return False
        return is_loopback(client)


_policy = UserIdHeader.LOOPBACK


def set_default_policy(policy: UserIdHeader) -> None:
    """Sets whom services built from now on believe `X-User-ID` from
    (`serve.py --user-id-header`)."""
    global _policy
    _policy = policy


def default_policy() -> UserIdHeader:
    """The policy set, loopback unless told otherwise."""
    return _policy


def is_loopback(client: str) -> bool:
    """Whether `client` is a loopback IPv4 or IPv6 address, an IPv4-mapped
    loopback (`::ffff:127.0.0.1`) included; anything unparseable is not."""
    try:
        ip = ipaddress.ip_address(client)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def _readable(value: str | None) -> str | None:
    """The header value if it is visible ASCII (tabs allowed), as the
    reference reads headers; anything else counts as absent."""
    if value is None:
        return None
    if all(c == "\t" or " " <= c <= "~" for c in value):
        return value
    return None


@dataclass(frozen=True, slots=True)
class Caller:
    """The identity headers of a request, as sent, and who sent it."""

    authorization: str | None = None
    user_id: str | None = None  # `X-User-ID`
    client: str | None = None  # the client's IP address, when the server knows it

    def _bearer(self, accounts: Accounts) -> User | None:
        """The token's user; None without an `Authorization` header; 401 for
        any other scheme or a bad token."""
        value = _readable(self.authorization)
        if value is None:
            return None
        for prefix in ("Bearer ", "bearer "):
            if value.startswith(prefix):
                return accounts.authenticate(rust_trim(value[len(prefix):]))
        raise errors.unauthorized("invalid_token", "Authorization must be `Bearer <token>`")

    def token_user(self, accounts: Accounts) -> User:
        """The token's user; 401 without a valid token."""
        user = self._bearer(accounts)
        if user is None:
            raise errors.unauthorized(
                "unauthenticated",
                "this endpoint needs `Authorization: Bearer <token>` (from /api/auth/login)")
        return user

    def optional_user(self, accounts: Accounts, policy: UserIdHeader) -> User | None:
        """The token's user, else the `X-User-ID` user (when `policy` believes
        this client), else nobody. A bad token or an unknown user id is 401,
        a non-numeric id 400."""
        user = self._bearer(accounts)
        if user is not None:
            return user
        raw = _readable(self.user_id)
        if raw is None or not policy.believes(self.client):
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

    def user(self, accounts: Accounts, policy: UserIdHeader) -> User:
        """Like `optional_user`, but someone must be named: 401 otherwise."""
        user = self.optional_user(accounts, policy)
        if user is None:
            raise errors.unauthorized(
                "unauthenticated", "send `Authorization: Bearer <token>` or an `X-User-ID` header")
        return user
