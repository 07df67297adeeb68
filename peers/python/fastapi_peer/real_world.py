"""The real_world_scenarios category in FastAPI: a shop, a blog, accounts and
analytics over the shared store (`bench_shared.realworld`). Bodies are
pydantic v2 models (shape, and every rule a field can judge alone); rules
that need the store (catalog prices, stock, ownership, comment threads) and
every query rule are the store's. Password hashing runs behind the store's
gate, off the event loop."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Callable, Optional, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo
from pydantic_core import PydanticCustomError

from bench_shared import errors, http
from bench_shared.realworld import MAX_BODY_BYTES, RealWorld, analytics, identity, paging, params
from bench_shared.realworld import accounts as acc
from bench_shared.realworld.accounts import Registration, User
from bench_shared.realworld.analytics import EVENT_TYPES, Event, Instant
from bench_shared.realworld.orders import OrderRequest

from .common import from_pydantic, new_app, query, read_json_bytes

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
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


def _properties(value: dict[str, Any]) -> dict[str, Any]:
    normalized, size = analytics.normalize_properties(value)
    if not analytics.properties_ok(normalized, size):
        raise PydanticCustomError(
            "size", f"at most {analytics.MAX_PROPERTIES} keys and "
                    f"{analytics.MAX_PROPERTIES_BYTES} bytes")
    return normalized


def _timestamp(value: str, info: ValidationInfo) -> Instant:
    at = analytics.parse_rfc3339(value)
    if at is None:
        raise PydanticCustomError("datetime", "must be an RFC 3339 date-time")
    current, window = info.context["now"], info.context["window_days"]
    error = analytics.timestamp_error(at, current, window)
    if error is not None:
        raise PydanticCustomError(error.code, error.message)
    return at


class EventBody(Strict):
    """The event with every field rule; `event_type` becomes its index and
    `timestamp` an instant (its window ends at the `now` of the context)."""

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

async def parse(request: Request, model: type[M], context: dict | None = None) -> M:
    """The body validated as `model`: 415 not JSON, 413 too large, 400
    unparseable, 422 with every failing field."""
    raw = await read_json_bytes(request, MAX_BODY_BYTES)
    try:
        return model.model_validate_json(raw, context=context)
    except ValidationError as e:
        # pydantic reads NaN and Infinity; as the reference, only strict
        # JSON documents get a 422.
        http.parse_json(raw)
        raise from_pydantic(e) from None


def create_app(world: RealWorld | None = None) -> FastAPI:
    """The app over `world` (a freshly seeded store by default)."""
    app = new_app("real_world_scenarios")
    world = world or RealWorld()

    def get(path: str):
        """A GET route that also answers HEAD, as the reference's router does."""
        return app.api_route(path, methods=["GET", "HEAD"])

    def who(request: Request) -> User | None:
        return identity.optional_user(world.accounts, request.headers.get("authorization"),
                                      request.headers.get("x-user-id"))

    def someone(request: Request) -> User:
        return identity.required_user(world.accounts, request.headers.get("authorization"),
                                      request.headers.get("x-user-id"))

    def token_user(request: Request) -> User:
        return identity.required_token(world.accounts, request.headers.get("authorization"))

    async def hashing(job: Callable[..., T], *args: Any) -> T:
        """`job(*args)` on a hashing worker (503 `busy` when the gate is full)."""
        return await asyncio.wrap_future(world.hashing.submit(job, *args))

    @get("/health")
    async def health() -> JSONResponse:
        return JSONResponse(world.health())

    @get("/api/products")
    async def list_products(request: Request) -> JSONResponse:
        q = params.product_query(query(request))
        items, total = world.catalog.list(q)
        return JSONResponse({"products": items, "pagination": paging(q.page, q.limit, total),
                             "filters": params.product_filters(q)})

    @get("/api/products/{id}")
    async def product(id: str, request: Request) -> JSONResponse:
        product_id = params.path_id("id", id, 32)
        viewer = who(request)
        view = world.catalog.view_once(product_id)
        if view is None:
            raise errors.not_found(f"no product {product_id}")
        if viewer is not None:
            viewer.viewed(product_id)
        return JSONResponse(view)

    @app.post("/api/orders")
    async def place_order(request: Request) -> JSONResponse:
        user = someone(request)
        body = await parse(request, OrderBody)
        order = world.place_order(user.id, OrderRequest(
            shipping_address=body.shipping_address,
            items=[(i.product_id, i.quantity) for i in body.items],
            payment_method=body.payment_method,
            user_id=body.user_id,
            status=body.status,
            total_amount=body.total_amount,
            billing_address=body.billing_address,
        ))
        return JSONResponse(order.as_json(), status_code=201)

    @get("/api/orders/{id}")
    async def order(id: str, request: Request) -> JSONResponse:
        order_id = params.path_id("id", id, 64)
        user = someone(request)
        return JSONResponse(world.order_for(order_id, user.id).as_json())

    @app.post("/api/auth/register")
    async def register(request: Request) -> JSONResponse:
        body = await parse(request, RegisterBody)
        user = await hashing(world.accounts.register, Registration(
            body.username, body.email, body.password, body.first_name, body.last_name))
        return JSONResponse(user.as_json(), status_code=201)

    @app.post("/api/auth/login")
    async def login(request: Request) -> JSONResponse:
        body = await parse(request, LoginBody)
        user, token = await hashing(world.accounts.login, body.username, body.password)
        return JSONResponse({**token, "user": user.as_json()})

    @get("/api/users/me")
    async def me(request: Request) -> JSONResponse:
        user = token_user(request)
        return JSONResponse({**user.as_json(), "recently_viewed": user.recently_viewed()})

    @get("/api/blog/posts")
    async def list_posts(request: Request) -> JSONResponse:
        q = params.post_query(query(request))
        items, total = world.blog.list(q)
        return JSONResponse({"posts": items, "pagination": paging(q.page, q.limit, total),
                             "filters": params.post_filters(q)})

    @get("/api/blog/posts/{id}")
    async def post(id: str) -> JSONResponse:
        post_id = params.path_id("id", id, 32)
        view = world.blog.read(post_id)
        if view is None:
            raise errors.not_found(f"no post {post_id}")
        return JSONResponse(view)

    @app.post("/api/blog/posts/{id}/comments")
    async def comment(id: str, request: Request) -> JSONResponse:
        post_id = params.path_id("id", id, 32)
        user = token_user(request)
        body = await parse(request, CommentBody)
        made = world.blog.comment(post_id, user.id, body.content, body.parent_id)
        return JSONResponse(made.as_json(), status_code=201)

    @app.post("/api/analytics/track")
    async def track(request: Request) -> JSONResponse:
        current = analytics.now()
        body = await parse(request, EventBody, {
            "now": current, "window_days": world.analytics.limits.window_days})
        properties, size = analytics.normalize_properties(body.properties)
        event = world.analytics.track(Event(
            kind=body.event_type, user_id=body.user_id, session_id=body.session_id,
            page_url=body.page_url, referrer=body.referrer, user_agent=body.user_agent,
            ip_address=body.ip_address, properties=properties, properties_bytes=size,
            at=body.timestamp or current,
        ))
        return JSONResponse(analytics.accepted(event), status_code=202)

    @get("/api/analytics/dashboard")
    async def dashboard(request: Request) -> JSONResponse:
        date_from, date_to = params.dashboard_range(query(request))
        return JSONResponse(world.analytics.dashboard(date_from, date_to))

    return app

