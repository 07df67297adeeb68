"""`bench_shared.realworld.service`, endpoint by endpoint: the answers, the
bad paths with the contract's and the reference's codes and messages (400,
401, 403, 404, 409, 422), and the order in which a request's parts are
judged (path id, then caller, then body, then the store).

The contract's own negative cases are run through the service with the
FastAPI peer's pydantic models as the framework's validation (no HTTP: what
is left to the HTTP layer, 413, 415, 405 and unknown routes, is skipped)."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest

from bench_shared.errors import ApiError
from bench_shared.realworld import Config, analytics, seed
from bench_shared.realworld.accounts import HashCost
from bench_shared.realworld.identity import Caller, UserIdHeader
from bench_shared.realworld.service import EventWindow, Options, Service
from fastapi_peer import real_world as peer

CONTRACT = Path(__file__).resolve().parents[3] / "shared-endpoints" / "real_world_scenarios.json"
CHEAP = HashCost(memory_kib=8, iterations=1, parallelism=1)
LOCAL = "127.0.0.1"


def service(**config) -> Service:
    return Service(Config(hash_cost=CHEAP, **config), Options(hash_workers=2))


@pytest.fixture(scope="module")
def s() -> Service:
    return service()


def failure(call) -> ApiError:
    with pytest.raises(ApiError) as e:
        call()
    return e.value


def shopper(user_id: int = 1) -> Caller:
    return Caller(user_id=str(user_id), client=LOCAL)


def bearer(s: Service, user_id: int) -> Caller:
    return Caller(authorization=f"Bearer {s.world.accounts.issue(user_id)['access_token']}")


ADDRESS = {"street": "1 Main St", "city": "Lisbon", "zip_code": "1000", "country": "PT"}


def order_body(items, **more) -> dict:
    return {"shipping_address": ADDRESS, "items": [{"product_id": p, "quantity": q}
                                                   for p, q in items],
            "payment_method": "paypal", **more}


def unreachable():
    raise AssertionError("the body was validated before the caller was known")


# ---- the contract's negative cases ------------------------------------------------

def names_field(named: str, want: str) -> bool:
    """The contract's rule: a detail names a field or a value inside it."""
    return named == want or named.startswith((want + "[", want + "."))


def run_case(s: Service, case: dict):
    """The case's request through the service, the FastAPI models validating
    bodies; None when the case is the HTTP layer's."""
    request = case.get("request", {})
    content_type = request.get("content_type", "application/json")
    if "generated_body" in request or not content_type.startswith("application/json"):
        return None
    if "json" in request:
        raw = json.dumps(request["json"]).encode()
    else:
        raw = request.get("body", "").encode()
    query = {k: str(v) for k, v in request.get("query", {}).items()}
    id = str(request.get("path_params", {}).get("id", ""))
    headers = {k.lower(): v for k, v in request.get("headers", {}).items()}
    who = Caller(headers.get("authorization"), headers.get("x-user-id"), LOCAL)
    routes = {
        ("GET", "/api/products"): lambda: s.products(query),
        ("GET", "/api/products/{id}"): lambda: s.product(id, who),
        ("POST", "/api/orders"): lambda: s.place_order(
            who, lambda: peer.validated(raw, peer.OrderBody).model_dump()),
        ("GET", "/api/orders/{id}"): lambda: s.order(id, who),
        ("POST", "/api/auth/register"): lambda: s.register(
            dict(peer.validated(raw, peer.RegisterBody))),
        ("POST", "/api/auth/login"): lambda: s.login(dict(peer.validated(raw, peer.LoginBody))),
        ("GET", "/api/users/me"): lambda: s.me(who),
        ("GET", "/api/blog/posts"): lambda: s.posts(query),
        ("GET", "/api/blog/posts/{id}"): lambda: s.post(id),
        ("POST", "/api/blog/posts/{id}/comments"): lambda: s.comment(
            id, who, lambda: dict(peer.validated(raw, peer.CommentBody))),
        ("POST", "/api/analytics/track"): lambda: s.track(
            lambda window: dict(peer.validated(raw, peer.EventBody, {"window": window}))),
        ("GET", "/api/analytics/dashboard"): lambda: s.dashboard(query),
    }
    return routes.get((case["method"], case["path"]))


def contract_cases() -> list[dict]:
    """The negative cases the service decides (413, 415, 405 and unknown
    routes are the HTTP layer's, checked against the servers by the runner)."""
    probe = Service.__new__(Service)  # run_case only needs to build its calls
    return [c for c in json.loads(CONTRACT.read_text())["negative_cases"]
            if run_case(probe, c) is not None]


@pytest.mark.parametrize("case", contract_cases(), ids=lambda c: c["name"])
def test_the_contracts_negative_cases(s: Service, case: dict) -> None:
    call = run_case(s, case)
    expect = case["expect"]
    e = failure(call)
    assert e.status == expect["status"], e
    if "error" in expect:
        assert e.code == expect["error"], e
    named = [d.field for d in e.details]
    for want in expect.get("detail_fields", []):
        assert any(names_field(n, want) for n in named), (want, named)
    assert e.message


# ---- shop -----------------------------------------------------------------------

def test_a_listing_pages_filters_and_echoes_its_query(s: Service) -> None:
    answer = s.products({"category_id": "2", "sort_by": "price", "sort_order": "desc",
                         "limit": "5", "page": "2"})
    in_category = sorted((p for p in (seed.product(i) for i in range(1, seed.PRODUCTS + 1))
                          if p.category_id == 2), key=lambda p: (p.price_cents, p.id),
                         reverse=True)
    assert [p["id"] for p in answer["products"]] == [p.id for p in in_category[5:10]]
    assert answer["pagination"] == {"page": 2, "limit": 5, "total": len(in_category),
                                    "pages": -(-len(in_category) // 5), "has_next": True,
                                    "has_prev": True}
    assert answer["filters"] == {"category_id": 2, "search": None, "sort_by": "price",
                                 "sort_order": "desc"}
    e = failure(lambda: s.products({"limit": "abc", "page": "0"}))
    assert (e.status, e.code) == (400, "invalid_query")  # unparseable before any range


def test_a_view_is_counted_and_remembered_only_for_a_believed_user() -> None:
    s = service()
    before = s.world.catalog.get(3)["views"]
    assert s.product("3", shopper(4))["views"] == before + 1
    assert s.me(bearer(s, 4))["recently_viewed"] == [3]
    # From a remote client the header names nobody: the view counts, unremembered.
    assert s.product("5", Caller(user_id="4", client="192.0.2.7"))["views"] > 0
    assert s.me(bearer(s, 4))["recently_viewed"] == [3]
    assert s.product("3", Caller(authorization=bearer(s, 4).authorization,
                                 client="192.0.2.7"))["views"] == before + 2
    assert s.me(bearer(s, 4))["recently_viewed"] == [3]
    s.product("5", bearer(s, 4))
    assert s.me(bearer(s, 4))["recently_viewed"] == [5, 3]


@pytest.mark.parametrize("call, status, code, message", [
    (lambda s: s.product("5000", shopper()), 404, "not_found", "no product 5000"),
    (lambda s: s.product("0", shopper()), 404, "not_found", "no product 0"),
    (lambda s: s.product("abc", shopper()), 400, "invalid_path_param",
     "path parameter `id` must be a non-negative integer, got 'abc'"),
    (lambda s: s.product("4294967296", shopper()), 400, "invalid_path_param", None),
    (lambda s: s.post("999"), 404, "not_found", "no post 999"),
    (lambda s: s.post("-1"), 400, "invalid_path_param", None),
    (lambda s: s.order("999999999", shopper()), 404, "not_found", "no order 999999999"),
    (lambda s: s.order("18446744073709551616", shopper()), 400, "invalid_path_param", None),
    (lambda s: s.order("1", Caller()), 401, "unauthenticated",
     "send `Authorization: Bearer <token>` or an `X-User-ID` header"),
    (lambda s: s.me(shopper()), 401, "unauthenticated",
     "this endpoint needs `Authorization: Bearer <token>` (from /api/auth/login)"),
])
def test_refusals_say_what_the_reference_says(s: Service, call, status, code, message) -> None:
    e = failure(lambda: call(s))
    assert (e.status, e.code) == (status, code)
    if message is not None:
        assert e.message == message


def test_an_order_is_placed_read_by_its_owner_only_and_evicted_when_old() -> None:
    s = service(retain_orders=1)
    first = s.place_order(shopper(1), lambda: order_body([(1, 2), (2, 1)], total_amount=None))
    p1, p2 = seed.product(1), seed.product(2)
    assert first["user_id"] == 1 and first["status"] == "pending"
    assert [(i["product_id"], i["quantity"]) for i in first["items"]] == [(1, 2), (2, 1)]
    assert first["total_amount"] == (2 * p1.price_cents + p2.price_cents) / 100
    assert first["billing_address"] == first["shipping_address"] == dict(sorted(ADDRESS.items()))
    assert s.order(str(first["id"]), shopper(1)) == first
    e = failure(lambda: s.order(str(first["id"]), shopper(2)))
    assert (e.status, e.code, e.message) == (403, "forbidden",
                                             f"order {first['id']} belongs to another user")
    second = s.place_order(bearer(s, 1), lambda: order_body([(3, 1)]))
    e = failure(lambda: s.order(str(first["id"]), shopper(1)))
    assert (e.status, e.message) == (404, f"order {first['id']} is no longer retained")
    assert s.order(str(second["id"]), shopper(1))["id"] == second["id"]
    dashboard = s.dashboard({})
    cents = 2 * p1.price_cents + p2.price_cents + seed.product(3).price_cents
    assert (dashboard["orders"], dashboard["revenue"]) == (2, cents / 100)


def test_short_stock_is_a_409_naming_the_line_and_takes_nothing() -> None:
    s = service()
    limited = seed.LIMITED_FROM
    stock = s.world.catalog.get(limited)["stock_quantity"]
    too_many = order_body([(1, 1), (limited, stock + 1)])
    e = failure(lambda: s.place_order(shopper(), lambda: too_many))
    assert (e.status, e.code) == (409, "insufficient_stock")
    assert [d.field for d in e.details] == ["items[1].quantity"]
    assert e.details[0].message == f"product {limited} has {stock} in stock, {stock + 1} requested"
    assert s.world.catalog.get(limited)["stock_quantity"] == stock
    assert s.world.catalog.get(1)["stock_quantity"] == seed.product(1).stock
    s.place_order(shopper(), lambda: order_body([(limited, stock)]))
    assert s.world.catalog.get(limited)["stock_quantity"] == 0


def test_an_order_judges_caller_before_body_and_names_every_bad_field(s: Service) -> None:
    e = failure(lambda: s.place_order(Caller(user_id="1", client="192.0.2.7"), unreachable))
    assert (e.status, e.code) == (401, "unauthenticated")
    e = failure(lambda: s.place_order(shopper(1), lambda: order_body([(1, 1)], user_id=2)))
    assert (e.status, e.code, e.message) == (403, "forbidden", "user 1 cannot order for user 2")
    e = failure(lambda: s.place_order(shopper(1), lambda: order_body(
        [(1, 0), (5000, 1), (2, 1), (2, 1)], status="shipped", payment_method="cash")))
    assert e.status == 422
    assert sorted(d.field for d in e.details) == sorted([
        "status", "payment_method", "items[0].quantity", "items[1].product_id",
        "items[3].product_id"])


# ---- accounts -------------------------------------------------------------------

def test_register_login_and_me(s: Service) -> None:
    body = {"username": "grace_h", "email": "grace@example.com", "password": "a long passphrase",
            "first_name": " Grace ", "last_name": "Hopper"}
    user = s.register(body)
    assert (user["username"], user["first_name"], user["is_active"]) == ("grace_h", "Grace", True)
    assert user["id"] == seed.USERS + 1
    e = failure(lambda: s.register({**body, "email": "other@example.com", "username": "GRACE_H"}))
    assert (e.status, e.code, [d.field for d in e.details]) == (409, "already_exists", ["username"])
    e = failure(lambda: s.register({**body, "username": "other"}))
    assert (e.status, e.message, [d.field for d in e.details]) == (409, "that email is taken",
                                                                   ["email"])
    e = failure(lambda: s.register({**body, "username": "a!", "password": "short",
                                    "last_name": " "}))
    assert (e.status, [d.field for d in e.details]) == (422, ["username", "password", "last_name"])
    assert s.hashing.load() == 0
    signed = s.login({"username": "GRACE_H", "password": "a long passphrase"})
    assert (signed["token_type"], signed["expires_in"]) == ("bearer", 3600)
    assert signed["user"] == user
    me = s.me(Caller(authorization=f"Bearer {signed['access_token']}"))
    assert me == {**user, "recently_viewed": []}
    for wrong in ({"username": "grace_h", "password": "not it"},
                  {"username": "nobody_here", "password": "a long passphrase"}):
        e = failure(lambda: s.login(wrong))
        assert (e.status, e.code, e.message) == (401, "invalid_credentials",
                                                 "wrong username or password")


def test_the_awaitable_forms_answer_as_the_blocking_ones(s: Service) -> None:
    body = {"username": "ada_l", "email": "ada@example.com", "password": "analytical engine",
            "first_name": "Ada", "last_name": "Lovelace"}

    async def both():
        user = await s.register_async(body)
        signed = await s.login_async({"username": "ada@example.com",
                                      "password": "analytical engine"})
        with pytest.raises(ApiError) as taken:
            await s.register_async(body)
        return user, signed, taken.value

    user, signed, taken = asyncio.run(both())
    assert signed["user"] == user and taken.status == 409
    assert s.me(Caller(authorization=f"Bearer {signed['access_token']}"))["id"] == user["id"]


def test_a_full_hashing_gate_is_a_503() -> None:
    s = Service(Config(hash_cost=CHEAP), Options(hash_workers=1, hash_queue=0))
    release = threading.Event()
    s.hashing.submit(release.wait)
    try:
        e = failure(lambda: s.login({"username": "user_001", "password": "Passw0rd-1"}))
        assert (e.status, e.code) == (503, "busy")
    finally:
        release.set()


# ---- blog -----------------------------------------------------------------------

def test_comments_need_a_token_a_published_post_and_a_parent_of_the_same_post() -> None:
    s = service()
    author = bearer(s, 9)
    made = s.comment("1", author, lambda: {"content": "Nice", "parent_id": None})
    assert (made["post_id"], made["author_id"], made["is_approved"]) == (1, 9, False)
    reply = s.comment("1", author, lambda: {"content": "Agreed", "parent_id": made["id"]})
    assert reply["parent_id"] == made["id"]
    post = s.post("1")
    assert post["comments"][0]["content"] == "Agreed"
    assert post["comment_count"] == len(seed.post(1).comments) + 2
    e = failure(lambda: s.comment("2", author, lambda: {"content": " ", "parent_id": made["id"]}))
    assert (e.status, sorted(d.field for d in e.details)) == (422, ["content", "parent_id"])
    assert e.details[[d.field for d in e.details].index("parent_id")].message == (
        f"post 2 has no comment {made['id']}")
    e = failure(lambda: s.comment("10", author, lambda: {"content": "x", "parent_id": None}))
    assert (e.status, e.code, e.message) == (
        409, "comments_closed", "the post is draft; only published posts take comments")
    e = failure(lambda: s.comment("999", author, lambda: {"content": "x", "parent_id": None}))
    assert (e.status, e.message) == (404, "no post 999")
    # The path id first, then the token, then the body.
    assert failure(lambda: s.comment("x", Caller(), unreachable)).status == 400
    e = failure(lambda: s.comment("1", shopper(9), unreachable))
    assert (e.status, e.code) == (401, "unauthenticated")


def test_post_listings_filter_newest_first(s: Service) -> None:
    answer = s.posts({"status": "archived", "limit": "100"})
    archived = sorted((p for p in (seed.post(i) for i in range(1, seed.POSTS + 1))
                       if p.status == "archived"), key=lambda p: (p.created_at, p.id),
                      reverse=True)
    assert [p["id"] for p in answer["posts"]] == [p.id for p in archived]
    assert answer["filters"] == {"status": "archived", "tag": None, "search": None}
    e = failure(lambda: s.posts({"status": "deleted", "tag": "", "limit": "0"}))
    assert (e.status, [d.field for d in e.details]) == (422, ["limit", "status", "tag"])


# ---- analytics ------------------------------------------------------------------

def event_body(**more) -> dict:
    body = {"event_type": 0, "user_id": None, "session_id": "s1", "page_url": "/p",
            "referrer": None, "user_agent": "ua", "ip_address": "127.0.0.1",
            "properties": None, "timestamp": None}
    body.update(more)
    return body


def test_track_takes_the_validated_event_once_and_the_dashboard_counts_it() -> None:
    s = service()
    windows: list[EventWindow] = []
    properties = analytics.properties({"b": 1, "a": [1, {"d": 2, "c": 3}]})

    def validate(window: EventWindow) -> dict:
        windows.append(window)
        return event_body(properties=properties, user_id=7)

    answer = s.track(validate)
    assert len(windows) == 1 and windows[0].days == s.world.analytics.limits.window_days
    assert answer["accepted"] is True and answer["event_type"] == "page_view"
    assert answer["timestamp"] == analytics.format_time_millis(*windows[0].now)
    held = s.world.analytics._recent[-1]
    # Normalized once, by the validation: the service keeps that very object.
    assert held.properties is properties.value and held.properties_bytes == properties.size
    assert list(held.properties) == ["a", "b"]
    at = (windows[0].now[0] - 86_400, 0)
    s.track(lambda _window: event_body(event_type=1, session_id="s2", timestamp=at))
    day = analytics.format_date(analytics.day_of(at))
    d = s.dashboard({"date_from": day, "date_to": day})
    assert (d["total_events"], d["events_by_type"]["click"], d["unique_sessions"]) == (1, 1, 1)
    d = s.dashboard({})
    assert d["total_events"] == 2 and d["top_pages"] == [{"page_url": "/p", "views": 1}]
    assert d["recent_events"][1]["properties"] == {"a": [1, {"c": 3, "d": 2}], "b": 1}


def test_dashboard_ranges(s: Service) -> None:
    e = failure(lambda: s.dashboard({"date_from": "2024-13-01"}))
    assert (e.status, e.code) == (400, "invalid_query")
    e = failure(lambda: s.dashboard({"date_from": "2024-06-01", "date_to": "2024-05-01"}))
    assert (e.status, [d.field for d in e.details]) == (422, ["date_to"])
    d = s.dashboard({"date_from": "2024-06-01", "date_to": "2024-06-01"})
    assert (d["date_from"], d["date_to"], d["active_days"]) == ("2024-06-01", "2024-06-01", 0)


def test_health_names_the_stores_and_the_gate(s: Service) -> None:
    h = s.health()
    assert (h["status"], h["category"], h["products"], h["posts"]) == (
        "ok", "real_world_scenarios", seed.PRODUCTS, seed.POSTS)
    assert h["password_hash"] == {"algorithm": "argon2id", "cost": CHEAP.as_json()}
    assert h["hashing_load"] == 0 and isinstance(h["uptime_seconds"], int)
    assert list(h) == sorted(h)


def test_the_reference_default_for_the_user_header() -> None:
    assert Options().user_id_header is UserIdHeader.LOOPBACK
    any_client = Service(Config(hash_cost=CHEAP), Options(user_id_header=UserIdHeader.ANY))
    remote = Caller(user_id="7", client="192.0.2.7")
    assert failure(lambda: any_client.order("1", remote)).status == 404
    assert failure(lambda: service().order("1", remote)).status == 401
