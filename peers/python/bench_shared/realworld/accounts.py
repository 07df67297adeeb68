"""Accounts: registration and login with argon2id password hashes (cost
chosen by the server; argon2-cffi), stateless bearer tokens signed with
HMAC-SHA256 (`user.expiry.signature`), and each user's recently viewed
products.

Hashing is deliberately slow: callers run `Accounts.register` and
`Accounts.login` on worker threads behind a `Gate` of their own."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from .. import errors
from ..gate import cores
from . import seed
from .wire import format_time, rust_trim

RECENT_VIEWS = 10  # recently viewed products a user keeps
_HEX = frozenset("0123456789abcdefABCDEF")


@dataclass(frozen=True, slots=True)
class HashCost:
    """argon2id cost parameters (OWASP's minimum by default)."""

    memory_kib: int = 19_456
    iterations: int = 2
    parallelism: int = 1

    def as_json(self) -> dict:
        return {"iterations": self.iterations, "memory_kib": self.memory_kib,
                "parallelism": self.parallelism}


@dataclass(slots=True)
class User:
    """A registered or seeded user."""

    id: int
    username: str
    email: str
    first_name: str
    last_name: str
    created_at: int  # unix seconds
    password_hash: str
    _recent: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def recently_viewed(self) -> list[int]:
        """Product ids this user viewed, most recent first, without repeats."""
        with self._lock:
            return list(self._recent)

    def viewed(self, product_id: int) -> None:
        """Notes a view of `product_id`."""
        with self._lock:
            if product_id in self._recent:
                self._recent.remove(product_id)
            self._recent.insert(0, product_id)
            del self._recent[RECENT_VIEWS:]

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "username": self.username,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "is_active": True,
            "is_admin": False,
            "created_at": format_time(self.created_at),
        }


# The registration rules, one predicate per field, for every framework's
# validation layer to call (codes: username `pattern`, email `email`,
# password `length`, names `length`).

def username_ok(username: str) -> bool:
    """3 to 20 of `[A-Za-z0-9_]`."""
    return 3 <= len(username) <= 20 and username.isascii() and all(
        c.isalnum() or c == "_" for c in username)


def email_ok(email: str) -> bool:
    """`^[^@]+@[^@]+\\.[^@]+$`, at most 254 bytes."""
    if len(email.encode("utf-8", "surrogatepass")) > 254:
        return False
    at = email.find("@")
    if at <= 0:
        return False
    domain = email[at + 1:]
    return "@" not in domain and any(
        c == "." and 0 < i < len(domain) - 1 for i, c in enumerate(domain))


def password_ok(password: str) -> bool:
    """8 to 128 characters."""
    return 8 <= len(password) <= 128


def name_ok(name: str) -> bool:
    """1 to 50 characters, not blank."""
    return 1 <= len(name) <= 50 and bool(rust_trim(name))


@dataclass(frozen=True, slots=True)
class Registration:
    """`POST /api/auth/register`, already validated."""

    username: str
    email: str
    password: str
    first_name: str
    last_name: str


def registration_errors(r: Registration) -> list[errors.FieldError]:
    """Every failing field of a registration."""
    found = []
    if not username_ok(r.username):
        found.append(errors.FieldError("username", "pattern",
                                       "3 to 20 letters, digits or underscores"))
    if not email_ok(r.email):
        found.append(errors.FieldError("email", "email", "not a valid e-mail address"))
    if not password_ok(r.password):
        found.append(errors.FieldError("password", "length", "must be 8 to 128 characters"))
    for name, value in (("first_name", r.first_name), ("last_name", r.last_name)):
        if not name_ok(value):
            found.append(errors.FieldError(name, "length",
                                           "must be 1 to 50 characters, not blank"))
    return found


def password_hasher(cost: HashCost) -> PasswordHasher:
    """argon2id at `cost` with the reference's output: a 32-byte hash and a
    16-byte salt, PHC strings."""
    return PasswordHasher(
        time_cost=cost.iterations, memory_cost=cost.memory_kib,
        parallelism=cost.parallelism, hash_len=32, salt_len=16, type=Type.ID,
    )


class Accounts:
    """Users, password hashing and tokens."""

    def __init__(self, cost: HashCost, ttl_seconds: int, max_users: int):
        self.cost = cost
        self.ttl = ttl_seconds
        self.max_users = max(max_users, seed.USERS)
        self._hasher = password_hasher(cost)
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._users: list[User] = []
        self._by_username: dict[str, int] = {}
        self._by_email: dict[str, int] = {}
        seeds = [seed.user(i) for i in range(1, seed.USERS + 1)]
        # Seeding hashes 100 passwords: on every core (argon2 drops the GIL).
        with ThreadPoolExecutor(cores(), thread_name_prefix="seed-hash") as pool:
            hashes = list(pool.map(self._hasher.hash, (u.password for u in seeds)))
        # Unknown users are checked against this, so a login takes as long
        # whether or not the user exists.
        self._decoy = self._hasher.hash("decoy password")
        for u, password_hash in zip(seeds, hashes):
            self._insert(User(0, u.username, u.email, u.first_name, u.last_name,
                              u.created_at, password_hash))

    def _insert(self, user: User) -> User:
        user.id = len(self._users) + 1
        self._by_username[user.username.lower()] = user.id
        self._by_email[user.email.lower()] = user.id
        self._users.append(user)
        return user

    def get(self, id: int) -> User | None:
        """User `id`."""
        users = self._users
        return users[id - 1] if 1 <= id <= len(users) else None

    def count(self) -> int:
        """Number of users."""
        return len(self._users)

    def _admit(self, r: Registration) -> None:
        """409 when the name or e-mail is taken, 503 when the limit is reached."""
        if r.username.lower() in self._by_username:
            raise errors.conflict("already_exists", "that username is taken",
                                  [errors.FieldError("username", "taken", "already registered")])
        if r.email.lower() in self._by_email:
            raise errors.conflict("already_exists", "that email is taken",
                                  [errors.FieldError("email", "taken", "already registered")])
        if len(self._users) >= self.max_users:
            raise errors.unavailable(
                "user_limit", f"the server holds its limit of {self.max_users} accounts")

    def register(self, r: Registration) -> User:
        """Creates an account (hashes the password: slow on purpose)."""
        errors.check(registration_errors(r))
        with self._lock:
            self._admit(r)
        password_hash = self._hasher.hash(r.password)
        with self._lock:
            # Checked again: another registration may have won meanwhile.
            self._admit(r)
            return self._insert(User(0, r.username, r.email, rust_trim(r.first_name),
                                     rust_trim(r.last_name), int(time.time()), password_hash))

    def login(self, username: str, password: str) -> tuple[User, dict]:
        """Checks a password (slow on purpose) and issues a token; 401
        `invalid_credentials` for an unknown user or a wrong password."""
        key = username.lower()
        id = self._by_username.get(key) or self._by_email.get(key)
        user = self.get(id) if id else None
        stored = user.password_hash if user else self._decoy
        try:
            ok = self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            ok = False
        if user is None or not ok:
            raise errors.unauthorized("invalid_credentials", "wrong username or password")
        return user, self.issue(user.id)

    def _sign(self, message: str) -> bytes:
        return hmac.new(self._key, message.encode(), hashlib.sha256).digest()

    def issue(self, user_id: int) -> dict:
        """A token for `user_id`, valid for the configured time."""
        message = f"{user_id}.{int(time.time()) + self.ttl}"
        return {
            "access_token": f"{message}.{self._sign(message).hex()}",
            "token_type": "bearer",
            "expires_in": self.ttl,
        }

    def authenticate(self, token: str) -> User:
        """The user a token was issued to, if the signature holds, it has not
        expired and the user exists; else 401 `invalid_token`."""
        message, dot, signature = token.rpartition(".")
        user_text, dot2, expires_text = message.partition(".")
        user_id, expires = _uint(user_text, 2**32 - 1), _uint(expires_text, 2**64 - 1)
        if not dot or not dot2 or user_id is None or expires is None or not _is_hex64(signature):
            raise errors.unauthorized("invalid_token", "malformed token")
        if not hmac.compare_digest(self._sign(message), bytes.fromhex(signature)):
            raise errors.unauthorized("invalid_token", "invalid signature")
        if expires <= int(time.time()):
            raise errors.unauthorized("invalid_token", "token expired")
        user = self.get(user_id)
        if user is None:
            raise errors.unauthorized("invalid_token", "unknown user")
        return user


def _uint(text: str, limit: int) -> int | None:
    """`text` as Rust parses an unsigned integer (an optional `+`, ASCII
    digits), or None."""
    digits = text[1:] if text.startswith("+") else text
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    value = int(digits)
    return value if value <= limit else None


def _is_hex64(text: str) -> bool:
    return len(text) == 64 and all(c in _HEX for c in text)
