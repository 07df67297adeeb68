"""The real_world_scenarios category in Flask: routes over the shared
service (`bench_shared.realworld.service`). Bodies are marshmallow schemas
(shape, and every rule a field can judge alone); rules that need the store
(catalog prices, stock, ownership, comment threads) and every query rule are
the service's. Password hashing runs behind the service's gate (bounded
workers, 503 beyond)."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Callable

from flask import Flask, Response, request
from marshmallow import RAISE, Schema, fields, validate

from bench_shared import errors, http
from bench_shared.realworld import MAX_BODY_BYTES, analytics
from bench_shared.realworld import accounts as acc
from bench_shared.realworld.analytics import EVENT_TYPES
from bench_shared.realworld.identity import Caller
from bench_shared.realworld.service import EventWindow, Service

from .common import (
    StrictFloat,
    StrictInteger,
    StrictString,
    client_address,
    fail,
    json_response,
    load,
    new_app,
    query,
    read_json_bytes,
    route,
)

I64 = validate.Range(-(1 << 63), (1 << 63) - 1)


def rule(check: Callable[[Any], bool], code: str, message: str) -> Callable[[Any], None]:
    """A field rule of the store as a marshmallow validator reporting `code`."""

    def run(value: Any) -> None:
        if not check(value):
            raise fail(code, message)

    return run


class Strict(Schema):
    """No unknown fields (as the reference's serde models)."""

    class Meta:
        unknown = RAISE


# ---- accounts -------------------------------------------------------------

class RegisterBody(Strict):
    username = StrictString(required=True, validate=rule(
        acc.username_ok, "pattern", "3 to 20 letters, digits or underscores"))
    email = StrictString(required=True, validate=rule(
        acc.email_ok, "email", "not a valid e-mail address"))
    password = StrictString(required=True, validate=validate.Length(8, 128))
    first_name = StrictString(required=True, validate=rule(
        acc.name_ok, "length", "must be 1 to 50 characters, not blank"))
    last_name = StrictString(required=True, validate=rule(
        acc.name_ok, "length", "must be 1 to 50 characters, not blank"))


class LoginBody(Strict):
    username = StrictString(required=True)
    password = StrictString(required=True)


# ---- shop ---------------------------------------------------------------------

class ItemBody(Strict):
    product_id = StrictInteger(required=True, validate=I64)
    quantity = StrictInteger(required=True, validate=I64)


class OrderBody(Strict):
    """The order's shape; its rules need the catalog (the store checks them all at once)."""

    user_id = StrictInteger(load_default=None, allow_none=True, validate=I64)
    status = StrictString(load_default=None, allow_none=True)
    total_amount = StrictFloat(load_default=None, allow_none=True)
    shipping_address = fields.Dict(keys=StrictString(), values=StrictString(), required=True)
    billing_address = fields.Dict(keys=StrictString(), values=StrictString(),
                                  load_default=None, allow_none=True)
    items = fields.List(fields.Nested(ItemBody), required=True)
    payment_method = StrictString(required=True)


# ---- blog ---------------------------------------------------------------------

class CommentBody(Strict):
    """The comment's shape; content and parent are judged with the thread."""

    content = StrictString(required=True)
    parent_id = StrictInteger(load_default=None, allow_none=True, validate=I64)


# ---- analytics ------------------------------------------------------------------

#: The window of the event being validated (its timestamp's bounds).
_WINDOW: ContextVar[EventWindow] = ContextVar("window")


class EventKind(StrictString):
    """An event type name, loaded as its index."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        text = super()._deserialize(value, attr, data, **kwargs)
        if text not in EVENT_TYPES:
            raise fail("pattern", f"must be one of {', '.join(EVENT_TYPES)}")
        return EVENT_TYPES.index(text)


class IpAddress(StrictString):
    """An IPv4 or IPv6 address, loaded in its written form."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        written = analytics.parse_ip(super()._deserialize(value, attr, data, **kwargs))
        if written is None:
            raise fail("ip_address", "must be an IPv4 or IPv6 address")
        return written


class Properties(fields.Dict):
    """A JSON object of at most `MAX_PROPERTIES` keys and bytes, loaded as
    `analytics.Properties` (normalized, measured)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        properties = analytics.properties(super()._deserialize(value, attr, data, **kwargs))
        if not properties.fits():
            error = analytics.PROPERTIES_TOO_LARGE
            raise fail(error.code, error.message)
        return properties


class Timestamp(StrictString):
    """An RFC 3339 date-time inside the analytics window, loaded as an instant."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        at = analytics.parse_rfc3339(super()._deserialize(value, attr, data, **kwargs))
        if at is None:
            raise fail("datetime", "must be an RFC 3339 date-time")
        window = _WINDOW.get()
        error = analytics.timestamp_error(at, window.now, window.days)
        if error is not None:
            raise fail(error.code, error.message)
        return at


def _bytes(lo: int, hi: int) -> Callable[[Any], None]:
    return rule(lambda v: analytics.byte_len_ok(v, lo, hi), "length", f"must be {lo} to {hi} bytes")


class EventBody(Strict):
    """The event with every field rule; `event_type` becomes its index,
    `properties` an `analytics.Properties` and `timestamp` an instant."""

    event_type = EventKind(required=True)
    user_id = StrictInteger(load_default=None, allow_none=True, validate=[
        I64, rule(lambda u: 1 <= u < 1 << 32, "range", "must be at least 1")])
    session_id = StrictString(required=True, validate=_bytes(1, 128))
    page_url = StrictString(required=True, validate=_bytes(1, 2048))
    referrer = StrictString(load_default=None, allow_none=True, validate=_bytes(0, 2048))
    user_agent = StrictString(required=True, validate=_bytes(1, 512))
    ip_address = IpAddress(required=True)
    properties = Properties(keys=fields.String(), load_default=None, allow_none=True)
    timestamp = Timestamp(load_default=None, allow_none=True)


REGISTER, LOGIN, ORDER, COMMENT, EVENT = (RegisterBody(), LoginBody(), OrderBody(),
                                          CommentBody(), EventBody())


# ---- wiring ---------------------------------------------------------------------

def validated(raw: bytes, schema: Schema) -> dict:
    """The body loaded by `schema`: 400 unparseable, 422 with every failing
    field."""
    data = http.parse_json(raw)
    if not isinstance(data, dict):
        raise errors.single("", "invalid_type", "must be a JSON object")
    return load(schema, data)


def event(raw: bytes, window: EventWindow) -> dict:
    """The event body loaded with its timestamp checked against `window`."""
    token = _WINDOW.set(window)
    try:
        return validated(raw, EVENT)
    finally:
        _WINDOW.reset(token)


def caller() -> Caller:
    """The identity headers and the client's address."""
    h = request.headers
    return Caller(h.get("Authorization"), h.get("X-User-Id"), client_address())


def create_app(service: Service | None = None) -> Flask:
    """The app over `service` (a freshly seeded one by default: seeding takes
    a moment, and happens in the serving process, which builds the app)."""
    app = new_app(__name__)
    s = service or Service()

    @route(app, "/health", ["GET"])
    def health() -> Response:
        return json_response(s.health())

    @route(app, "/api/products", ["GET"])
    def list_products() -> Response:
        return json_response(s.products(query()))

    @route(app, "/api/products/<id>", ["GET"])
    def product(id: str) -> Response:
        return json_response(s.product(id, caller()))

    @route(app, "/api/orders", ["POST"])
    def place_order() -> Response:
        raw = read_json_bytes(MAX_BODY_BYTES)
        return json_response(s.place_order(caller(), lambda: validated(raw, ORDER)), 201)

    @route(app, "/api/orders/<id>", ["GET"])
    def order(id: str) -> Response:
        return json_response(s.order(id, caller()))

    @route(app, "/api/auth/register", ["POST"])
    def register() -> Response:
        return json_response(s.register(validated(read_json_bytes(MAX_BODY_BYTES), REGISTER)), 201)

    @route(app, "/api/auth/login", ["POST"])
    def login() -> Response:
        return json_response(s.login(validated(read_json_bytes(MAX_BODY_BYTES), LOGIN)))

    @route(app, "/api/users/me", ["GET"])
    def me() -> Response:
        return json_response(s.me(caller()))

    @route(app, "/api/blog/posts", ["GET"])
    def list_posts() -> Response:
        return json_response(s.posts(query()))

    @route(app, "/api/blog/posts/<id>", ["GET"])
    def post(id: str) -> Response:
        return json_response(s.post(id))

    @route(app, "/api/blog/posts/<id>/comments", ["POST"])
    def comment(id: str) -> Response:
        raw = read_json_bytes(MAX_BODY_BYTES)
        return json_response(s.comment(id, caller(), lambda: validated(raw, COMMENT)), 201)

    @route(app, "/api/analytics/track", ["POST"])
    def track() -> Response:
        raw = read_json_bytes(MAX_BODY_BYTES)
        return json_response(s.track(lambda window: event(raw, window)), 202)

    @route(app, "/api/analytics/dashboard", ["GET"])
    def dashboard() -> Response:
        return json_response(s.dashboard(query()))

    return app
