"""The real_world_scenarios category in Django: a shop, a blog, accounts and
analytics over the shared store (`bench_shared.realworld`). Bodies are DRF
serializers (shape, and every rule a field can judge alone); rules that need
the store (catalog prices, stock, ownership, comment threads) and every query
rule are the store's. Password hashing runs behind the store's gate."""

from __future__ import annotations

from typing import Any, Callable

from django.urls import path
from rest_framework import serializers
from rest_framework.decorators import api_view

from bench_shared import errors
from bench_shared.realworld import MAX_BODY_BYTES, RealWorld, analytics, identity, paging, params
from bench_shared.realworld import accounts as acc
from bench_shared.realworld.accounts import Registration
from bench_shared.realworld.analytics import EVENT_TYPES, Event
from bench_shared.realworld.orders import OrderRequest

from . import common
from .common import (
    StrictDict,
    StrictFloat,
    StrictInt,
    StrictList,
    StrictSerializer,
    StrictStr,
    fail,
    json,
    query,
)

I64 = {"min_value": -(1 << 63), "max_value": (1 << 63) - 1}
OPTIONAL = {"required": False, "allow_null": True, "default": None}


def rule(check: Callable[[Any], bool], code: str, message: str) -> Callable[[Any], None]:
    """A field rule of the store as a DRF validator reporting `code`."""

    def validate(value: Any) -> None:
        if not check(value):
            raise fail(code, message)

    return validate


# ---- accounts -------------------------------------------------------------

class RegisterSerializer(StrictSerializer):
    username = StrictStr(validators=[rule(acc.username_ok, "pattern",
                                          "3 to 20 letters, digits or underscores")])
    email = StrictStr(validators=[rule(acc.email_ok, "email", "not a valid e-mail address")])
    password = StrictStr(min_length=8, max_length=128)
    first_name = StrictStr(validators=[rule(acc.name_ok, "length",
                                            "must be 1 to 50 characters, not blank")])
    last_name = StrictStr(validators=[rule(acc.name_ok, "length",
                                           "must be 1 to 50 characters, not blank")])


class LoginSerializer(StrictSerializer):
    username = StrictStr()
    password = StrictStr()


# ---- shop -------------------------------------------------------------------

class ItemSerializer(StrictSerializer):
    product_id = StrictInt(**I64)
    quantity = StrictInt(**I64)


class OrderSerializer(StrictSerializer):
    """The order's shape; its rules need the catalog (the store checks them all at once)."""

    user_id = StrictInt(**I64, **OPTIONAL)
    status = StrictStr(**OPTIONAL)
    total_amount = StrictFloat(**OPTIONAL)
    shipping_address = StrictDict(child=StrictStr())
    billing_address = StrictDict(child=StrictStr(), **OPTIONAL)
    items = StrictList(child=ItemSerializer())
    payment_method = StrictStr()


# ---- blog -------------------------------------------------------------------

class CommentSerializer(StrictSerializer):
    content = StrictStr()
    parent_id = StrictInt(**I64, **OPTIONAL)


# ---- analytics ----------------------------------------------------------------

class EventKind(StrictStr):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value not in EVENT_TYPES:
            raise fail("pattern", f"must be one of {', '.join(EVENT_TYPES)}")
        return EVENT_TYPES.index(value)


def _bytes(lo: int, hi: int) -> list:
    return [rule(lambda v: analytics.byte_len_ok(v, lo, hi), "length",
                 f"must be {lo} to {hi} bytes")]


class IpAddress(StrictStr):
    def to_internal_value(self, data):
        written = analytics.parse_ip(super().to_internal_value(data))
        if written is None:
            raise fail("ip_address", "must be an IPv4 or IPv6 address")
        return written


class Properties(StrictDict):
    def to_internal_value(self, data):
        normalized, size = analytics.normalize_properties(super().to_internal_value(data))
        if not analytics.properties_ok(normalized, size):
            raise fail("size", f"at most {analytics.MAX_PROPERTIES} keys and "
                               f"{analytics.MAX_PROPERTIES_BYTES} bytes")
        return normalized


class Timestamp(StrictStr):
    """An RFC 3339 instant inside the window that ends at the context's `now`."""

    def to_internal_value(self, data):
        at = analytics.parse_rfc3339(super().to_internal_value(data))
        if at is None:
            raise fail("datetime", "must be an RFC 3339 date-time")
        context = self.context
        error = analytics.timestamp_error(at, context["now"], context["window_days"])
        if error is not None:
            raise fail(error.code, error.message)
        return at


class EventSerializer(StrictSerializer):
    event_type = EventKind()
    user_id = StrictInt(validators=[rule(lambda u: 1 <= u < 1 << 32, "range",
                                         "must be at least 1")], **I64, **OPTIONAL)
    session_id = StrictStr(validators=_bytes(1, 128))
    page_url = StrictStr(validators=_bytes(1, 2048))
    referrer = StrictStr(validators=_bytes(0, 2048), **OPTIONAL)
    user_agent = StrictStr(validators=_bytes(1, 512))
    ip_address = IpAddress()
    properties = Properties(**OPTIONAL)
    timestamp = Timestamp(**OPTIONAL)


# ---- wiring -------------------------------------------------------------------

world = RealWorld()


def parse(request, serializer_class, context: dict | None = None) -> dict:
    """The body validated by the serializer: 415 not JSON, 413 too large,
    400 unparseable, 422 with every failing field."""
    return common.check(serializer_class, common.json_value(request, MAX_BODY_BYTES), context)


def _auth(request) -> tuple[str | None, str | None]:
    return request.headers.get("authorization"), request.headers.get("x-user-id")


def hashing(job: Callable[..., Any], *args: Any) -> Any:
    """`job(*args)` on a hashing worker (503 `busy` when the gate is full)."""
    return world.hashing.submit(job, *args).result()


@api_view(["GET", "HEAD"])
def health(request):
    return json(world.health())


@api_view(["GET", "HEAD"])
def list_products(request):
    q = params.product_query(query(request))
    items, total = world.catalog.list(q)
    return json({"products": items, "pagination": paging(q.page, q.limit, total),
                 "filters": params.product_filters(q)})


@api_view(["GET", "HEAD"])
def product(request, id: str):
    product_id = params.path_id("id", id, 32)
    viewer = identity.optional_user(world.accounts, *_auth(request))
    view = world.catalog.view_once(product_id)
    if view is None:
        raise errors.not_found(f"no product {product_id}")
    if viewer is not None:
        viewer.viewed(product_id)
    return json(view)


@api_view(["POST"])
def place_order(request):
    user = identity.required_user(world.accounts, *_auth(request))
    body = parse(request, OrderSerializer)
    order = world.place_order(user.id, OrderRequest(
        shipping_address=dict(body["shipping_address"]),
        items=[(i["product_id"], i["quantity"]) for i in body["items"]],
        payment_method=body["payment_method"],
        user_id=body["user_id"],
        status=body["status"],
        total_amount=body["total_amount"],
        billing_address=None if body["billing_address"] is None else dict(body["billing_address"]),
    ))
    return json(order.as_json(), status=201)


@api_view(["GET", "HEAD"])
def order(request, id: str):
    order_id = params.path_id("id", id, 64)
    user = identity.required_user(world.accounts, *_auth(request))
    return json(world.order_for(order_id, user.id).as_json())


@api_view(["POST"])
def register(request):
    body = parse(request, RegisterSerializer)
    user = hashing(world.accounts.register, Registration(
        body["username"], body["email"], body["password"], body["first_name"],
        body["last_name"]))
    return json(user.as_json(), status=201)


@api_view(["POST"])
def login(request):
    body = parse(request, LoginSerializer)
    user, token = hashing(world.accounts.login, body["username"], body["password"])
    return json({**token, "user": user.as_json()})


@api_view(["GET", "HEAD"])
def me(request):
    user = identity.required_token(world.accounts, request.headers.get("authorization"))
    return json({**user.as_json(), "recently_viewed": user.recently_viewed()})


@api_view(["GET", "HEAD"])
def list_posts(request):
    q = params.post_query(query(request))
    items, total = world.blog.list(q)
    return json({"posts": items, "pagination": paging(q.page, q.limit, total),
                 "filters": params.post_filters(q)})


@api_view(["GET", "HEAD"])
def post(request, id: str):
    post_id = params.path_id("id", id, 32)
    view = world.blog.read(post_id)
    if view is None:
        raise errors.not_found(f"no post {post_id}")
    return json(view)


@api_view(["POST"])
def comment(request, id: str):
    post_id = params.path_id("id", id, 32)
    user = identity.required_token(world.accounts, request.headers.get("authorization"))
    body = parse(request, CommentSerializer)
    made = world.blog.comment(post_id, user.id, body["content"], body["parent_id"])
    return json(made.as_json(), status=201)


@api_view(["POST"])
def track(request):
    current = analytics.now()
    body = parse(request, EventSerializer,
                 {"now": current, "window_days": world.analytics.limits.window_days})
    properties, size = analytics.normalize_properties(body["properties"])
    event = world.analytics.track(Event(
        kind=body["event_type"], user_id=body["user_id"], session_id=body["session_id"],
        page_url=body["page_url"], referrer=body["referrer"], user_agent=body["user_agent"],
        ip_address=body["ip_address"], properties=properties, properties_bytes=size,
        at=body["timestamp"] or current,
    ))
    return json(analytics.accepted(event), status=202)


@api_view(["GET", "HEAD"])
def dashboard(request):
    date_from, date_to = params.dashboard_range(query(request))
    return json(world.analytics.dashboard(date_from, date_to))


urlpatterns = [
    path("health", health),
    path("api/products", list_products),
    path("api/products/<str:id>", product),
    path("api/orders", place_order),
    path("api/orders/<str:id>", order),
    path("api/auth/register", register),
    path("api/auth/login", login),
    path("api/users/me", me),
    path("api/blog/posts", list_posts),
    path("api/blog/posts/<str:id>", post),
    path("api/blog/posts/<str:id>/comments", comment),
    path("api/analytics/track", track),
    path("api/analytics/dashboard", dashboard),
]

handler404 = common.handler404
handler500 = common.handler500
handler400 = common.handler400
