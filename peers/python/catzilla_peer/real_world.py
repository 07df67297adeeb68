"""The real_world_scenarios category in Catzilla: a shop, a blog, accounts and
analytics over the shared store (`bench_shared.realworld`).

Bodies are declared as Catzilla models and validated by Catzilla; what its
models cannot express (exact JSON types, unknown fields, 64-bit ranges, map
values, the field rules of the store) is checked beside it and every failure
is reported together. Rules that need the store (catalog prices, stock,
ownership, comment threads) and every query rule are the store's. Handlers
are synchronous (they run on Catzilla's loop thread) except registration and
login, which await the store's hashing gate so argon2 never blocks the loop."""

from __future__ import annotations

import asyncio
import math
from typing import Any, Callable, Dict, List, Optional, get_args, get_origin

from catzilla import BaseModel, Field

from bench_shared import errors
from bench_shared.errors import FieldError
from bench_shared.realworld import (MAX_BODY_BYTES, RealWorld, analytics, identity, paging,
                                    params)
from bench_shared.realworld import accounts as acc
from bench_shared.realworld.accounts import Registration
from bench_shared.realworld.analytics import EVENT_TYPES, Event
from bench_shared.realworld.orders import OrderRequest

from .common import json_response, new_app, parse_json, query, routes, validate

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


Rules = dict[str, Callable[[Any], FieldError | None]]


def checked(model, data: Any, rules: Rules | None = None) -> dict:
    """`data` validated by Catzilla's `model`, plus the exact shape and the
    field `rules` (for fields of the right type); every failure in one 422."""
    found: list[FieldError] = []
    _shape(model, data, "", found)
    cleaned = None
    try:
        cleaned = validate(model, data)
    except errors.ApiError as e:
        if e.status != 422:
            raise
        failing = {f.field.split(".")[0].split("[")[0] for f in found}
        found += [d for d in e.details if d.field.split(".")[0].split("[")[0] not in failing]
    failing = {f.field.split(".")[0].split("[")[0] for f in found}
    for name, rule in (rules or {}).items():
        if name not in failing and isinstance(data, dict) and data.get(name) is not None:
            error = rule(data[name])
            if error is not None:
                found.append(error)
    errors.check(found)
    return cleaned


def rule(field: str, check: Callable[[Any], bool], code: str, message: str):
    """A field rule of the store reporting `code`."""
    return lambda value: None if check(value) else FieldError(field, code, message)


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


def _properties(value: dict) -> FieldError | None:
    normalized, size = analytics.normalize_properties(value)
    if analytics.properties_ok(normalized, size):
        return None
    return FieldError("properties", "size", f"at most {analytics.MAX_PROPERTIES} keys and "
                                            f"{analytics.MAX_PROPERTIES_BYTES} bytes")


def event_rules(current: analytics.Instant, window_days: int) -> Rules:
    """The event's field rules; the timestamp's window ends at `current`."""

    def timestamp(value: str) -> FieldError | None:
        at = analytics.parse_rfc3339(value)
        if at is None:
            return FieldError("timestamp", "datetime", "must be an RFC 3339 date-time")
        return analytics.timestamp_error(at, current, window_days)

    return {
        "event_type": rule("event_type", EVENT_TYPES.__contains__, "pattern",
                           f"must be one of {', '.join(EVENT_TYPES)}"),
        "user_id": rule("user_id", lambda u: 1 <= u < 1 << 32, "range", "must be at least 1"),
        "session_id": _bytes("session_id", 1, 128),
        "page_url": _bytes("page_url", 1, 2048),
        "referrer": _bytes("referrer", 0, 2048),
        "user_agent": _bytes("user_agent", 1, 512),
        "ip_address": rule("ip_address", lambda v: analytics.parse_ip(v) is not None,
                           "ip_address", "must be an IPv4 or IPv6 address"),
        "properties": _properties,
        "timestamp": timestamp,
    }


# ---- wiring ---------------------------------------------------------------------

def body(request, model, rules: Rules | None = None) -> dict:
    """The JSON body checked against `model`: 415, 413, 400 or 422."""
    data, _ = parse_json(request, MAX_BODY_BYTES)
    return checked(model, data, rules)


def create_app(world: RealWorld | None = None):
    """The app over `world` (a freshly seeded store by default)."""
    app = new_app()
    world = world or RealWorld()

    def headers(request) -> tuple[str | None, str | None]:
        return request.get_header("Authorization"), request.get_header("X-User-ID")

    async def hashing(job: Callable[..., Any], *args: Any) -> Any:
        """`job(*args)` on a hashing worker (503 `busy` when the gate is full)."""
        return await asyncio.wrap_future(world.hashing.submit(job, *args))

    def health(_request):
        return json_response(world.health())

    def list_products(request):
        q = params.product_query(query(request))
        items, total = world.catalog.list(q)
        return json_response({"products": items, "pagination": paging(q.page, q.limit, total),
                              "filters": params.product_filters(q)})

    def product(request):
        product_id = params.path_id("id", request.path_params["id"], 32)
        viewer = identity.optional_user(world.accounts, *headers(request))
        view = world.catalog.view_once(product_id)
        if view is None:
            raise errors.not_found(f"no product {product_id}")
        if viewer is not None:
            viewer.viewed(product_id)
        return json_response(view)

    def place_order(request):
        user = identity.required_user(world.accounts, *headers(request))
        b = body(request, OrderBody)
        order = world.place_order(user.id, OrderRequest(
            shipping_address=b["shipping_address"],
            items=[(i.product_id, i.quantity) for i in b["items"]],
            payment_method=b["payment_method"],
            user_id=b["user_id"],
            status=b["status"],
            total_amount=b["total_amount"],
            billing_address=b["billing_address"],
        ))
        return json_response(order.as_json(), 201)

    def order(request):
        order_id = params.path_id("id", request.path_params["id"], 64)
        user = identity.required_user(world.accounts, *headers(request))
        return json_response(world.order_for(order_id, user.id).as_json())

    async def register(request):
        b = body(request, RegisterBody, REGISTRATION_RULES)
        user = await hashing(world.accounts.register, Registration(
            b["username"], b["email"], b["password"], b["first_name"], b["last_name"]))
        return json_response(user.as_json(), 201)

    async def login(request):
        b = body(request, LoginBody)
        user, token = await hashing(world.accounts.login, b["username"], b["password"])
        return json_response({**token, "user": user.as_json()})

    def me(request):
        user = identity.required_token(world.accounts, request.get_header("Authorization"))
        return json_response({**user.as_json(), "recently_viewed": user.recently_viewed()})

    def list_posts(request):
        q = params.post_query(query(request))
        items, total = world.blog.list(q)
        return json_response({"posts": items, "pagination": paging(q.page, q.limit, total),
                              "filters": params.post_filters(q)})

    def post(request):
        post_id = params.path_id("id", request.path_params["id"], 32)
        view = world.blog.read(post_id)
        if view is None:
            raise errors.not_found(f"no post {post_id}")
        return json_response(view)

    def comment(request):
        post_id = params.path_id("id", request.path_params["id"], 32)
        user = identity.required_token(world.accounts, request.get_header("Authorization"))
        b = body(request, CommentBody)
        made = world.blog.comment(post_id, user.id, b["content"], b["parent_id"])
        return json_response(made.as_json(), 201)

    def track(request):
        current = analytics.now()
        b = body(request, EventBody, event_rules(current, world.analytics.limits.window_days))
        properties, size = analytics.normalize_properties(b["properties"])
        stamp = b["timestamp"]
        event = world.analytics.track(Event(
            kind=EVENT_TYPES.index(b["event_type"]), user_id=b["user_id"],
            session_id=b["session_id"], page_url=b["page_url"], referrer=b["referrer"],
            user_agent=b["user_agent"], ip_address=analytics.parse_ip(b["ip_address"]),
            properties=properties, properties_bytes=size,
            at=current if stamp is None else analytics.parse_rfc3339(stamp),
        ))
        return json_response(analytics.accepted(event), 202)

    def dashboard(request):
        date_from, date_to = params.dashboard_range(query(request))
        return json_response(world.analytics.dashboard(date_from, date_to))

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
