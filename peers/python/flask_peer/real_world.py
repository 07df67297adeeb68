"""The real_world_scenarios category in Flask: a shop, a blog, accounts and
analytics over the shared store (`bench_shared.realworld`). Bodies are
marshmallow schemas (shape, and every rule a field can judge alone); rules
that need the store (catalog prices, stock, ownership, comment threads) and
every query rule are the store's. Password hashing runs behind the store's
gate (bounded workers, 503 beyond)."""

from __future__ import annotations

import threading
from contextvars import ContextVar
from typing import Any, Callable, TypeVar

from flask import Flask, Response, request
from marshmallow import RAISE, Schema, fields, validate

from bench_shared import errors, http
from bench_shared.realworld import MAX_BODY_BYTES, RealWorld, analytics, identity, paging, params
from bench_shared.realworld import accounts as acc
from bench_shared.realworld.accounts import Registration, User
from bench_shared.realworld.analytics import EVENT_TYPES, Event
from bench_shared.realworld.orders import OrderRequest

from .common import (
    StrictFloat,
    StrictInteger,
    StrictString,
    fail,
    json_response,
    load,
    new_app,
    query,
    read_json_bytes,
    route,
)

T = TypeVar("T")
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

#: `(now, window_days)` of the request being validated (the timestamp's window).
_WINDOW: ContextVar[tuple[Any, int]] = ContextVar("window")


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
    """A JSON object of at most `MAX_PROPERTIES` keys and bytes, normalized."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dict:
        value = super()._deserialize(value, attr, data, **kwargs)
        normalized, size = analytics.normalize_properties(value)
        if not analytics.properties_ok(normalized, size):
            raise fail("size", f"at most {analytics.MAX_PROPERTIES} keys and "
                               f"{analytics.MAX_PROPERTIES_BYTES} bytes")
        return normalized


class Timestamp(StrictString):
    """An RFC 3339 date-time inside the analytics window, loaded as an instant."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        at = analytics.parse_rfc3339(super()._deserialize(value, attr, data, **kwargs))
        if at is None:
            raise fail("datetime", "must be an RFC 3339 date-time")
        current, window = _WINDOW.get()
        error = analytics.timestamp_error(at, current, window)
        if error is not None:
            raise fail(error.code, error.message)
        return at


def _bytes(lo: int, hi: int) -> Callable[[Any], None]:
    return rule(lambda v: analytics.byte_len_ok(v, lo, hi), "length", f"must be {lo} to {hi} bytes")


class EventBody(Strict):
    """The event with every field rule; `event_type` becomes its index and
    `timestamp` an instant."""

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

def parse(schema: Schema) -> dict:
    """The body loaded by `schema`: 415 not JSON, 413 too large, 400
    unparseable, 422 with every failing field."""
    data = http.parse_json(read_json_bytes(MAX_BODY_BYTES))
    if not isinstance(data, dict):
        raise errors.single("", "invalid_type", "must be a JSON object")
    return load(schema, data)


def create_app(world: RealWorld | None = None) -> Flask:
    """The app over `world` (a freshly seeded store by default, built in
    the serving process on first use)."""
    app = new_app(__name__)
    lock = threading.Lock()
    holder: dict[str, Any] = {"world": world}

    def store() -> RealWorld:
        w = holder["world"]
        if w is None:
            with lock:
                w = holder["world"]
                if w is None:
                    w = holder["world"] = RealWorld()
        return w

    # Seed now (it takes a moment) so the first request does not wait; the
    # store holds no threads until hashing is asked for.
    store()

    def header(name: str) -> str | None:
        return request.headers.get(name)

    def who(world: RealWorld) -> User | None:
        return identity.optional_user(world.accounts, header("Authorization"),
                                      header("X-User-Id"))

    def someone(world: RealWorld) -> User:
        return identity.required_user(world.accounts, header("Authorization"),
                                      header("X-User-Id"))

    def token_user(world: RealWorld) -> User:
        return identity.required_token(world.accounts, header("Authorization"))

    def hashing(world: RealWorld, job: Callable[..., T], *args: Any) -> T:
        """`job(*args)` on a hashing worker (503 `busy` when the gate is full)."""
        return world.hashing.run(job, *args)

    @route(app, "/health", ["GET"])
    def health() -> Response:
        return json_response(store().health())

    @route(app, "/api/products", ["GET"])
    def list_products() -> Response:
        q = params.product_query(query())
        items, total = store().catalog.list(q)
        return json_response({"products": items, "pagination": paging(q.page, q.limit, total),
                              "filters": params.product_filters(q)})

    @route(app, "/api/products/<id>", ["GET"])
    def product(id: str) -> Response:
        world = store()
        product_id = params.path_id("id", id, 32)
        viewer = who(world)
        view = world.catalog.view_once(product_id)
        if view is None:
            raise errors.not_found(f"no product {product_id}")
        if viewer is not None:
            viewer.viewed(product_id)
        return json_response(view)

    @route(app, "/api/orders", ["POST"])
    def place_order() -> Response:
        world = store()
        user = someone(world)
        body = parse(ORDER)
        order = world.place_order(user.id, OrderRequest(
            shipping_address=body["shipping_address"],
            items=[(i["product_id"], i["quantity"]) for i in body["items"]],
            payment_method=body["payment_method"],
            user_id=body["user_id"],
            status=body["status"],
            total_amount=body["total_amount"],
            billing_address=body["billing_address"],
        ))
        return json_response(order.as_json(), 201)

    @route(app, "/api/orders/<id>", ["GET"])
    def order(id: str) -> Response:
        world = store()
        order_id = params.path_id("id", id, 64)
        user = someone(world)
        return json_response(world.order_for(order_id, user.id).as_json())

    @route(app, "/api/auth/register", ["POST"])
    def register() -> Response:
        world = store()
        body = parse(REGISTER)
        user = hashing(world, world.accounts.register, Registration(
            body["username"], body["email"], body["password"], body["first_name"],
            body["last_name"]))
        return json_response(user.as_json(), 201)

    @route(app, "/api/auth/login", ["POST"])
    def login() -> Response:
        world = store()
        body = parse(LOGIN)
        user, token = hashing(world, world.accounts.login, body["username"], body["password"])
        return json_response({**token, "user": user.as_json()})

    @route(app, "/api/users/me", ["GET"])
    def me() -> Response:
        user = token_user(store())
        return json_response({**user.as_json(), "recently_viewed": user.recently_viewed()})

    @route(app, "/api/blog/posts", ["GET"])
    def list_posts() -> Response:
        q = params.post_query(query())
        items, total = store().blog.list(q)
        return json_response({"posts": items, "pagination": paging(q.page, q.limit, total),
                              "filters": params.post_filters(q)})

    @route(app, "/api/blog/posts/<id>", ["GET"])
    def post(id: str) -> Response:
        post_id = params.path_id("id", id, 32)
        view = store().blog.read(post_id)
        if view is None:
            raise errors.not_found(f"no post {post_id}")
        return json_response(view)

    @route(app, "/api/blog/posts/<id>/comments", ["POST"])
    def comment(id: str) -> Response:
        world = store()
        post_id = params.path_id("id", id, 32)
        user = token_user(world)
        body = parse(COMMENT)
        made = world.blog.comment(post_id, user.id, body["content"], body["parent_id"])
        return json_response(made.as_json(), 201)

    @route(app, "/api/analytics/track", ["POST"])
    def track() -> Response:
        world = store()
        current = analytics.now()
        token = _WINDOW.set((current, world.analytics.limits.window_days))
        try:
            body = parse(EVENT)
        finally:
            _WINDOW.reset(token)
        properties, size = analytics.normalize_properties(body["properties"])
        event = world.analytics.track(Event(
            kind=body["event_type"], user_id=body["user_id"], session_id=body["session_id"],
            page_url=body["page_url"], referrer=body["referrer"],
            user_agent=body["user_agent"], ip_address=body["ip_address"],
            properties=properties, properties_bytes=size, at=body["timestamp"] or current,
        ))
        return json_response(analytics.accepted(event), 202)

    @route(app, "/api/analytics/dashboard", ["GET"])
    def dashboard() -> Response:
        date_from, date_to = params.dashboard_range(query())
        return json_response(store().analytics.dashboard(date_from, date_to))

    return app
