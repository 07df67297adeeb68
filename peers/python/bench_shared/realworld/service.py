"""The real_world_scenarios category's endpoints for any framework, the twin
of the reference's `realworld::service`: the seeded store, the hashing gate,
whom `X-User-ID` is believed from, and one method per endpoint taking what
the request carries (path id text, the query mapping, the `Caller`, the
body) and giving the JSON-ready answer or raising `ApiError`.

Bodies come shaped by the framework's own validation (pydantic, marshmallow,
DRF, Catzilla models: that is the framework's work) as a mapping of the
model's fields. Where the reference checks the caller before it parses the
body (orders, comments) and where the validation needs the event window
(`/track`), the method takes the framework's validation as a function and
calls it at that point, so every peer fails in the reference's order: the
body read (415, 413) before the call, then path id (400), caller (401),
body (400, 422), store (403, 404, 409, 503). Password hashing runs on the
gate's workers: `register`/`login` wait for it, `register_async`/
`login_async` await it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .. import errors
from ..gate import Gate, cores
from . import CATEGORY, Config, RealWorld, analytics, paging, params
from .accounts import Registration, User, registration_errors
from .analytics import Event, Instant
from .identity import Caller, UserIdHeader, default_policy
from .orders import OrderRequest

#: Registrations and logins that may wait for a hashing worker by default
#: (503 beyond).
DEFAULT_HASH_QUEUE = 256

Body = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Options:
    """How the service hashes and whom it believes."""

    hash_workers: int | None = None  # hashes computed at once (default: `cores()`)
    hash_queue: int = DEFAULT_HASH_QUEUE
    user_id_header: UserIdHeader = field(default_factory=default_policy)


@dataclass(frozen=True, slots=True)
class EventWindow:
    """What a tracked event's `timestamp` is checked against: from the first
    day of a window of `days` ending at `now` to one day ahead of it."""

    now: Instant
    days: int


def order_request(body: Body) -> OrderRequest:
    """The seven fields of a validated order body (`items` a list of
    mappings with `product_id` and `quantity`)."""
    return OrderRequest(
        shipping_address=body["shipping_address"],
        items=[(item["product_id"], item["quantity"]) for item in body["items"]],
        payment_method=body["payment_method"],
        user_id=body.get("user_id"),
        status=body.get("status"),
        total_amount=body.get("total_amount"),
        billing_address=body.get("billing_address"),
    )


_NO_PROPERTIES = analytics.properties(None)


def event(body: Body, now: Instant) -> Event:
    """The ten fields of a validated event body: `event_type` as its index
    in `EVENT_TYPES`, `ip_address` as written back, `properties` as
    `analytics.Properties` (normalized once, by the validation), `timestamp`
    as an instant (`now` when absent)."""
    properties = body.get("properties") or _NO_PROPERTIES
    at = body.get("timestamp")
    return Event(
        kind=body["event_type"],
        user_id=body.get("user_id"),
        session_id=body["session_id"],
        page_url=body["page_url"],
        referrer=body.get("referrer"),
        user_agent=body["user_agent"],
        ip_address=body["ip_address"],
        properties=properties.value,
        properties_bytes=properties.size,
        at=now if at is None else at,
    )


def registration(body: Body) -> Registration:
    """The five fields of a validated registration body."""
    return Registration(body["username"], body["email"], body["password"],
                        body["first_name"], body["last_name"])


def _token_answer(signed_in: tuple[User, dict]) -> dict:
    user, token = signed_in
    return {**token, "user": user.as_json()}


class Service:
    """The category's state: the seeded store (seeding hashes the seeded
    users' passwords: seconds), the hashing gate and the identity policy."""

    def __init__(self, config: Config | None = None, options: Options | None = None):
        options = options or Options()
        self.started = time.monotonic()
        self.world = RealWorld(config)
        self.hashing = Gate(options.hash_workers or cores(), options.hash_queue, name="hashing")
        self.user_id_header = options.user_id_header

    # ---- shop ---------------------------------------------------------------

    def products(self, query: Mapping[str, str]) -> dict:
        """`GET /api/products?page&limit&category_id&search&sort_by&sort_order`."""
        q = params.product_query(query)
        items, total = self.world.catalog.list(q)
        return {"products": items, "pagination": paging(q.page, q.limit, total),
                "filters": params.product_filters(q)}

    def product(self, id: str, caller: Caller) -> dict:
        """`GET /api/products/{id}`: counts a view; with a user (token or
        `X-User-ID`) also notes it in their recently viewed products."""
        product_id = params.path_id("id", id, 32)
        viewer = caller.optional_user(self.world.accounts, self.user_id_header)
        view = self.world.catalog.view_once(product_id)
        if view is None:
            raise errors.not_found(f"no product {product_id}")
        if viewer is not None:
            viewer.viewed(product_id)
        return view

    def place_order(self, caller: Caller, body: Callable[[], Body]) -> dict:
        """`POST /api/orders` (201): prices from the catalog, stock taken for
        every item or none (409 naming the short ones). `body()` validates
        the body, once the caller is known."""
        user = caller.user(self.world.accounts, self.user_id_header)
        request = order_request(body())
        return self.world.place_order(user.id, request).as_json()

    def order(self, id: str, caller: Caller) -> dict:
        """`GET /api/orders/{id}`: only for the user who placed it (403)."""
        order_id = params.path_id("id", id, 64)
        user = caller.user(self.world.accounts, self.user_id_header)
        orders = self.world.orders
        order = orders.get(order_id)
        if order is None:
            if orders.was_evicted(order_id):
                raise errors.not_found(f"order {order_id} is no longer retained")
            raise errors.not_found(f"no order {order_id}")
        if order.user_id != user.id:
            raise errors.forbidden("forbidden", f"order {order_id} belongs to another user")
        return order.as_json()

    # ---- accounts -----------------------------------------------------------

    def _registration(self, body: Body) -> Registration:
        r = registration(body)
        # Every field rule before the gate: a refusal takes no hashing slot.
        errors.check(registration_errors(r))
        return r

    def register(self, body: Body) -> dict:
        """`POST /api/auth/register` (201): the password hashed with argon2id
        on a hashing worker (503 when too many wait); blocks until done."""
        r = self._registration(body)
        return self.hashing.run(self.world.accounts.register, r).as_json()

    async def register_async(self, body: Body) -> dict:
        """`register`, awaiting the hashing worker."""
        r = self._registration(body)
        return (await self.hashing.run_async(self.world.accounts.register, r)).as_json()

    def login(self, body: Body) -> dict:
        """`POST /api/auth/login`: a bearer token and the user; blocks until
        the password is checked."""
        accounts = self.world.accounts
        return _token_answer(self.hashing.run(accounts.login, body["username"], body["password"]))

    async def login_async(self, body: Body) -> dict:
        """`login`, awaiting the hashing worker."""
        accounts = self.world.accounts
        return _token_answer(
            await self.hashing.run_async(accounts.login, body["username"], body["password"]))

    def me(self, caller: Caller) -> dict:
        """`GET /api/users/me`: the token's user and what they viewed last."""
        user = caller.token_user(self.world.accounts)
        return {**user.as_json(), "recently_viewed": user.recently_viewed()}

    # ---- blog ---------------------------------------------------------------

    def posts(self, query: Mapping[str, str]) -> dict:
        """`GET /api/blog/posts?page&limit&status&tag&search`: newest first."""
        q = params.post_query(query)
        items, total = self.world.blog.list(q)
        return {"posts": items, "pagination": paging(q.page, q.limit, total),
                "filters": params.post_filters(q)}

    def post(self, id: str) -> dict:
        """`GET /api/blog/posts/{id}`: the post with its newest comments;
        counts a view."""
        post_id = params.path_id("id", id, 32)
        view = self.world.blog.read(post_id)
        if view is None:
            raise errors.not_found(f"no post {post_id}")
        return view

    def comment(self, id: str, caller: Caller, body: Callable[[], Body]) -> dict:
        """`POST /api/blog/posts/{id}/comments` (201): needs a bearer token.
        `body()` validates the body, once the caller is known."""
        post_id = params.path_id("id", id, 32)
        user = caller.token_user(self.world.accounts)
        fields = body()
        made = self.world.blog.comment(post_id, user.id, fields["content"],
                                       fields.get("parent_id"))
        return made.as_json()

    # ---- analytics ----------------------------------------------------------

    def track(self, body: Callable[[EventWindow], Body]) -> dict:
        """`POST /api/analytics/track` (202), once the event is in the
        aggregates. `body(window)` validates the body, its timestamp within
        `window`."""
        current = analytics.now()
        fields = body(EventWindow(current, self.world.analytics.limits.window_days))
        tracked = self.world.analytics.track(event(fields, current))
        return analytics.accepted(tracked)

    def dashboard(self, query: Mapping[str, str]) -> dict:
        """`GET /api/analytics/dashboard?date_from&date_to`."""
        date_from, date_to = params.dashboard_range(query)
        return self.world.analytics.dashboard(date_from, date_to)

    def health(self) -> dict:
        """`GET /health`: liveness with the store's sizes and bounds."""
        w = self.world
        return {
            "analytics": w.analytics.retention(),
            "category": CATEGORY,
            "comments": w.blog.comment_count(),
            "hashing_load": self.hashing.load(),
            "orders": w.orders.counts(),
            "password_hash": {"algorithm": "argon2id", "cost": w.accounts.cost.as_json()},
            "posts": len(w.blog),
            "products": len(w.catalog),
            "status": "ok",
            "uptime_seconds": int(time.monotonic() - self.started),
            "users": w.accounts.count(),
        }
