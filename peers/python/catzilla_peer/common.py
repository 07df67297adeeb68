"""What every Catzilla app of the peer shares: production settings with the
console quiet, `Date` and `Server` on every response the app builds, the
contract's error form for every failure (our `ApiError`, unknown routes,
wrong methods with `Allow`), JSON bodies read with a size limit, and a clean
exit on SIGTERM/SIGINT.

Catzilla 0.2.3 wraps an exception raised in a synchronous handler in its
`ExecutionError`; the internal-error handler unwraps it, so handlers simply
raise `ApiError`."""

from __future__ import annotations

import email.utils
import ipaddress
import os
import re
import signal
import sys
import threading
import time
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl

from bench_shared import errors, http
from bench_shared.errors import ApiError, FieldError

SERVER = "catzilla"
_STOP = {signal.SIGTERM, signal.SIGINT}
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")


def block_stop_signals() -> None:
    """Blocks SIGTERM/SIGINT in this thread and every thread started later
    (Catzilla's among them); `run` waits for them in a thread of its own."""
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP)


class _Date:
    """The `Date` header value, formatted once a second."""

    def __init__(self) -> None:
        self.second = 0
        self.value = ""

    def now(self) -> str:
        t = int(time.time())
        if t != self.second:
            self.second, self.value = t, email.utils.formatdate(t, usegmt=True)
        return self.value


_date = _Date()


def headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    """`Date` and `Server`, plus `extra`."""
    h = {"Date": _date.now(), "Server": SERVER}
    if extra:
        h.update(extra)
    return h


def json_response(data: Any, status: int = 200, extra: dict[str, str] | None = None):
    from catzilla import JSONResponse

    return JSONResponse(data, status_code=status, headers=headers(extra))


def text_response(body: str, content_type: str, status: int = 200):
    from catzilla import Response

    return Response(body=body, content_type=content_type, status_code=status, headers=headers())


def stream_response(chunks: Iterable[str | bytes], content_type: str, status: int = 200,
                    extra: dict[str, str] | None = None):
    from catzilla.streaming import StreamingResponse

    return StreamingResponse(chunks, content_type=content_type, status_code=status,
                             headers=headers(extra))


def error_response(e: ApiError):
    return json_response(e.body(), e.status, e.headers)


def _unwrap(exc: BaseException) -> BaseException:
    seen = 0
    while exc.__cause__ is not None and seen < 8:
        exc, seen = exc.__cause__, seen + 1
    return exc


def _internal_error(_request, exc: BaseException):
    cause = _unwrap(exc)
    if isinstance(cause, ApiError):
        return error_response(cause)
    return error_response(errors.fault(cause))


def new_app(di: bool = False):
    """A Catzilla app in production mode, quiet, with JSON 404s and errors;
    `di`: with Catzilla's dependency injection (`Depends` parameters)."""
    import catzilla.app as catzilla_app
    from catzilla import Catzilla

    catzilla_app._safe_print = lambda *a, **k: None  # its start-up lines
    app = Catzilla(production=True, show_banner=False, log_requests=False, enable_di=di,
                   auto_validation=False)
    app.logger = None
    app.set_not_found_handler(lambda _req: error_response(errors.not_found("no such route")))
    app.set_internal_error_handler(_internal_error)
    return app


def routes(app, path: str, **handlers: Callable) -> None:
    """Registers `handlers` by method on `path` (`routes(app, "/x", GET=f)`)
    and a JSON 405 with `Allow` for the other methods (Catzilla's own 405
    has no `Allow`)."""
    allowed = sorted(handlers)
    allow = ", ".join(allowed + (["HEAD"] if "GET" in handlers else []))
    for method, handler in handlers.items():
        app.route(path, methods=[method])(handler)
    others = [m for m in METHODS if m not in handlers]
    if others:
        def not_allowed(_request, **_params):
            return error_response(errors.method_not_allowed(allow))

        app.route(path, methods=others)(not_allowed)


def path_only(request) -> str:
    return request.path.split("?", 1)[0]


def query(request) -> dict[str, str]:
    """The query parameters, the first value of each (Catzilla's own mapping
    keeps the last and drops names without `=`)."""
    _, _, raw = request.path.partition("?")
    return http.first_values(parse_qsl(raw, keep_blank_values=True))


def read_text(request, limit: int) -> str:
    """The body as Catzilla gives it (text); 413 past `limit` bytes. Catzilla
    has buffered the whole body by the time a handler runs."""
    body = request.body or ""
    if len(body) > limit // 4 and len(body.encode("utf-8")) > limit:
        raise errors.payload_too_large(limit)
    return body


def bodiless(request) -> bool:
    """Whether the request has no body at all (`http.is_bodiless`)."""
    return http.bodiless(request.get_header)


def client_address(app) -> str | None:
    """The client's IP address, as far as Catzilla 0.2.3 lets it be known:
    its requests do not carry the connection's peer (`Request.client_ip`
    reads `X-Forwarded-For` and `X-Real-IP`, which any client may send), but
    a server listening on a loopback address has only loopback clients, so
    that address stands for theirs (`run` notes it); None otherwise."""
    return getattr(app, "loopback_client", None)


def read_json_text(request, limit: int) -> str:
    """The body of a JSON request: 415 unless declared JSON, 413 past `limit`."""
    http.require_json(request.get_header("Content-Type"))
    return read_text(request, limit)


def parse_json(request, limit: int) -> tuple[Any, int]:
    """The JSON value of the body and its size in bytes (400 when malformed)."""
    text = read_json_text(request, limit)
    raw = text.encode("utf-8")
    return http.parse_json(raw), len(raw)


_REQUIRED = re.compile(r"Field '([^']*)' is required")
_NESTED = "Failed to validate nested model "
_ITEM = "Failed to validate list item "


def model_errors(model, message: str) -> list[FieldError]:
    """Catzilla's validation message for `model` turned into field errors
    with paths.

    Catzilla 0.2.3 reports one string: `name: ...; Field 'email' is
    required`, nested models as `address: Failed to validate nested model
    Address: city: ...; zip: ...` and list items as `items: Failed to
    validate list item 2 as Item: quantity: ...` (only the first bad item).
    Fields are reported in declaration order, which tells a nested model's
    errors from the ones of the fields after it."""
    parts = [p for p in message.split("; ") if p]
    found: list[FieldError] = []
    rest = _parse(model, parts, "", found)
    for leftover in rest:
        found.append(FieldError("", "invalid", leftover))
    return found


def _fields(model) -> list[str]:
    return list(getattr(model, "_fields", {}) or {})


def _parse(model, parts: list[str], prefix: str, out: list[FieldError]) -> list[str]:
    """Consumes the parts that belong to `model` (in field order); returns the rest."""
    names = _fields(model)
    last = -1
    while parts:
        part = parts[0]
        required = _REQUIRED.fullmatch(part)
        name = required.group(1) if required else part.partition(": ")[0]
        if name not in names or names.index(name) <= last:
            return parts
        last = names.index(name)
        parts = parts[1:]
        path = f"{prefix}.{name}" if prefix else name
        if required:
            out.append(FieldError(path, "required", "is required"))
            continue
        text = part.partition(": ")[2]
        field = model._fields[name]
        if text.startswith(_NESTED):
            inner = text[len(_NESTED):].partition(": ")[2]
            nested = getattr(field, "_nested_model_class", None)
            parts = _parse(nested, [inner, *parts], path, out) if nested else parts
        elif text.startswith(_ITEM):
            index, _, tail = text[len(_ITEM):].partition(" as ")
            inner = tail.partition(": ")[2]
            item = getattr(field, "_list_item_model_class", None)
            parts = _parse(item, [inner, *parts], f"{path}[{index}]", out) if item else parts
        else:
            out.append(FieldError(path, _code(text), text))
    return parts


def _code(message: str) -> str:
    m = message.lower()
    if m.startswith("expected") or m.startswith("cannot convert"):
        return "invalid_type"
    if "characters" in m or "items" in m:
        return "length"
    if m.startswith("value must be"):
        return "range"
    if "pattern" in m:
        return "pattern"
    return "invalid"


def validate(model, data: Any) -> dict:
    """`data` validated with a Catzilla model: the cleaned dict, or a 422
    naming every failing field Catzilla reports."""
    if not isinstance(data, dict):
        raise errors.single("", "invalid_type", "must be a JSON object")
    try:
        return model.validate(data)
    except ValueError as e:  # Catzilla's ValidationError is a ValueError
        raise errors.validation(model_errors(model, str(e))) from None


def run(app, host: str, port: int) -> None:
    """Serves `app` until SIGTERM/SIGINT, then runs the app's `on_stop`
    hook, if it has one (closing a queue, removing temporary files), and
    exits 0. Catzilla cannot let in-flight requests finish."""

    def stop() -> None:
        signal.sigwait(_STOP)
        hook = getattr(app, "on_stop", None)
        try:
            if hook is not None:
                hook()
        finally:
            sys.stdout.flush()
            os._exit(0)

    threading.Thread(target=stop, name="stop-signal", daemon=True).start()
    app.loopback_client = host if _is_loopback(host) else None
    app.listen(port=port, host=host)


def _is_loopback(host: str) -> bool:
    """Whether `host` is a loopback IP address (a name is not trusted to be)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
