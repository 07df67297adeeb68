"""The basic category in Flask: plain text, JSON, path and query
parameters, echo, marshmallow validation and chunked streams (generators)."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response
from marshmallow import EXCLUDE, Schema, fields, validate

from bench_shared import basic, http

from .common import (
    JSON,
    StrictBoolean,
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

MAX_BODY_BYTES = 1 << 20
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z"


def _short_words(words: Any) -> None:
    for index, word in enumerate(words or ()):
        if not 1 <= len(word) <= 50:
            raise fail("invalid", f"item {index} must have 1 to 50 characters")


class BenchmarkUser(Schema):
    class Meta:
        unknown = EXCLUDE

    id = StrictInteger(required=True, validate=validate.Range(1, 1_000_000_000))
    name = StrictString(required=True, validate=validate.Length(1, 100))
    email = StrictString(required=True, validate=validate.Regexp(EMAIL))
    age = StrictInteger(load_default=None, allow_none=True, validate=validate.Range(0, 150))
    is_active = StrictBoolean(load_default=True)
    tags = fields.List(StrictString(), load_default=None, allow_none=True,
                       validate=[validate.Length(max=20), _short_words])
    metadata = fields.Dict(keys=StrictString(), values=StrictString(), load_default=None,
                           allow_none=True, validate=validate.Length(max=20))


class BenchmarkProduct(Schema):
    class Meta:
        unknown = EXCLUDE

    name = StrictString(required=True, validate=validate.Length(1, 200))
    price = StrictFloat(required=True, allow_nan=False,
                        validate=validate.Range(0, 1_000_000, min_inclusive=False))
    category = StrictString(required=True, validate=validate.Length(1, 50))
    description = StrictString(load_default=None, allow_none=True,
                               validate=validate.Length(max=1000))
    in_stock = StrictBoolean(load_default=True)
    variants = fields.List(StrictString(), load_default=None, allow_none=True,
                           validate=[validate.Length(max=20), _short_words])


USER = BenchmarkUser()
PRODUCT = BenchmarkProduct()


def _body(schema: Schema) -> dict:
    """The JSON body loaded by `schema`: 415, 413, 400, 422 as the contract says."""
    data = http.parse_json(read_json_bytes(MAX_BODY_BYTES))
    return load(schema, data)


def create_app() -> Flask:
    app = new_app(__name__)
    uptime = http.Uptime()

    @route(app, "/", ["GET"])
    def hello() -> Response:
        return Response("Hello, World!", mimetype="text/plain")

    @route(app, "/health", ["GET"])
    def health() -> Response:
        return json_response({"status": "ok", "category": "basic",
                              "uptime_seconds": uptime.seconds()})

    @route(app, "/json", ["GET"])
    def message() -> Response:
        return json_response({"message": "Hello, World!"})

    @route(app, "/user/<user_id>", ["GET"])
    def user(user_id: str) -> Response:
        uid = basic.known_user(http.path_uint("id", user_id))
        return json_response(basic.user_record(uid))

    @route(app, "/users", ["GET"])
    def users() -> Response:
        limit, offset = basic.page_params(query())
        return Response(basic.users_page_json(limit, offset), mimetype=JSON)

    @route(app, "/user/<user_id>/profile", ["GET"])
    def user_profile(user_id: str) -> Response:
        uid = basic.known_user(http.path_uint("id", user_id))
        return json_response(basic.profile(uid))

    @route(app, "/echo", ["POST"])
    def echo() -> Response:
        body = read_json_bytes(MAX_BODY_BYTES)
        return json_response({"echo": http.parse_json(body), "received_bytes": len(body)})

    @route(app, "/validate/user", ["POST"])
    def validate_user() -> Response:
        return json_response({"valid": True, "user": _body(USER)})

    @route(app, "/validate/product", ["POST"])
    def validate_product() -> Response:
        return json_response({"valid": True, "product": _body(PRODUCT)})

    @route(app, "/search/validate", ["GET"])
    def search() -> Response:
        return json_response({"valid": True, "params": basic.search_params(query())})

    @route(app, "/stream/json", ["GET"])
    def stream_json() -> Response:
        count = basic.stream_count(query())
        return Response(basic.json_stream_chunks(count), mimetype="application/json")

    @route(app, "/stream/csv", ["GET"])
    def stream_csv() -> Response:
        count = basic.stream_count(query())
        return Response(basic.csv_chunks(count), content_type="text/csv; charset=utf-8")

    return app
