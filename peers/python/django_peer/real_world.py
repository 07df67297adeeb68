"""The real_world_scenarios category in Django: views over the shared
service (`bench_shared.realworld.service`). Bodies are DRF serializers
(shape, and every rule a field can judge alone); rules that need the store
(catalog prices, stock, ownership, comment threads) and every query rule are
the service's. Password hashing runs behind the service's gate."""

from __future__ import annotations

from typing import Any, Callable

from django.urls import path
from rest_framework.decorators import api_view

from bench_shared import http
from bench_shared.realworld import MAX_BODY_BYTES, analytics
from bench_shared.realworld import accounts as acc
from bench_shared.realworld.analytics import EVENT_TYPES
from bench_shared.realworld.identity import Caller
from bench_shared.realworld.service import EventWindow, Service

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
    """A JSON object of at most `MAX_PROPERTIES` keys and bytes, as
    `analytics.Properties` (normalized, measured)."""

    def to_internal_value(self, data):
        properties = analytics.properties(super().to_internal_value(data))
        if not properties.fits():
            error = analytics.PROPERTIES_TOO_LARGE
            raise fail(error.code, error.message)
        return properties


class Timestamp(StrictStr):
    """An RFC 3339 instant inside the context's event `window`."""

    def to_internal_value(self, data):
        at = analytics.parse_rfc3339(super().to_internal_value(data))
        if at is None:
            raise fail("datetime", "must be an RFC 3339 date-time")
        window: EventWindow = self.context["window"]
        error = analytics.timestamp_error(at, window.now, window.days)
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

service = Service()


def validated(raw: bytes, serializer_class, context: dict | None = None) -> dict:
    """The body validated by the serializer: 400 unparseable, 422 with every
    failing field."""
    return common.check(serializer_class, http.parse_json(raw), context)


def caller(request) -> Caller:
    """The identity headers and the client's address."""
    h = request.headers
    return Caller(h.get("authorization"), h.get("x-user-id"), common.client_address(request))


def raw_body(request) -> bytes:
    """The JSON body's bytes: 415 not JSON, 413 too large."""
    return common.read_json_bytes(request, MAX_BODY_BYTES)


@api_view(["GET", "HEAD"])
def health(request):
    return json(service.health())


@api_view(["GET", "HEAD"])
def list_products(request):
    return json(service.products(query(request)))


@api_view(["GET", "HEAD"])
def product(request, id: str):
    return json(service.product(id, caller(request)))


@api_view(["POST"])
def place_order(request):
    raw = raw_body(request)
    return json(service.place_order(caller(request), lambda: validated(raw, OrderSerializer)),
                status=201)


@api_view(["GET", "HEAD"])
def order(request, id: str):
    return json(service.order(id, caller(request)))


@api_view(["POST"])
def register(request):
    return json(service.register(validated(raw_body(request), RegisterSerializer)), status=201)


@api_view(["POST"])
def login(request):
    return json(service.login(validated(raw_body(request), LoginSerializer)))


@api_view(["GET", "HEAD"])
def me(request):
    return json(service.me(caller(request)))


@api_view(["GET", "HEAD"])
def list_posts(request):
    return json(service.posts(query(request)))


@api_view(["GET", "HEAD"])
def post(request, id: str):
    return json(service.post(id))


@api_view(["POST"])
def comment(request, id: str):
    raw = raw_body(request)
    return json(service.comment(id, caller(request), lambda: validated(raw, CommentSerializer)),
                status=201)


@api_view(["POST"])
def track(request):
    raw = raw_body(request)
    answer = service.track(lambda window: validated(raw, EventSerializer, {"window": window}))
    return json(answer, status=202)


@api_view(["GET", "HEAD"])
def dashboard(request):
    return json(service.dashboard(query(request)))


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
