"""The validation category's contract cases (shared-endpoints/validation.json:
endpoints, fixtures and negative cases) run through the Python validation
code as the peers run it — bodies read by `bench_shared.validation.jsontext`
(exact decimals), models in the framework's library (pydantic for FastAPI,
marshmallow for Flask) calling the rules of `bench_shared.validation`,
batches and the mega batch summed exactly — checking the status class, the
failing field paths and the exact decimal answers the contract gives.

What belongs to the HTTP layer (415, 413, 404, 405) is skipped."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

import pytest

from bench_shared.errors import ApiError
from bench_shared.validation import INVALID_USER, batch, decimals, envelope, jsontext, orders

ROOT = Path(__file__).resolve().parents[3] / "shared-endpoints"
CONTRACT = json.loads((ROOT / "validation.json").read_text())
ENDPOINTS = {
    "/validate/simple-user": "simple_user",
    "/validate/advanced-user": "advanced_user",
    "/validate/complex-user": "complex_user",
    "/validate/product": "product",
    "/validate/error-handling": "error_handling",
    "/validate/batch-users": "batch_users",
    "/validate/batch-products": "batch_products",
    "/validate/batch-orders": "batch_orders",
    "/validate/mega-batch": "mega_batch",
}
KEYS = {"simple_user": "user", "advanced_user": "user", "complex_user": "user",
        "product": "product", "error_handling": "user"}


class Framework:
    """One peer's validation: `single(endpoint, value)` gives the answer's
    model as JSON, `items(endpoint, items)` each batch item's result (a
    validated item or an `ItemFailure`), `total(order)` a validated order's
    total, `mega(value)` the envelope's parts."""

    single: Callable[[str, Any], Any]
    items: Callable[[str, list], list]
    total: Callable[[Any], Any]
    mega: Callable[[Any], tuple]


def fastapi() -> Framework:
    from fastapi_peer import validation as v

    models = {"simple_user": v.SimpleUser, "advanced_user": v.AdvancedUser,
              "complex_user": v.ComplexUser, "product": v.Product,
              "error_handling": v.AdvancedUser}
    adapters = {"batch_users": v.USERS, "batch_products": v.PRODUCTS, "batch_orders": v.ORDERS}
    f = Framework()
    f.single = lambda endpoint, value: json.loads(
        v._validate(models[endpoint], value).model_dump_json())
    f.items = lambda endpoint, items: adapters[endpoint].validate_python(items)
    f.total = lambda order: order.total_amount

    def mega(value: Any) -> tuple:
        m = v._validate(v.MegaBatch, value)
        return (m.batch_id, m.timestamp, len(m.users),
                [(p.price, p.stock_quantity) for p in m.products],
                [o.total_amount for o in m.orders])

    f.mega = mega
    return f


def flask() -> Framework:
    from flask_peer import validation as v

    loaders = {"batch_users": v.USERS, "batch_products": v.PRODUCTS, "batch_orders": v.ORDERS}
    f = Framework()
    f.single = lambda endpoint, value: json.loads(
        json.dumps(v._written(v._load(v.SCHEMAS[endpoint], value))))
    f.items = lambda endpoint, items: [loaders[endpoint](item) for item in items]
    f.total = lambda order: order["total_amount"]

    def mega(value: Any) -> tuple:
        m = v._load(v.MEGA, value)
        return (m["batch_id"], m["timestamp"], len(m["users"]),
                [(p["price"], p["stock_quantity"]) for p in m["products"]],
                [o["total_amount"] for o in m["orders"]])

    f.mega = mega
    return f


FRAMEWORKS = {"fastapi": fastapi, "flask": flask}


def answer(f: Framework, endpoint: str, raw: bytes) -> dict:
    """The endpoint's JSON answer to `raw`, or raises `ApiError` (400, 422)."""
    value = jsontext.parse(raw)
    if endpoint in KEYS:
        return {"valid": True, KEYS[endpoint]: f.single(endpoint, value)}
    if endpoint == "mega_batch":
        return envelope.summary(*f.mega(value))
    results = f.items(endpoint, batch.items(value, batch.ENVELOPES[endpoint]))
    report = batch.report(results)
    body = report.body()
    if endpoint == "batch_orders":
        body["total_amount"] = decimals.text(orders.sum_of(
            (f.total(o) for o in report.valid_items), "batch total"))
    return body


def randomized(request: dict) -> dict:
    """The request's JSON with each randomized value at its smallest (a
    word or string of `min` letters, an integer of `min`); other kinds keep
    the value sent."""
    body = json.loads(json.dumps(request["json"]))
    for path, rule in request.get("randomize", {}).items():
        *parents, name = path.split(".")[1:]
        target = body
        for parent in parents:
            target = target[parent]
        if rule["kind"] in ("word", "string"):
            target[name] = "a" * rule["min"]
        elif rule["kind"] == "integer":
            target[name] = rule["min"]
    return body


def raw_of(case: dict) -> bytes | None:
    """The case's body; None for what only the HTTP layer judges."""
    request = case.get("request", {})
    if case["method"] != "POST" or "generated_body" in request:
        return None
    if "json" in request:
        return json.dumps(randomized(request)).encode()
    if "fixture" in request:
        return (ROOT / "fixtures" / request["fixture"]).read_bytes()
    if "body" in request:
        if not request.get("content_type", "").startswith("application/json"):
            return None
        return request["body"].encode()
    # A request with no body at all: only error-handling documents a default.
    return INVALID_USER if case["path"] == "/validate/error-handling" else b""


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def at(doc: Any, path: str) -> Any:
    for name, index in _STEP.findall(path):
        doc = doc[int(index)] if index else doc[name]
    return doc


def check_json(got: dict, expected: dict, request: dict) -> None:
    """The contract's matchers that a body can be held to without a server."""
    for path, want in expected.items():
        value = at(got, path)
        if want == "null":
            assert value is None, path
        elif want == "integer":
            assert isinstance(value, int), path
        elif "equals" in want:
            assert value == want["equals"], path
        elif "len" in want:
            assert len(value) == want["len"], path
        elif "from_request" in want:
            sent = at({"json": randomized(request)}, want["from_request"])
            if isinstance(sent, dict):
                assert {k: value[k] for k in sent} == sent, path
            else:
                assert value == sent, path


def names_field(named: str, want: str) -> bool:
    return named == want or named.startswith((want + "[", want + "."))


def cases(kind: str) -> list:
    """The contract's cases a body's validation decides (405, 413 and 415
    are the HTTP layer's, checked against the servers by the runner)."""
    return [pytest.param(name, case, id=f"{name}-{case['name']}")
            for name in FRAMEWORKS for case in CONTRACT[kind]
            if case["path"] in ENDPOINTS and raw_of(case) is not None]


@pytest.fixture(scope="module")
def frameworks() -> dict[str, Framework]:
    return {name: make() for name, make in FRAMEWORKS.items()}


@pytest.mark.parametrize("framework, case", cases("endpoints"))
def test_the_contracts_endpoints(frameworks, framework: str, case: dict) -> None:
    request, expect = case.get("request", {}), case["expect"]
    endpoint = ENDPOINTS[case["path"]]
    raw = raw_of(case)
    if expect["status"] >= 400:
        with pytest.raises(ApiError) as e:
            answer(frameworks[framework], endpoint, raw)
        assert e.value.status == expect["status"]
        named = [d.field for d in e.value.details]
        for want in expect.get("detail_fields", []):
            assert any(names_field(n, want) for n in named), (want, named)
        check_json(e.value.body(), expect.get("json", {}), request)
        return
    check_json(answer(frameworks[framework], endpoint, raw), expect.get("json", {}), request)


@pytest.mark.parametrize("framework, case", cases("negative_cases"))
def test_the_contracts_negative_cases(frameworks, framework: str, case: dict) -> None:
    raw = raw_of(case)
    expect = case["expect"]
    with pytest.raises(ApiError) as e:
        answer(frameworks[framework], ENDPOINTS[case["path"]], raw)
    assert e.value.status // 100 == expect["status"] // 100
    assert e.value.status == expect["status"]
    if "error" in expect:
        assert e.value.code == expect["error"]
    named = [d.field for d in e.value.details]
    for want in expect.get("detail_fields", []):
        assert any(names_field(n, want) for n in named), (want, named)
    check_json(e.value.body(), expect.get("json", {}), {})


@pytest.mark.parametrize("text, kept", [
    ("29.99", "29.99"), ("29.90", "29.90"), ("0.10", "0.10"), ("1e2", "100"),
    ("1.5E-3", "0.0015"), (" 7 ", "7"), ("1_000.5", "1000.5"), ("45.480", "45.480"),
])
def test_decimal_texts_keep_their_scale(text: str, kept: str) -> None:
    assert decimals.text(decimals.from_text(text)) == kept


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "--1", "1e29", "1e-29",
                                  "79228162514264337593543950336"])
def test_texts_that_are_no_decimal_are_refused(text: str) -> None:
    with pytest.raises(ValueError) as e:
        decimals.from_text(text)
    assert getattr(e.value, "code", None) == "decimal"


def test_exact_totals_of_the_contracts_orders() -> None:
    """The batch of orders' total from its lines (a given total kept as
    written when it equals its lines), exactly the amount the contract states."""
    totals = []
    for o in json.loads((ROOT / "fixtures" / "orders_50.json").read_bytes()):
        given = o.get("total_amount")
        lines = [(i["quantity"], decimals.from_text(i["unit_price"])) for i in o["items"]]
        totals.append(orders.checked_total(
            lines, None if given is None else decimals.from_text(given)))
    assert decimals.text(orders.sum_of(totals, "batch total")) == "34594.16"
    with pytest.raises(ValueError) as e:
        orders.checked_total([(2, decimals.from_text("1.10"))], decimals.from_text("2.21"))
    assert e.value.code == "total_mismatch"
