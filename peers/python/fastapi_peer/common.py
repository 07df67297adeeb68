"""What every FastAPI app of the peer shares: the contract's error form for
every failure (ours, Starlette's 404/405, pydantic's), and the JSON body
dependency that reads a size-limited body and validates it with a model."""

from __future__ import annotations

import inspect
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Callable, Coroutine, Sequence, TypeVar

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware import Middleware
from starlette.routing import Match

from bench_shared import errors, http
from bench_shared.errors import ApiError, FieldError

M = TypeVar("M", bound=BaseModel)

# pydantic error types → the contract's field codes.
_CODES = {
    "missing": "required",
    "string_too_short": "length",
    "string_too_long": "length",
    "too_short": "length",
    "too_long": "length",
    "greater_than": "range",
    "greater_than_equal": "range",
    "less_than": "range",
    "less_than_equal": "range",
    "string_pattern_mismatch": "pattern",
    "literal_error": "one_of",
    "enum": "one_of",
    "extra_forbidden": "unknown_field",
    "decimal_max_places": "decimal_places",
    "decimal_max_digits": "range",
    "value_error": "invalid",
}


def field_path(loc: tuple[Any, ...]) -> str:
    """`("items", 2, "quantity")` → `items[2].quantity`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def from_pydantic(e: ValidationError) -> ApiError:
    """400 for unparseable JSON, else 422 naming every failing field."""
    found = e.errors(include_url=False, include_input=False)
    for err in found:
        if err["type"] == "json_invalid":
            return errors.malformed_json(f"malformed JSON: {err['msg']}")
    details = []
    for err in found:
        kind = err["type"]
        code = _CODES.get(kind, "invalid_type" if kind.endswith(("_type", "_parsing")) else kind)
        details.append(FieldError(field_path(err["loc"]), code, err["msg"]))
    return errors.validation(details)


def error_response(e: ApiError) -> JSONResponse:
    return JSONResponse(e.body(), status_code=e.status, headers=e.headers)


async def _api_error(_request: Request, e: ApiError) -> JSONResponse:
    return error_response(e)


def _allowed(request: Request) -> list[str]:
    """Every method some route takes at this path (Starlette's own 405
    names only the first matching route's)."""
    allowed: list[str] = []
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            allowed.extend(m for m in sorted(getattr(route, "methods", ()) or ())
                           if m not in allowed)
    return allowed


async def _http_error(request: Request, e: StarletteHTTPException) -> JSONResponse:
    if e.status_code == 405:
        allow = _allowed(request) or [(e.headers or {}).get("Allow", "")]
        return error_response(errors.method_not_allowed(allow))
    if e.status_code == 404:
        return error_response(errors.not_found("no such route"))
    return error_response(ApiError(e.status_code, "http_error", str(e.detail)))


async def _validation_error(_request: Request, e: ValidationError) -> JSONResponse:
    return error_response(from_pydantic(e))


async def _unexpected(_request: Request, e: Exception) -> JSONResponse:
    """A fault of ours (file system, encoder) as the contract's JSON 500."""
    return error_response(errors.fault(e))


async def _call(hook: Callable[[], Any]) -> None:
    """A lifespan hook: awaited when it is a coroutine function, else run on
    a worker thread."""
    if inspect.iscoroutinefunction(hook):
        await hook()
    else:
        await run_in_threadpool(hook)


def new_app(
    category: str,
    on_start: Callable[[], None] | None = None,
    on_stop: Callable[[], Any] | None = None,
    middleware: Sequence[Middleware] = (),
) -> FastAPI:
    """An app answering every error in the contract's form (405 with every
    method of the path in `Allow`, a JSON 500 for our own faults), with no
    docs routes and no slash redirects (`/x/` is not `/x`). `on_start` and
    `on_stop` run when the server starts and stops: on a worker thread, or
    awaited on the loop when they are coroutine functions. `middleware`,
    outermost first, wraps the app inside Starlette's error layer."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if on_start:
            await _call(on_start)
        try:
            yield
        finally:
            if on_stop:
                await _call(on_stop)

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan,
                  middleware=list(middleware))
    app.router.redirect_slashes = False
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
    return app


def query(request: Request) -> dict[str, str]:
    """The query parameters, the first value of each (Starlette's mapping
    keeps the last)."""
    return http.first_values(request.query_params.multi_items())


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body; 413 past `limit` (declared or read), after draining
    what the client is still sending (`http.read_limited_async`)."""
    return await http.read_limited_async(request.stream(), request.headers.get("content-length"),
                                         limit)


def bodiless(request: Request) -> bool:
    """Whether the request has no body at all (`http.is_bodiless`)."""
    return http.bodiless(request.headers.get)


async def read_json_bytes(request: Request, limit: int) -> bytes:
    """The body of a JSON request: 415 unless declared JSON, 413 past `limit`."""
    h = request.headers
    return await http.read_json_async(h.get("content-type"), request.stream(),
                                      h.get("content-length"), limit)


def client_address(request: Request) -> str | None:
    """The client's IP address as the server saw the connection (None when
    unknown)."""
    return request.client.host if request.client else None


def json_body(
    model: type[M], limit: int
) -> Callable[[Request], Coroutine[Any, Any, M]]:
    """A dependency giving the request body validated as `model`:
    415 not JSON, 413 too large, 400 unparseable, 422 with every failing field."""

    async def dependency(request: Request) -> M:
        raw = await read_json_bytes(request, limit)
        try:
            return model.model_validate_json(raw)
        except ValidationError as e:
            raise from_pydantic(e) from None

    return dependency
