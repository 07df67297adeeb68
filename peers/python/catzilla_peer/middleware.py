"""The middleware category in Catzilla 0.2.3: each layer is Catzilla's own
middleware (`@app.middleware`), a pre-route function (`before`: may answer
early) and a post-route one (`after`: may change or replace the answer),
acting on its route group. Catzilla runs pre-route middleware in
ascending priority and post-route middleware in ascending priority too, so
a layer at depth d gets priority d before the route and 100 - d after it.

What Catzilla 0.2.3 does not do is done here, and said so:
- an answer a pre-route middleware returns is sent as it is (no post-route
  middleware runs), so `Stack` passes an early answer (a preflight, a 401,
  a 429) through the `after` of every layer outside the one that gave it;
- an exception in a handler is answered without post-route middleware, so
  handlers answer their errors themselves (`answering`);
- its 404 goes to the not-found handler without middleware, which times
  itself;
- it has no CORS or gzip: both are middleware here, with the stdlib (gzip
  level 6 from 1024 bytes). Its `Response` carries UTF-8 text only, so a
  compressed answer is a `StreamingResponse` of the gzip bytes (chunked);
- such a stream sent for an `async def` handler stalls the connection (the
  C core stops reading while an async handler runs and starts again only
  after a plain answer is written), so the heavy handlers are synchronous,
  and their timeout is the synchronous kind: middleware cannot wrap a
  handler's call, so it is a decorator (`within_deadline`) that runs the
  handler on a thread pool and waits for it until the deadline, while the
  loop thread waits too; past it the answer is 504 and the handler's
  thread finishes on its own.

Outermost first: timing (every answer), request id and counting (light and
heavy), then for the heavy paths the access log, security headers, CORS,
gzip, bearer JWT (PyJWT), the token bucket and the timeout."""

from __future__ import annotations

import functools
import gzip
import inspect
import time
from dataclasses import dataclass
from typing import Any, Callable

from bench_shared import asyncops, errors, http
from bench_shared import middleware as mw
from bench_shared.errors import ApiError

from .common import (error_response, json_response, new_app, path_only, query, read_json_text,
                     routes, text_response)


@dataclass(slots=True)
class State:
    """What the layers know of a request (Catzilla's request has no state of
    its own): set by the timing layer, read by the others and handlers."""

    path: str
    started: float
    request_id: str | None = None
    log_started: float = 0.0
    principal: mw.Principal | None = None


def state(request) -> State:
    return request.state


class Layer:
    """A layer of the stack on its route group (`paths`: every request when
    None): `before` may return an early answer, `after` returns the answer
    to pass on."""

    paths: mw.Routes | None = None

    def before(self, request) -> Any:
        return None

    def after(self, request, response) -> Any:
        return response

    def covers(self, request) -> bool:
        return self.paths is None or self.paths.covers(request.method, state(request).path)


class Stack:
    """Registers `layers` (outermost first) as Catzilla middleware, and
    finishes an early answer through the layers outside the one that gave
    it (Catzilla 0.2.3 would send it as it is)."""

    def __init__(self, app, layers: list[Layer]) -> None:
        self.layers = layers
        for depth, layer in enumerate(layers):
            self._register(app, depth, layer)

    def _register(self, app, depth: int, layer: Layer) -> None:
        name = type(layer).__name__
        if type(layer).before is not Layer.before:
            def before(request):
                if layer.covers(request):
                    answer = layer.before(request)
                    if answer is not None:
                        return self.unwind(request, answer, depth)
                return None

            app.middleware(priority=depth, name=f"{name}.before")(before)
        if type(layer).after is not Layer.after:
            def after(request, response):
                return layer.after(request, response) if layer.covers(request) else response

            app.middleware(priority=100 - depth, pre_route=False, post_route=True,
                           name=f"{name}.after")(after)

    def unwind(self, request, answer, depth: int):
        """`answer`, given at `depth`, through the `after` of the outer layers."""
        for layer in reversed(self.layers[:depth]):
            if layer.covers(request):
                answer = layer.after(request, answer)
        return answer


class Timing(Layer):
    """`Server-Timing` on every answer; makes the request's `State`."""

    def before(self, request):
        request.state = State(path=path_only(request), started=time.perf_counter())

    def after(self, request, response):
        response.set_header("Server-Timing", mw.server_timing(state(request).started))
        return response


class RequestId(Layer):
    paths = mw.STACKED

    def __init__(self, stats: mw.Stats) -> None:
        self.stats = stats

    def before(self, request):
        rid, echoed = mw.request_id(request.get_header(mw.REQUEST_ID_HEADER))
        self.stats.count_id(echoed)
        state(request).request_id = rid

    def after(self, request, response):
        response.set_header(mw.REQUEST_ID_HEADER, state(request).request_id)
        return response


class Counting(Layer):
    paths = mw.STACKED

    def __init__(self, stats: mw.Stats) -> None:
        self.stats = stats

    def before(self, request):
        self.stats.count("requests")


class AccessLog(Layer):
    paths = mw.HEAVY

    def __init__(self, log: mw.AccessLog) -> None:
        self.log = log

    def before(self, request):
        state(request).log_started = time.perf_counter()

    def after(self, request, response):
        known = state(request)
        self.log.write(started=known.log_started, request_id=known.request_id,
                       method=request.method, path=known.path, status=response.status_code,
                       subject=known.principal.subject if known.principal else None)
        return response


class SecurityHeaders(Layer):
    paths = mw.HEAVY

    def after(self, request, response):
        for name, value in mw.SECURITY_HEADERS.items():
            response.set_header(name, value)
        return response


class Cors(Layer):
    """CORS for the allowed origin: preflights answered here (200, or 400
    naming what is not allowed, as Starlette's CORSMiddleware answers), the
    allowed origin's other answers marked; counts the answers it allows."""

    paths = mw.HEAVY
    ORIGINS = frozenset(mw.CORS_ORIGINS)
    METHODS = frozenset(mw.CORS_METHODS)
    HEADERS = frozenset(mw.CORS_HEADERS)

    def __init__(self, stats: mw.Stats) -> None:
        self.stats = stats

    def before(self, request):
        origin = request.get_header("Origin")
        method = request.get_header("Access-Control-Request-Method")
        if not mw.is_preflight(request.method, origin, method):
            return None
        asked = request.get_header("Access-Control-Request-Headers") or ""
        refused = [what for what, ok in (
            ("origin", origin in self.ORIGINS),
            ("method", method in self.METHODS),
            ("headers", all(h.strip().lower() in self.HEADERS for h in asked.split(",")
                            if h.strip())),
        ) if not ok]
        if refused:
            return text_response(f"Disallowed CORS {', '.join(refused)}", "text/plain", 400)
        answer = text_response("", "text/plain")
        answer.set_header("Access-Control-Allow-Origin", origin)
        answer.set_header("Access-Control-Allow-Methods", ", ".join(mw.CORS_METHODS))
        answer.set_header("Access-Control-Allow-Headers", ", ".join(mw.CORS_HEADERS))
        answer.set_header("Access-Control-Max-Age", str(mw.CORS_MAX_AGE))
        answer.set_header("Vary", "Origin")
        self.stats.count("cors_allowed")
        return answer

    def after(self, request, response):
        origin = request.get_header("Origin")
        if origin in self.ORIGINS:
            response.set_header("Access-Control-Allow-Origin", origin)
            response.set_header("Access-Control-Expose-Headers", ", ".join(mw.CORS_EXPOSE))
            self.stats.count("cors_allowed")
        vary(response, "Origin")
        return response


def vary(response, name: str) -> None:
    """Adds `name` to the answer's `Vary`."""
    present = response.get_header("Vary")
    if not present:
        response.set_header("Vary", name)
    elif name.lower() not in present.lower():
        response.set_header("Vary", f"{present}, {name}")


class Gzip(Layer):
    """gzip (level 6) for a body of 1024 bytes or more when the client
    accepts it, sent as a stream of the compressed bytes."""

    paths = mw.HEAVY

    def __init__(self, stats: mw.Stats) -> None:
        self.stats = stats

    def after(self, request, response):
        if (response.get_header("Content-Encoding")
                or not mw.accepts_gzip(request.get_header("Accept-Encoding"))
                or getattr(response, "is_streaming", lambda: False)()):
            return response
        body = (response.body or "").encode("utf-8")
        if len(body) < mw.GZIP_MIN_SIZE:
            return response
        from catzilla.streaming import StreamingResponse

        compressed = StreamingResponse([gzip.compress(body, mw.GZIP_LEVEL, mtime=0)],
                                       content_type=response.content_type,
                                       status_code=response.status_code)
        for line in response.get_all_headers():
            name, _, value = line.partition(": ")
            if name not in ("content-type", "content-length"):
                compressed.set_header(name, value)
        compressed.set_header("Content-Encoding", "gzip")
        vary(compressed, "Accept-Encoding")
        self.stats.count("gzipped")
        return compressed


class BearerAuth(Layer):
    paths = mw.HEAVY

    def __init__(self, verifier: mw.Verifier, stats: mw.Stats) -> None:
        self.verifier = verifier
        self.stats = stats

    def before(self, request):
        try:
            state(request).principal = self.verifier.verify(request.get_header("Authorization"))
        except ApiError as e:
            self.stats.count("auth_rejected")
            return error_response(e)
        self.stats.count("auth_ok")
        return None


class RateLimit(Layer):
    paths = mw.HEAVY

    def __init__(self, limiter: mw.RateLimiter, stats: mw.Stats) -> None:
        self.limiter = limiter
        self.stats = stats

    def before(self, request):
        try:
            self.limiter.take(state(request).principal.subject)
        except ApiError as e:
            self.stats.count("rate_limited")
            return error_response(e)
        return None


# ------------------------------------------------------------------ handlers


def answering(handler: Callable) -> Callable:
    """The handler's `ApiError` as its answer, so that post-route middleware
    sees it (Catzilla 0.2.3 sends a handler's exception without it)."""
    if inspect.iscoroutinefunction(handler):
        @functools.wraps(handler)
        async def answer_async(request):
            try:
                return await handler(request)
            except ApiError as e:
                return error_response(e)

        return answer_async

    @functools.wraps(handler)
    def answer(request):
        try:
            return handler(request)
        except ApiError as e:
            return error_response(e)

    return answer


def deadline_decorator(deadline: mw.Deadline) -> Callable[[Callable], Callable]:
    """The timeout: the handler on the deadline's pool, 504 past it."""

    def within_deadline(handler: Callable) -> Callable:
        @functools.wraps(handler)
        def timed(request):
            return deadline.run(handler, request)

        return timed

    return within_deadline


def create_app():
    settings = mw.Settings.from_env()
    stats = mw.Stats()
    uptime = http.Uptime()
    within_deadline = deadline_decorator(mw.Deadline(settings.request_timeout_ms, stats))

    app = new_app()
    Stack(app, [
        Timing(),
        RequestId(stats),
        Counting(stats),
        AccessLog(mw.AccessLog(settings.access_log, stats)),
        SecurityHeaders(),
        Cors(stats),
        Gzip(stats),
        BearerAuth(mw.Verifier(settings.jwt_secret), stats),
        RateLimit(mw.RateLimiter(settings.rate_limit), stats),
    ])

    def not_found(_request):
        started = time.perf_counter()
        response = error_response(errors.not_found("no such route"))
        response.set_header("Server-Timing", mw.server_timing(started))
        return response

    app.set_not_found_handler(not_found)

    def home(_request):
        return text_response(mw.HOME, "text/plain")

    def health(_request):
        return json_response(mw.health(uptime, settings))

    def middleware_stats(_request):
        return json_response(stats.snapshot())

    def light(request):
        return json_response(mw.light(state(request).request_id))

    async def concurrent(request):
        fanout = await asyncops.fanout(asyncops.fanout_x(query(request)))
        return json_response(mw.concurrent(fanout, state(request).request_id))

    @within_deadline
    def heavy(request):
        known = state(request)
        count, delay_ms = mw.heavy_params(query(request))
        return json_response(mw.heavy_sync(known.principal.subject, known.request_id, count,
                                           delay_ms))

    @within_deadline
    def auth(request):
        known = state(request)
        return json_response(mw.authenticated(known.principal, known.request_id))

    @within_deadline
    def post(request):
        known = state(request)
        name, value = mw.post_body(read_json_text(request, mw.MAX_BODY).encode("utf-8"))
        return json_response(mw.posted(known.principal.subject, name, value, known.request_id))

    for path, method, handler in (("/", "GET", home),
                                  ("/health", "GET", health),
                                  ("/middleware-stats", "GET", middleware_stats),
                                  ("/middleware-light", "GET", light),
                                  ("/middleware-concurrent", "GET", concurrent),
                                  ("/middleware-heavy", "GET", heavy),
                                  ("/middleware-auth", "GET", auth),
                                  ("/middleware-post", "POST", post)):
        routes(app, path, **{method: answering(handler)})
        # OPTIONS is routed too, so that it passes the stack: the CORS layer
        # answers preflights, the route a 405.
        app.route(path, methods=["OPTIONS"])(refusing(method))
    return app


def refusing(allow: str) -> Callable:
    """A handler answering 405 (a non-preflight OPTIONS)."""
    return lambda _request: error_response(errors.method_not_allowed(allow))
