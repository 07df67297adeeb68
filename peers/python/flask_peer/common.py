"""What every Flask app of the peer shares: the contract's error form for
every failure (our `ApiError`, Werkzeug's 404/405/…, a fault of ours as a
JSON 500), request bodies read from `request.stream` with a size limit,
marshmallow's error dictionaries turned into the contract's field errors
with paths, and a few strict marshmallow fields (JSON types exactly, as the
reference's serde models: no `"5"` for an integer, no `1` for a boolean)."""

from __future__ import annotations

import numbers
from decimal import Decimal
from typing import Any, Callable, Mapping

from flask import Flask, Response, request
from marshmallow import Schema, ValidationError, fields
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from bench_shared import errors, http
from bench_shared.errors import ApiError, FieldError

JSON = "application/json"


# ------------------------------------------------------------------ responses

def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """`data` as JSON through the app's JSON provider (compact, keys in
    insertion order, `Decimal` written as its text)."""
    from flask import current_app

    body = current_app.json.dumps(data, separators=(",", ":"))
    return Response(body, status=status, headers=dict(headers or {}), mimetype=JSON)


def error_response(e: ApiError) -> Response:
    return json_response(e.body(), e.status, e.headers)


def _api_error(e: ApiError) -> Response:
    return error_response(e)


def _allowed(e: MethodNotAllowed) -> list[str]:
    """The methods of the path (Werkzeug's list), without the OPTIONS Flask
    would answer by itself (turned off) and in a stable order."""
    methods = [m for m in (e.valid_methods or []) if m != "OPTIONS"]
    order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
    return sorted(set(methods), key=lambda m: (order.index(m) if m in order else 99, m))


def _http_error(e: HTTPException) -> Response:
    if isinstance(e, MethodNotAllowed):
        return error_response(errors.method_not_allowed(_allowed(e)))
    if e.code == 404:
        return error_response(errors.not_found("no such route"))
    if e.code == 413:
        return error_response(errors.payload_too_large(request.max_content_length or 0))
    if e.code == 400:
        return error_response(errors.bad_request("bad_request", e.description or "bad request"))
    return error_response(ApiError(e.code or 500, "http_error", e.description or e.name))


def _unexpected(e: Exception) -> Response:
    """A fault of ours (file system, encoder) as the contract's JSON 500."""
    if isinstance(e, HTTPException):
        return _http_error(e)
    return error_response(errors.fault(e))


def new_app(name: str) -> Flask:
    """A Flask app answering every error in the contract's form, no
    automatic OPTIONS routes, JSON compact and in insertion order."""
    app = Flask(name)
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.json.sort_keys = False
    app.json.compact = True
    app.json.ensure_ascii = False
    app.url_map.strict_slashes = False
    app.url_map.merge_slashes = False
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    return app


# -------------------------------------------------------------------- request

def query() -> dict[str, str]:
    """The query parameters, the first value of each."""
    return http.first_values(request.args.items(multi=True))


def read_body(limit: int) -> bytes:
    """The whole body, read from `request.stream`; 413 past `limit`
    (declared or read), after draining what the client is still sending."""
    chunks = http.chunks_of(request.stream.read)
    return http.read_limited(chunks, request.headers.get("Content-Length"), limit)


def bodiless() -> bool:
    """Whether the request has no body at all (`http.is_bodiless`)."""
    return http.bodiless(request.headers.get)


def read_json_bytes(limit: int) -> bytes:
    """The body of a JSON request: 415 unless declared JSON, 413 past `limit`."""
    h = request.headers
    return http.read_json(h.get("Content-Type"), http.chunks_of(request.stream.read),
                          h.get("Content-Length"), limit)


def client_address() -> str | None:
    """The client's IP address as the server saw the connection (WSGI's
    `REMOTE_ADDR`; None when unknown)."""
    return request.remote_addr


# ---------------------------------------------------------- marshmallow glue

class Coded(str):
    """A failure message that carries its contract code (for rules of our
    own raised from validators)."""

    code: str

    def __new__(cls, code: str, message: str) -> "Coded":
        s = super().__new__(cls, message)
        s.code = code
        return s


def fail(code: str, message: str) -> ValidationError:
    return ValidationError(Coded(code, message))


def classify(message: str, type_code: str = "invalid_type", null_code: str | None = None) -> str:
    """marshmallow's default messages → the contract's codes."""
    code = getattr(message, "code", None)
    if code:
        return code
    m = str(message)
    if m.startswith("Missing data for required field"):
        return "required"
    if m.startswith("Field may not be null"):
        return null_code or type_code
    if m.startswith("Unknown field"):
        return "unknown_field"
    if m.startswith(("Shorter than", "Longer than", "Length must be")):
        return "length"
    if m.startswith(("Must be greater", "Must be less", "Must be at least", "Must be at most")):
        return "range"
    if m.startswith("String does not match"):
        return "pattern"
    if m.startswith(("Must be one of", "Must be equal to")):
        return "one_of"
    if m.startswith(("Not a valid", "Invalid input type", "Invalid type")):
        return type_code
    return "invalid"


def flatten(messages: Any, prefix: str = "", type_code: str = "invalid_type",
            null_code: str | None = None) -> list[FieldError]:
    """marshmallow's nested error dict (`{"items": {2: {"quantity": [...]}}}`)
    as field errors with paths (`items[2].quantity`), every failure kept.
    A `Dict` field's `{"key": {"value": [...]}}` levels collapse to the key."""
    out: list[FieldError] = []
    _walk(messages, prefix, out, (type_code, null_code))
    return out


def _join(prefix: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    if key == "_schema":
        return prefix
    return f"{prefix}.{key}" if prefix else str(key)


def _walk(node: Any, path: str, out: list[FieldError], type_code: tuple) -> None:
    if isinstance(node, dict):
        if set(node) == {"value"} and isinstance(node["value"], (list, dict)):
            _walk(node["value"], path, out, type_code)
            return
        for key, sub in node.items():
            if (isinstance(sub, dict) and sub and set(sub) <= {"key", "value"}
                    and not isinstance(key, int) and key != "_schema" and _is_map_entry(sub)):
                inner = _join(path, key)
                if "key" in sub:
                    _walk(sub["key"], inner, out, type_code)
                if "value" in sub:
                    _walk(sub["value"], inner, out, type_code)
                continue
            _walk(sub, _join(path, key), out, type_code)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, (dict, list)):
                _walk(item, path, out, type_code)
            else:
                out.append(FieldError(path, classify(item, *type_code), str(item)))
    else:
        out.append(FieldError(path, classify(node, *type_code), str(node)))


def _is_map_entry(sub: dict) -> bool:
    return all(isinstance(v, list) for v in sub.values())


def load(schema: Schema, data: Any, type_code: str = "invalid_type",
         null_code: str | None = None) -> Any:
    """`data` loaded by `schema`, or a 422 naming every failing field."""
    try:
        return schema.load(data)
    except ValidationError as e:
        raise errors.validation(flatten(e.messages, "", type_code, null_code)) from None


# Strict JSON types.

class StrictInteger(fields.Integer):
    """An integer as JSON writes one (not a boolean, a float or a string)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictFloat(fields.Float):
    """A JSON number (not a boolean or a string)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictBoolean(fields.Boolean):
    """`true` or `false` only."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class StrictString(fields.String):
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        return value


def route(app: Flask, path: str, methods: list[str]) -> Callable:
    """`app.route` with an endpoint name made from the path and methods."""
    def register(view: Callable) -> Callable:
        app.add_url_rule(path, endpoint=f"{view.__name__}:{path}:{','.join(methods)}",
                         view_func=view, methods=methods)
        return view
    return register


def worker_address() -> tuple[str, int] | None:
    """The local address of this request's connection (gunicorn hands the
    socket over in the environ), else the server name and port."""
    from flask import request as req

    sock = req.environ.get("gunicorn.socket")
    if sock is not None:
        try:
            host, port = sock.getsockname()[:2]
            return str(host), int(port)
        except (OSError, ValueError, TypeError):
            pass
    try:
        return req.environ["SERVER_NAME"], int(req.environ["SERVER_PORT"])
    except (KeyError, ValueError):
        return None
