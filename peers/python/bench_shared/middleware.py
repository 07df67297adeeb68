"""The middleware category's framework-neutral parts
(shared-endpoints/middleware.md): the settings and where they come from,
the route groups, each layer's rule (request ids, bearer JWTs, the
per-subject token bucket, the access log, the security headers, the CORS
and gzip settings), the counters every process adds to, the handlers'
parameters and answers, and the errors.

Each framework builds the stacks with its own middleware mechanism around
these; nothing here imports a framework."""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import json
import math
import os
import re
import tempfile
import threading
import time
import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Callable, Mapping, TypeVar

import jwt

from . import errors, http
from .counters import Counters, remove_shared
from .errors import ApiError, FieldError
from .reaper import remove_when_gone
from .validation.jsontext import has_lone_surrogate

T = TypeVar("T")

CATEGORY = "middleware"
MAX_BODY = 4096

# --- settings ---------------------------------------------------------------

SECRET_ENV = "BENCH_JWT_SECRET"
RATE_ENV = "BENCH_RATE_LIMIT"
TIMEOUT_ENV = "BENCH_REQUEST_TIMEOUT_MS"
LOG_ENV = "BENCH_ACCESS_LOG"
DEFAULT_SECRET = "feature-bench-secret"
DEFAULT_RATE = 1_000_000
DEFAULT_TIMEOUT_MS = 1000


@dataclass(frozen=True, slots=True)
class Settings:
    """What `--jwt-secret`, `--rate-limit`, `--request-timeout-ms` and
    `--access-log` set."""

    jwt_secret: str
    rate_limit: int
    request_timeout_ms: int
    access_log: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "Settings":
        """The settings `configure` wrote into the environment (what every
        worker process reads); ValueError when one is not valid."""
        log = env.get(LOG_ENV)
        if not log:
            raise ValueError(f"{LOG_ENV} names no access log (serve.py sets it)")
        return cls(jwt_secret=_secret(env.get(SECRET_ENV, DEFAULT_SECRET)),
                   rate_limit=positive("--rate-limit", env.get(RATE_ENV, str(DEFAULT_RATE))),
                   request_timeout_ms=positive("--request-timeout-ms",
                                               env.get(TIMEOUT_ENV, str(DEFAULT_TIMEOUT_MS))),
                   access_log=log)


def positive(flag: str, raw: str) -> int:
    """`raw` as an integer of at least 1; ValueError naming `flag` otherwise."""
    value = http.uint(raw.strip())
    if value is None or value < 1:
        raise ValueError(f"{flag} must be a whole number of at least 1, got {raw!r}")
    return value


def _secret(raw: str) -> str:
    if not raw:
        raise ValueError("--jwt-secret must not be empty")
    return raw


def configure(jwt_secret: str | None = None, rate_limit: str | None = None,
              request_timeout_ms: str | None = None, access_log: str | None = None) -> Settings:
    """The server's settings, each from its flag, else its environment
    variable, else its default; checked, and written into the environment
    so that worker processes read the same. Without an access log, one is
    made in a fresh temporary directory removed when this process ends
    (call it in the parent, before any worker starts). ValueError for a bad
    value or an access log that cannot be opened."""
    env = os.environ
    settings = {
        SECRET_ENV: _secret(jwt_secret if jwt_secret is not None
                            else env.get(SECRET_ENV, DEFAULT_SECRET)),
        RATE_ENV: str(positive("--rate-limit", rate_limit if rate_limit is not None
                               else env.get(RATE_ENV, str(DEFAULT_RATE)))),
        TIMEOUT_ENV: str(positive("--request-timeout-ms", request_timeout_ms
                                  if request_timeout_ms is not None
                                  else env.get(TIMEOUT_ENV, str(DEFAULT_TIMEOUT_MS)))),
    }
    log = access_log if access_log is not None else env.get(LOG_ENV)
    if log:
        log = os.path.abspath(log)
        try:
            os.close(open_log(log))
        except OSError as e:
            raise ValueError(f"--access-log {log}: {e.strerror}") from None
    else:
        log = default_access_log()
    settings[LOG_ENV] = log
    env.update(settings)
    return Settings.from_env(env)


def default_access_log() -> str:
    """`middleware-access-<pid>.log` in a fresh temporary directory, removed
    when this process ends, however it ends."""
    directory = tempfile.mkdtemp(prefix="bench-middleware-")
    atexit.register(remove_shared, directory, remove_when_gone(directory), os.getpid())
    path = os.path.join(directory, f"middleware-access-{os.getpid()}.log")
    os.close(open_log(path))
    return path


# --- route groups -----------------------------------------------------------

class Routes:
    """A route group: its paths and the methods each path takes there (HEAD
    with GET, as the frameworks route it)."""

    def __init__(self, routes: Mapping[str, frozenset[str]]) -> None:
        self.methods = dict(routes)

    def covers(self, method: str, path: str) -> bool:
        methods = self.methods.get(path)
        return methods is not None and method in methods

    def __or__(self, other: "Routes") -> "Routes":
        return Routes({**self.methods, **other.methods})


_GET = frozenset({"GET", "HEAD"})
#: Timing, request id and counting. Every other answer (`/`, `/health`,
#: `/middleware-stats`, a 404, a 405) has the timing layer alone.
LIGHT = Routes({"/middleware-light": _GET, "/middleware-concurrent": _GET})
#: The light stack plus the access log, security headers, CORS, gzip,
#: bearer JWT, the token bucket and the timeout; CORS preflights included.
HEAVY = Routes({"/middleware-heavy": _GET | {"OPTIONS"},
                "/middleware-auth": _GET | {"OPTIONS"},
                "/middleware-post": frozenset({"POST", "OPTIONS"})})
#: The routes with a request id, counted.
STACKED = LIGHT | HEAVY

#: HEAVY's paths as a regex, for libraries configured with one.
HEAVY_REGEX = r"^/middleware-(heavy|auth|post)$"


# --- timing -------------------------------------------------------------------

def server_timing(started: float) -> str:
    """`Server-Timing` for a layer entered at `started` (`time.perf_counter()`)."""
    return f"app;dur={(time.perf_counter() - started) * 1000:.3f}"


# --- request id ---------------------------------------------------------------

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id(given: str | None) -> tuple[str, bool]:
    """The request's id and whether it is the client's: `given` when it
    matches `^[A-Za-z0-9._-]{1,64}$`, else a new UUID v4."""
    if given is not None and _REQUEST_ID.fullmatch(given):
        return given, True
    return str(uuid.uuid4()), False


# --- counters -----------------------------------------------------------------

COUNTERS = ("requests", "ids_generated", "ids_echoed", "cors_allowed", "auth_ok",
            "auth_rejected", "rate_limited", "gzipped", "logged", "timed_out")
_SLOTS = {name: i for i, name in enumerate(COUNTERS)}


class Stats:
    """Each layer's counter, summed over the server's processes
    (`bench_shared.counters`)."""

    def __init__(self) -> None:
        self._counters = Counters(CATEGORY, len(COUNTERS))

    def count(self, name: str, n: int = 1) -> None:
        self._counters.add(((_SLOTS[name], n),))

    def count_id(self, echoed: bool) -> None:
        self.count("ids_echoed" if echoed else "ids_generated")

    def snapshot(self) -> dict:
        """`/middleware-stats`."""
        return {"category": CATEGORY, **dict(zip(COUNTERS, self._counters.totals()))}


# --- security headers, CORS and gzip settings ----------------------------------

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'",
}

CORS_ORIGINS = ("http://allowed.example",)
CORS_METHODS = ("GET", "POST")
CORS_HEADERS = ("authorization", "content-type", "x-request-id")
CORS_EXPOSE = ("X-Request-ID",)
CORS_MAX_AGE = 600

GZIP_MIN_SIZE = 1024
GZIP_LEVEL = 6


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether `Accept-Encoding` lists gzip (not with `q=0`)."""
    for part in (accept_encoding or "").lower().split(","):
        coding, _, params = part.partition(";")
        if coding.strip() == "gzip":
            q = params.strip().removeprefix("q=").strip()
            return not q or _quality(q) > 0
    return False


def _quality(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        return 1.0


def is_preflight(method: str, origin: str | None, request_method: str | None) -> bool:
    """A CORS preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method`."""
    return method == "OPTIONS" and bool(origin) and bool(request_method)


# --- bearer JWT ---------------------------------------------------------------

REALM = 'Bearer realm="middleware"'


@dataclass(frozen=True, slots=True)
class Principal:
    """Whom a valid token names: its `sub` and its `scope`, split."""

    subject: str
    scopes: tuple[str, ...]


def missing_token() -> ApiError:
    return ApiError(401, "missing_token", "a bearer token is required (Authorization: Bearer <token>)",
                    headers={"WWW-Authenticate": REALM})


def invalid_token(message: str, code: str = "invalid_token") -> ApiError:
    description = message.replace("\\", "").replace('"', "'")
    challenge = f'{REALM}, error="invalid_token", error_description="{description}"'
    return ApiError(401, code, message, headers={"WWW-Authenticate": challenge})


def token_expired() -> ApiError:
    return invalid_token("the token has expired", "token_expired")


def _reason(e: jwt.InvalidTokenError) -> str:
    """Our words for PyJWT's failure (its own messages quote claim names)."""
    if isinstance(e, jwt.InvalidSignatureError):
        return "the token's signature does not verify"
    if isinstance(e, jwt.InvalidAlgorithmError):
        return "the token is not signed with HS256"
    if isinstance(e, jwt.MissingRequiredClaimError):
        return f"the token has no {e.claim} claim"
    if isinstance(e, jwt.exceptions.InvalidSubjectError):
        return "the token's sub claim is not a string"
    if isinstance(e, jwt.DecodeError):
        return "the token is not a well-formed JWT"
    return f"the token is not valid: {e}"


def bearer_token(authorization: str | None) -> str:
    """The token of `Authorization: Bearer <token>`; 401 `missing_token`
    without the header, with another scheme or with no token (as the
    reference)."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise missing_token()
    return token


class Verifier:
    """Bearer JWTs signed with the secret: HS256 only, `exp` required and
    checked without leeway, `sub` required (a string), `scope` optional."""

    ALGORITHMS = ["HS256"]
    # `nbf` is checked when present, `iat` is not: as the reference.
    OPTIONS = {"require": ["exp", "sub"], "verify_exp": True, "verify_sub": True,
               "verify_nbf": True, "verify_iat": False}

    def __init__(self, secret: str) -> None:
        self.secret = secret
        # The suite's default key is 20 bytes: PyJWT would warn on every token.
        warnings.filterwarnings("ignore", category=jwt.InsecureKeyLengthWarning)

    def verify(self, authorization: str | None) -> Principal:
        """The token's principal, or a 401 ApiError saying why not."""
        token = bearer_token(authorization)
        try:
            claims = jwt.decode(token, self.secret, algorithms=self.ALGORITHMS,
                                options=self.OPTIONS, leeway=0)
        except jwt.ExpiredSignatureError:
            raise token_expired() from None
        except jwt.InvalidTokenError as e:
            raise invalid_token(_reason(e)) from None
        scope = claims.get("scope", "")
        if not isinstance(scope, str):
            raise invalid_token("the token's scope claim is not a string")
        return Principal(claims["sub"], tuple(scope.split()))


# --- rate limit ---------------------------------------------------------------

def rate_limited(retry_after: int) -> ApiError:
    return ApiError(429, "rate_limited",
                    f"too many requests for this subject; a token is available in {retry_after} s",
                    headers={"Retry-After": str(retry_after)})


def retry_after(wait: float) -> int:
    """`Retry-After` for a wait of `wait` seconds: whole seconds, at least 1."""
    return max(1, math.ceil(wait))


#: Refills are sums of float products: a bucket refilled to a whole token
#: may hold 0.999… of it.
_EPSILON = 1e-9


class _Bucket:
    __slots__ = ("tokens", "at")

    def __init__(self, tokens: float, at: float) -> None:
        self.tokens = tokens
        self.at = at


class RateLimiter:
    """A token bucket per subject: `rate` tokens at most (one second's
    worth), refilled continuously at `rate` tokens per second; a request
    takes one. One table per process."""

    def __init__(self, rate: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = float(rate)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def wait(self, subject: str) -> float:
        """Takes a token from `subject`'s bucket: 0.0 when there was one,
        else the seconds until there will be (nothing taken)."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(subject)
            if bucket is None:
                bucket = self._buckets[subject] = _Bucket(self.rate, now)
            else:
                bucket.tokens = min(self.rate, bucket.tokens + (now - bucket.at) * self.rate)
                bucket.at = now
            if bucket.tokens >= 1 - _EPSILON:
                bucket.tokens = max(bucket.tokens - 1, 0.0)
                return 0.0
            return (1 - bucket.tokens) / self.rate

    def take(self, subject: str) -> None:
        """Takes a token, or raises 429 `rate_limited` with `Retry-After`."""
        wait = self.wait(subject)
        if wait > 0:
            raise rate_limited(retry_after(wait))


# --- access log ---------------------------------------------------------------

def open_log(path: str) -> int:
    """An append-only descriptor on `path` (created when missing)."""
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)


def rfc3339(t: float) -> str:
    """`t` (seconds since the epoch) in RFC 3339, UTC, with milliseconds."""
    ms = int(t * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{ms:03d}Z"


def log_line(*, at: float, request_id: str | None, method: str, path: str, status: int,
             duration_ms: float, subject: str | None) -> bytes:
    """One access-log line: a JSON object and a newline."""
    entry = {"time": rfc3339(at), "request_id": request_id, "method": method,
             "path": path.split("?", 1)[0], "status": status,
             "duration_ms": round(duration_ms, 3), "subject": subject}
    return (json.dumps(entry, separators=(",", ":")) + "\n").encode()


class AccessLog:
    """JSON lines appended to one file, one `write` call per line on an
    `O_APPEND` descriptor (lines of several processes never interleave);
    counts `logged` per line written."""

    def __init__(self, path: str, stats: Stats) -> None:
        self.path = path
        self.stats = stats
        self._fd = open_log(path)

    def write(self, *, started: float, request_id: str | None, method: str, path: str,
              status: int, subject: str | None) -> None:
        """Logs an answer whose layer was entered at `started` (`perf_counter`)."""
        line = log_line(at=time.time(), request_id=request_id, method=method, path=path,
                        status=status, duration_ms=(time.perf_counter() - started) * 1000,
                        subject=subject)
        os.write(self._fd, line)
        self.stats.count("logged")


# --- timeout ------------------------------------------------------------------

def timed_out(ms: int) -> ApiError:
    return ApiError(504, "timeout", f"the handler did not answer within the request timeout of {ms} ms")


class Deadline:
    """The timeout of a synchronous framework: the handler runs on a thread
    pool (in a copy of the request thread's context) and the request
    thread waits for it `ms` at most; past that it answers 504 and the
    handler's thread finishes on its own (a thread cannot be cancelled)."""

    def __init__(self, ms: int, stats: Stats, threads: int = 32) -> None:
        self.ms = ms
        self.stats = stats
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="handler")

    def run(self, handler: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        future = self.pool.submit(contextvars.copy_context().run, handler, *args, **kwargs)
        try:
            return future.result(timeout=self.ms / 1000)
        except FutureTimeout:
            future.cancel()  # still queued: it never runs
            self.stats.count("timed_out")
            raise timed_out(self.ms) from None


# --- handlers -----------------------------------------------------------------

HOME = "middleware benchmark"
MAX_COUNT = 100
DEFAULT_COUNT = 32
MAX_DELAY_MS = 5000
MAX_VALUE = 1_000_000_000
MAX_NAME = 100


def health(uptime: http.Uptime, settings: Settings) -> dict:
    return {"status": "ok", "category": CATEGORY, "uptime_seconds": uptime.seconds(),
            "rate_limit_per_second": settings.rate_limit,
            "request_timeout_ms": settings.request_timeout_ms,
            "access_log": settings.access_log}


def light(rid: str) -> dict:
    return {"stack": "light", "request_id": rid}


def concurrent(fanout: dict, rid: str) -> dict:
    """The async_operations fan-out's answer behind the light stack."""
    return {**fanout, "stack": "light", "request_id": rid}


def _query_int(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    value = http.uint(raw)
    if value is None:
        raise errors.bad_request(
            "invalid_query", f"query parameter `{name}` must be an integer, got {raw!r}",
            [FieldError(name, "invalid_type", "must be an integer")])
    if not low <= value <= high:
        raise errors.single(name, "range", f"must be at least {low} and at most {high}")
    return value


def heavy_params(query: Mapping[str, str]) -> tuple[int, int]:
    """`count` (1..100, 32 when absent) and `delay_ms` (0..5000, 0 when
    absent) of `/middleware-heavy`: 400 when not integers, 422 out of range."""
    return (_query_int(query, "count", DEFAULT_COUNT, 1, MAX_COUNT),
            _query_int(query, "delay_ms", 0, 0, MAX_DELAY_MS))


def heavy(subject: str, rid: str, count: int) -> dict:
    items = [{"id": i, "name": f"item-{i}", "owner": subject, "tags": ["middleware", "heavy"]}
             for i in range(count)]
    return {"stack": "heavy", "subject": subject, "request_id": rid, "count": count,
            "items": items}


async def heavy_async(subject: str, rid: str, count: int, delay_ms: int) -> dict:
    """`/middleware-heavy` on an event loop: a timer wait of `delay_ms` first."""
    if delay_ms > 0:
        await asyncio.sleep(delay_ms / 1000)
    return heavy(subject, rid, count)


def heavy_sync(subject: str, rid: str, count: int, delay_ms: int) -> dict:
    """`/middleware-heavy` on a thread: the thread sleeps `delay_ms` first."""
    if delay_ms > 0:
        time.sleep(delay_ms / 1000)
    return heavy(subject, rid, count)


def authenticated(principal: Principal, rid: str) -> dict:
    return {"subject": principal.subject, "scopes": list(principal.scopes), "request_id": rid}


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def post_body(body: bytes) -> tuple[str, int]:
    """A `/middleware-post` body read as the reference reads it: JSON (400
    `malformed_json`, a lone surrogate escape included, as serde_json
    refuses it), then `post_input`."""
    data = http.parse_json(body)
    if _SURROGATE_ESCAPE.search(body) and has_lone_surrogate(data):
        raise errors.malformed_json("malformed JSON: lone surrogate in a string escape")
    return post_input(data)


def post_input(data: Any) -> tuple[str, int]:
    """`name` (a string of 1..100 characters) and `value` (an integer, not a
    boolean, float or string, within ±1e9) of a `/middleware-post` body;
    other fields are ignored. 422 naming every bad field."""
    if not isinstance(data, dict):
        raise errors.single("", "invalid_type", "the body must be a JSON object")
    found: list[FieldError] = []
    name, value = data.get("name"), data.get("value")
    if "name" not in data:
        found.append(FieldError("name", "required", "is required"))
    elif not isinstance(name, str):
        found.append(FieldError("name", "invalid_type", "must be a string"))
    elif not 1 <= len(name) <= MAX_NAME:
        found.append(FieldError("name", "length", f"must have 1 to {MAX_NAME} characters"))
    if "value" not in data:
        found.append(FieldError("value", "required", "is required"))
    elif type(value) is not int:
        found.append(FieldError("value", "invalid_type", "must be an integer"))
    elif abs(value) > MAX_VALUE:
        found.append(FieldError("value", "range",
                                f"must be at least -{MAX_VALUE} and at most {MAX_VALUE}"))
    errors.check(found)
    return name, value


def posted(subject: str, name: str, value: int, rid: str) -> dict:
    return {"subject": subject, "received": {"name": name, "value": value}, "request_id": rid}
