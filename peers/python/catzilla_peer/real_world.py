"""The real_world_scenarios category in Catzilla: routes over the shared
service (`bench_shared.realworld.service`).

Bodies are declared as Catzilla models and validated by Catzilla; what its
models cannot express (exact JSON types, unknown fields, 64-bit ranges, map
values, the field rules of the store) is checked beside it and every failure
is reported together. Rules that need the store (catalog prices, stock,
ownership, comment threads) and every query rule are the service's. Handlers
are synchronous (they run on Catzilla's loop thread) except registration and
login, which await the service's hashing gate so argon2 never blocks the
loop."""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Optional, get_args, get_origin

from catzilla import BaseModel, Field

from bench_shared import errors, http
from bench_shared.errors import FieldError
from bench_shared.realworld import MAX_BODY_BYTES, analytics
from bench_shared.realworld import accounts as acc
from bench_shared.realworld.analytics import EVENT_TYPES
from bench_shared.realworld.identity import Caller
from bench_shared.realworld.service import EventWindow, Service

from .common import client_address, json_response, new_app, query, read_json_text, routes, validate

I64 = (-(1 << 63), (1 << 63) - 1)


# ---- bodies -----------------------------------------------------------------------

class RegisterBody(BaseModel):
    username: str
    email: str
    password: str = Field(min_length=8, max_length=128)
    first_name: str
    last_name: str


class LoginBody(BaseModel):
    username: str
    password: str


class ItemBody(BaseModel):
    product_id: int
    quantity: int


class OrderBody(BaseModel):
    """The order's shape; its rules need the catalog (the store checks them all at once)."""

    user_id: Optional[int] = None
    status: Optional[str] = None
    total_amount: Optional[float] = None
    shipping_address: Dict[str, str]
    billing_address: Optional[Dict[str, str]] = None
    items: List[ItemBody]
    payment_method: str


class CommentBody(BaseModel):
    """The comment's shape; content and parent are judged with the thread."""

    content: str
    parent_id: Optional[int] = None


class EventBody(BaseModel):
    event_type: str
    user_id: Optional[int] = None
    session_id: str
    page_url: str
    referrer: Optional[str] = None
    user_agent: str
    ip_address: str
    properties: Optional[Dict[str, Any]] = None
    timestamp: Optional[str] = None


# ---- what Catzilla's models cannot express -------------------------------------------

def _type_error(value: Any, kind: Any, path: str, out: list[FieldError]) -> None:
    """Checks that `value` is exactly of JSON type `kind` (Catzilla coerces
    `"7"` and `3.9` to int and lets maps and unknown fields through)."""
    origin = get_origin(kind)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            out.append(FieldError(path, "invalid_type", "must be an integer"))
        elif not I64[0] <= value <= I64[1]:
            out.append(FieldError(path, "invalid_type", "must be a 64-bit integer"))
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out.append(FieldError(path, "invalid_type", "must be a number"))
        elif isinstance(value, float) and not math.isfinite(value):
            raise errors.malformed_json("malformed JSON: number out of range")
    elif kind is str:
        if not isinstance(value, str):
            out.append(FieldError(path, "invalid_type", "must be a string"))
    elif origin is dict:
        if not isinstance(value, dict):
            out.append(FieldError(path, "invalid_type", "must be an object"))
        elif get_args(kind)[1] is str:
            for key, v in value.items():
                if not isinstance(v, str):
                    out.append(FieldError(f"{path}.{key}", "invalid_type", "must be a string"))
    elif origin is list:
        item = get_args(kind)[0]
        if not isinstance(value, list):
            out.append(FieldError(path, "invalid_type", "must be an array"))
        else:
            for k, v in enumerate(value):
                _shape(item, v, f"{path}[{k}]", out)


def _shape(model, data: Any, prefix: str, out: list[FieldError]) -> None:
    """Exact JSON shape of `data` for `model`: required fields, null only
    where optional, exact types, no unknown fields."""
    if not isinstance(data, dict):
        out.append(FieldError(prefix, "invalid_type", "must be a JSON object"))
        return
    fields = model._fields
    for name, field in fields.items():
        path = f"{prefix}.{name}" if prefix else name
        if name not in data:
            if not field.optional:
                out.append(FieldError(path, "required", "is required"))
        elif data[name] is None:
            if not field.optional:
                out.append(FieldError(path, "invalid_type", "must not be null"))
        else:
            _type_error(data[name], field._field_type, path, out)
    for name in data:
        if name not in fields:
            out.append(FieldError(f"{prefix}.{name}" if prefix else name, "unknown_field",
                                  "unknown field"))


class Refused(Exception):
    """A field rule's failure."""

    def __init__(self, error: FieldError) -> None:
        super().__init__(error.message)
        self.error = error


#: Field rules by field: each gives the value to keep (maybe converted) or
#: raises `Refused`.
Rules = dict[str, Callable[[Any], Any]]


def checked(model, data: Any, rules: Rules | None = None) -> dict:
    """`data` validated by Catzilla's `model`, plus the exact shape and the
    field `rules` (for fields of the right type, their results kept); every
    failure in one 422."""
    found: list[FieldError] = []
    _shape(model, data, "", found)
    cleaned, refusal = None, None
    try:
        cleaned = validate(model, data)
    except errors.ApiError as e:
        if e.status != 422:
            raise
        refusal = e
        failing = {f.field.split(".")[0].split("[")[0] for f in found}
        found += [d for d in e.details if d.field.split(".")[0].split("[")[0] not in failing]
    failing = {f.field.split(".")[0].split("[")[0] for f in found}
    kept = {}
    for name, rule in (rules or {}).items():
        if name not in failing and isinstance(data, dict) and data.get(name) is not None:
            try:
                kept[name] = rule(data[name])
            except Refused as refused:
                found.append(refused.error)
    errors.check(found)
    if cleaned is None:
        raise refusal  # Catzilla refused without naming a field
    cleaned.update(kept)
    return cleaned


def rule(field: str, check: Callable[[Any], bool], code: str, message: str):
    """A field rule of the store reporting `code`."""

    def run(value: Any) -> Any:
        if not check(value):
            raise Refused(FieldError(field, code, message))
        return value

    return run


REGISTRATION_RULES: Rules = {
    "username": rule("username", acc.username_ok, "pattern",
                     "3 to 20 letters, digits or underscores"),
    "email": rule("email", acc.email_ok, "email", "not a valid e-mail address"),
    "first_name": rule("first_name", acc.name_ok, "length",
                       "must be 1 to 50 characters, not blank"),
    "last_name": rule("last_name", acc.name_ok, "length", "must be 1 to 50 characters, not blank"),
}


def _bytes(field: str, lo: int, hi: int):
    return rule(field, lambda v: analytics.byte_len_ok(v, lo, hi), "length",
                f"must be {lo} to {hi} bytes")


def _event_kind(value: str) -> int:
    if value not in EVENT_TYPES:
        raise Refused(FieldError("event_type", "pattern",
                                 f"must be one of {', '.join(EVENT_TYPES)}"))
    return EVENT_TYPES.index(value)


def _ip(value: str) -> str:
    written = analytics.parse_ip(value)
    if written is None:
        raise Refused(FieldError("ip_address", "ip_address", "must be an IPv4 or IPv6 address"))
    return written


def _properties(value: dict) -> analytics.Properties:
    properties = analytics.properties(value)
    if not properties.fits():
        raise Refused(analytics.PROPERTIES_TOO_LARGE)
    return properties


def event_rules(window: EventWindow) -> Rules:
    """The event's field rules, converting as the service takes the event:
    `event_type` to its index, `ip_address` as written back, `properties`
    to `analytics.Properties`, `timestamp` to an instant within `window`."""

    def timestamp(value: str) -> analytics.Instant:
        at = analytics.parse_rfc3339(value)
        if at is None:
            raise Refused(FieldError("timestamp", "datetime", "must be an RFC 3339 date-time"))
        error = analytics.timestamp_error(at, window.now, window.days)
        if error is not None:
            raise Refused(error)
        return at

    return {
        "event_type": _event_kind,
        "user_id": rule("user_id", lambda u: 1 <= u < 1 << 32, "range", "must be at least 1"),
        "session_id": _bytes("session_id", 1, 128),
        "page_url": _bytes("page_url", 1, 2048),
        "referrer": _bytes("referrer", 0, 2048),
        "user_agent": _bytes("user_agent", 1, 512),
        "ip_address": _ip,
        "properties": _properties,
        "timestamp": timestamp,
    }


# ---- wiring ---------------------------------------------------------------------

def json_body(text: str) -> Any:
    """The JSON value of a body read as text (400 when malformed)."""
    return http.parse_json(text.encode("utf-8"))


def raw_body(request) -> str:
    """The JSON body's text: 415 not JSON, 413 too large."""
    return read_json_text(request, MAX_BODY_BYTES)


def order_body(text: str) -> dict:
    """The order validated; its exact JSON is handed on (checked to the
    letter by `checked`, which gives its items as Catzilla model objects)."""
    data = json_body(text)
    checked(OrderBody, data)
    return data


def create_app(service: Service | None = None):
    """The app over `service` (a freshly seeded one by default)."""
    app = new_app()
    s = service or Service()

    def caller(request) -> Caller:
        """The identity headers and the client's address."""
        return Caller(request.get_header("Authorization"), request.get_header("X-User-ID"),
                      client_address(app))

    def health(_request):
        return json_response(s.health())

    def list_products(request):
        return json_response(s.products(query(request)))

    def product(request):
        return json_response(s.product(request.path_params["id"], caller(request)))

    def place_order(request):
        text = raw_body(request)
        return json_response(s.place_order(caller(request), lambda: order_body(text)), 201)

    def order(request):
        return json_response(s.order(request.path_params["id"], caller(request)))

    async def register(request):
        body = checked(RegisterBody, json_body(raw_body(request)), REGISTRATION_RULES)
        return json_response(await s.register_async(body), 201)

    async def login(request):
        body = checked(LoginBody, json_body(raw_body(request)))
        return json_response(await s.login_async(body))

    def me(request):
        return json_response(s.me(caller(request)))

    def list_posts(request):
        return json_response(s.posts(query(request)))

    def post(request):
        return json_response(s.post(request.path_params["id"]))

    def comment(request):
        text = raw_body(request)
        made = s.comment(request.path_params["id"], caller(request),
                         lambda: checked(CommentBody, json_body(text)))
        return json_response(made, 201)

    def track(request):
        text = raw_body(request)
        answer = s.track(lambda window: checked(EventBody, json_body(text), event_rules(window)))
        return json_response(answer, 202)

    def dashboard(request):
        return json_response(s.dashboard(query(request)))

    routes(app, "/health", GET=health)
    routes(app, "/api/products", GET=list_products)
    routes(app, "/api/products/{id}", GET=product)
    routes(app, "/api/orders", POST=place_order)
    routes(app, "/api/orders/{id}", GET=order)
    routes(app, "/api/auth/register", POST=register)
    routes(app, "/api/auth/login", POST=login)
    routes(app, "/api/users/me", GET=me)
    routes(app, "/api/blog/posts", GET=list_posts)
    routes(app, "/api/blog/posts/{id}", GET=post)
    routes(app, "/api/blog/posts/{id}/comments", POST=comment)
    routes(app, "/api/analytics/track", POST=track)
    routes(app, "/api/analytics/dashboard", GET=dashboard)
    return app
