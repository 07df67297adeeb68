"""The basic category in Catzilla: plain text, JSON, path and query
parameters, echo, validation with Catzilla's own models, chunked streams."""

from __future__ import annotations

from typing import Dict, List, Optional

from catzilla import BaseModel, Field

from bench_shared import basic, errors, http
from bench_shared.errors import FieldError

from .common import (
    json_response,
    new_app,
    parse_json,
    query,
    routes,
    stream_response,
    text_response,
    validate,
)

MAX_BODY_BYTES = 1 << 20
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class BenchmarkUser(BaseModel):
    id: int = Field(ge=1, le=1_000_000_000)
    name: str = Field(min_length=1, max_length=100)
    email: str = Field(regex=EMAIL)
    age: Optional[int] = Field(None, ge=0, le=150)
    is_active: bool = True
    tags: Optional[List[str]] = Field(None, max_items=20)
    metadata: Optional[Dict[str, str]] = None


class BenchmarkProduct(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    price: float = Field(gt=0, le=1_000_000)
    category: str = Field(min_length=1, max_length=50)
    description: Optional[str] = Field(None, max_length=1000)
    in_stock: bool = True
    variants: Optional[List[str]] = Field(None, max_items=20)


def _words(data: dict, field: str, out: list[FieldError]) -> None:
    """Catzilla does not check list items or maps: 1–50-character strings."""
    words = data.get(field)
    if words is None:
        return
    for index, word in enumerate(words):
        if not isinstance(word, str) or not 1 <= len(word) <= 50:
            out.append(FieldError(field, "item_length",
                                  f"item {index} must have 1 to 50 characters"))
            return


def _metadata(data: dict, out: list[FieldError]) -> None:
    meta = data.get("metadata")
    if meta is None:
        return
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        out.append(FieldError("metadata", "invalid_type", "must map strings to strings"))
    elif len(meta) > 20:
        out.append(FieldError("metadata", "length", "must have at most 20 entries"))


def _checked(model, data, extra) -> dict:
    """Catzilla's validation plus the checks it cannot express, all failures
    reported together."""
    found: list[FieldError] = []
    try:
        cleaned = validate(model, data)
    except errors.ApiError as e:
        if e.status != 422 or not isinstance(data, dict):
            raise
        found, cleaned = list(e.details), None
    if isinstance(data, dict):
        extra(data, found)
    errors.check(found)
    return cleaned


def create_app():
    app = new_app()
    uptime = http.Uptime()

    def hello(_request):
        return text_response("Hello, World!", "text/plain; charset=utf-8")

    def health(_request):
        return json_response({"status": "ok", "category": "basic",
                              "uptime_seconds": uptime.seconds()})

    def message(_request):
        return json_response({"message": "Hello, World!"})

    def user(request):
        uid = basic.known_user(http.path_uint("id", request.path_params["id"]))
        return json_response(basic.user_record(uid))

    def users(request):
        limit, offset = basic.page_params(query(request))
        return text_response(basic.users_page_json(limit, offset), "application/json")

    def profile(request):
        uid = basic.known_user(http.path_uint("id", request.path_params["id"]))
        return json_response(basic.profile(uid))

    def echo(request):
        value, size = parse_json(request, MAX_BODY_BYTES)
        return json_response({"echo": value, "received_bytes": size})

    def validate_user(request):
        data, _ = parse_json(request, MAX_BODY_BYTES)
        user = _checked(BenchmarkUser, data,
                        lambda d, out: (_words(d, "tags", out), _metadata(d, out)))
        return json_response({"valid": True, "user": user})

    def validate_product(request):
        data, _ = parse_json(request, MAX_BODY_BYTES)
        product = _checked(BenchmarkProduct, data, lambda d, out: _words(d, "variants", out))
        return json_response({"valid": True, "product": product})

    def search(request):
        return json_response({"valid": True, "params": basic.search_params(query(request))})

    def stream_json(request):
        count = basic.stream_count(query(request))
        return stream_response(basic.json_stream_chunks(count), "application/json")

    def stream_csv(request):
        count = basic.stream_count(query(request))
        return stream_response(basic.csv_chunks(count), "text/csv; charset=utf-8")

    routes(app, "/", GET=hello)
    routes(app, "/health", GET=health)
    routes(app, "/json", GET=message)
    routes(app, "/user/{id}", GET=user)
    routes(app, "/users", GET=users)
    routes(app, "/user/{id}/profile", GET=profile)
    routes(app, "/echo", POST=echo)
    routes(app, "/validate/user", POST=validate_user)
    routes(app, "/validate/product", POST=validate_product)
    routes(app, "/search/validate", GET=search)
    routes(app, "/stream/json", GET=stream_json)
    routes(app, "/stream/csv", GET=stream_csv)
    return app
