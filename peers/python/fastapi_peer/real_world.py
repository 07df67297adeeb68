"""The real_world_scenarios category in FastAPI: routes over the shared
service (`bench_shared.realworld.service`). Bodies are pydantic v2 models
(shape, and every rule a field can judge alone); rules that need the store
(catalog prices, stock, ownership, comment threads) and every query rule are
the service's. Password hashing is awaited on the service's gate, off the
event loop."""

from __future__ import annotations

from typing import Annotated, Any, Callable, Optional, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo
from pydantic_core import PydanticCustomError

from bench_shared import http
from bench_shared.realworld import MAX_BODY_BYTES, analytics
from bench_shared.realworld import accounts as acc
from bench_shared.realworld.analytics import EVENT_TYPES, Instant
from bench_shared.realworld.identity import Caller
from bench_shared.realworld.service import EventWindow, Service

from .common import client_address, from_pydantic, new_app, query, read_json_bytes

M = TypeVar("M", bound=BaseModel)
I64 = Annotated[int, Field(ge=-(1 << 63), le=(1 << 63) - 1)]


def rule(check: Callable[[Any], bool], code: str, message: str) -> AfterValidator:
    """A field rule of the store as a validator reporting `code`."""

    def validate(value: Any) -> Any:
        if not check(value):
            raise PydanticCustomError(code, message)
        return value

    return AfterValidator(validate)


class Strict(BaseModel):
    """Exact JSON types, no unknown fields (as the reference's serde models)."""

    model_config = ConfigDict(strict=True, extra="forbid")


# ---- accounts -------------------------------------------------------------

Username = Annotated[str, rule(acc.username_ok, "pattern", "3 to 20 letters, digits or underscores")]
Email = Annotated[str, rule(acc.email_ok, "email", "not a valid e-mail address")]
Name = Annotated[str, rule(acc.name_ok, "length", "must be 1 to 50 characters, not blank")]


class RegisterBody(Strict):
    username: Username
    email: Email
    password: str = Field(min_length=8, max_length=128)
    first_name: Name
    last_name: Name


class LoginBody(Strict):
    username: str
    password: str


# ---- shop ---------------------------------------------------------------------

class ItemBody(Strict):
    product_id: I64
    quantity: I64


class OrderBody(Strict):
    """The order's shape; its rules need the catalog (the store checks them all at once)."""

    user_id: Optional[I64] = None
    status: Optional[str] = None
    total_amount: Optional[float] = None
    shipping_address: dict[str, str]
    billing_address: Optional[dict[str, str]] = None
    items: list[ItemBody]
    payment_method: str


# ---- blog ---------------------------------------------------------------------

class CommentBody(Strict):
    """The comment's shape; content and parent are judged with the thread."""

    content: str
    parent_id: Optional[I64] = None


# ---- analytics ------------------------------------------------------------------

def _event_kind(value: str) -> int:
    if value not in EVENT_TYPES:
        raise PydanticCustomError("pattern", f"must be one of {', '.join(EVENT_TYPES)}")
    return EVENT_TYPES.index(value)


def _bytes(lo: int, hi: int) -> AfterValidator:
    return rule(lambda v: analytics.byte_len_ok(v, lo, hi), "length", f"must be {lo} to {hi} bytes")


def _ip(value: str) -> str:
    written = analytics.parse_ip(value)
    if written is None:
        raise PydanticCustomError("ip_address", "must be an IPv4 or IPv6 address")
    return written


def _properties(value: dict[str, Any]) -> analytics.Properties:
    properties = analytics.properties(value)
    if not properties.fits():
        error = analytics.PROPERTIES_TOO_LARGE
        raise PydanticCustomError(error.code, error.message)
    return properties


def _timestamp(value: str, info: ValidationInfo) -> Instant:
    at = analytics.parse_rfc3339(value)
    if at is None:
        raise PydanticCustomError("datetime", "must be an RFC 3339 date-time")
    window: EventWindow = info.context["window"]
    error = analytics.timestamp_error(at, window.now, window.days)
    if error is not None:
        raise PydanticCustomError(error.code, error.message)
    return at


class EventBody(Strict):
    """The event with every field rule; `event_type` becomes its index,
    `properties` an `analytics.Properties` and `timestamp` an instant (in
    the context's `window`)."""

    event_type: Annotated[str, AfterValidator(_event_kind)]
    user_id: Optional[Annotated[I64, rule(lambda u: 1 <= u < 1 << 32, "range",
                                          "must be at least 1")]] = None
    session_id: Annotated[str, _bytes(1, 128)]
    page_url: Annotated[str, _bytes(1, 2048)]
    referrer: Optional[Annotated[str, _bytes(0, 2048)]] = None
    user_agent: Annotated[str, _bytes(1, 512)]
    ip_address: Annotated[str, AfterValidator(_ip)]
    properties: Optional[Annotated[dict[str, Any], AfterValidator(_properties)]] = None
    timestamp: Optional[Annotated[str, AfterValidator(_timestamp)]] = None


# ---- wiring ---------------------------------------------------------------------

def validated(raw: bytes, model: type[M], context: dict | None = None) -> M:
    """The body validated as `model`: 400 unparseable, 422 with every
    failing field."""
    try:
        return model.model_validate_json(raw, context=context)
    except ValidationError as e:
        # pydantic reads NaN and Infinity; as the reference, only strict
        # JSON documents get a 422.
        http.parse_json(raw)
        raise from_pydantic(e) from None


def caller(request: Request) -> Caller:
    """The identity headers and the client's address."""
    h = request.headers
    return Caller(h.get("authorization"), h.get("x-user-id"), client_address(request))


def create_app(service: Service | None = None) -> FastAPI:
    """The app over `service` (a freshly seeded one by default)."""
    app = new_app("real_world_scenarios")
    s = service or Service()

    def get(path: str) -> Callable:
        """A GET route that also answers HEAD, as the reference's router does."""
        return app.api_route(path, methods=["GET", "HEAD"])

    @get("/health")
    async def health() -> JSONResponse:
        return JSONResponse(s.health())

    @get("/api/products")
    async def list_products(request: Request) -> JSONResponse:
        return JSONResponse(s.products(query(request)))

    @get("/api/products/{id}")
    async def product(id: str, request: Request) -> JSONResponse:
        return JSONResponse(s.product(id, caller(request)))

    @app.post("/api/orders")
    async def place_order(request: Request) -> JSONResponse:
        raw = await read_json_bytes(request, MAX_BODY_BYTES)
        answer = s.place_order(caller(request), lambda: validated(raw, OrderBody).model_dump())
        return JSONResponse(answer, status_code=201)

    @get("/api/orders/{id}")
    async def order(id: str, request: Request) -> JSONResponse:
        return JSONResponse(s.order(id, caller(request)))

    @app.post("/api/auth/register")
    async def register(request: Request) -> JSONResponse:
        body = validated(await read_json_bytes(request, MAX_BODY_BYTES), RegisterBody)
        return JSONResponse(await s.register_async(dict(body)), status_code=201)

    @app.post("/api/auth/login")
    async def login(request: Request) -> JSONResponse:
        body = validated(await read_json_bytes(request, MAX_BODY_BYTES), LoginBody)
        return JSONResponse(await s.login_async(dict(body)))

    @get("/api/users/me")
    async def me(request: Request) -> JSONResponse:
        return JSONResponse(s.me(caller(request)))

    @get("/api/blog/posts")
    async def list_posts(request: Request) -> JSONResponse:
        return JSONResponse(s.posts(query(request)))

    @get("/api/blog/posts/{id}")
    async def post(id: str) -> JSONResponse:
        return JSONResponse(s.post(id))

    @app.post("/api/blog/posts/{id}/comments")
    async def comment(id: str, request: Request) -> JSONResponse:
        raw = await read_json_bytes(request, MAX_BODY_BYTES)
        answer = s.comment(id, caller(request), lambda: dict(validated(raw, CommentBody)))
        return JSONResponse(answer, status_code=201)

    @app.post("/api/analytics/track")
    async def track(request: Request) -> JSONResponse:
        raw = await read_json_bytes(request, MAX_BODY_BYTES)
        answer = s.track(lambda window: dict(validated(raw, EventBody, {"window": window})))
        return JSONResponse(answer, status_code=202)

    @get("/api/analytics/dashboard")
    async def dashboard(request: Request) -> JSONResponse:
        return JSONResponse(s.dashboard(query(request)))

    return app
