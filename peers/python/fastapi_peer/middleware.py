"""The middleware category in FastAPI: the stacks are pure ASGI middleware
(Starlette recommends them over `BaseHTTPMiddleware`, which costs more per
request: README, "The middleware category"), each configured with the
route group it covers, plus Starlette's own `CORSMiddleware` and `GZipMiddleware`
on the heavy paths. The bearer-token layer puts the principal in
`request.state`, and handlers take it, and the request id, by `Depends`.

Outermost first: timing (every answer), request id and counting (light and
heavy), then for the heavy paths the access log, security headers, CORS,
gzip, bearer JWT, the token bucket and the timeout, which cancels the
handler at the deadline."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bench_shared import asyncops, http
from bench_shared import middleware as mw
from bench_shared.errors import ApiError

from .common import error_response, new_app, query, read_json_bytes


class PathMiddleware:
    """A pure ASGI middleware acting on the HTTP requests of its route group
    (`paths`: `bench_shared.middleware.Routes`) only (`handle`); every other
    request goes straight to the app."""

    def __init__(self, app: ASGIApp, paths: mw.Routes) -> None:
        self.app = app
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.paths.covers(scope["method"], scope["path"]):
            await self.handle(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


def state(scope: Scope) -> dict[str, Any]:
    """The request's state (what `request.state` reads)."""
    return scope.setdefault("state", {})


async def refuse(e: ApiError, scope: Scope, receive: Receive, send: Send) -> None:
    """Answers with the contract's error (middleware runs outside the app's
    exception handlers)."""
    await error_response(e)(scope, receive, send)


class TimingMiddleware:
    """`Server-Timing: app;dur=<ms>` on every answer, from entering this
    layer to the inner response's start."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def send_timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append("Server-Timing", mw.server_timing(started))
            await send(message)

        await self.app(scope, receive, send_timed)


class RequestIdMiddleware(PathMiddleware):
    """The client's valid `X-Request-ID`, else a new UUID v4: in
    `request.state.request_id` and on the answer."""

    def __init__(self, app: ASGIApp, paths: mw.Routes, stats: mw.Stats) -> None:
        super().__init__(app, paths)
        self.stats = stats

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        rid, echoed = mw.request_id(Headers(scope=scope).get("x-request-id"))
        self.stats.count_id(echoed)
        state(scope)["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).append(mw.REQUEST_ID_HEADER, rid)
            await send(message)

        await self.app(scope, receive, send_with_id)


class CountingMiddleware(PathMiddleware):
    """Counts the requests."""

    def __init__(self, app: ASGIApp, paths: mw.Routes, stats: mw.Stats) -> None:
        super().__init__(app, paths)
        self.stats = stats

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.stats.count("requests")
        await self.app(scope, receive, send)


class AccessLogMiddleware(PathMiddleware):
    """A JSON line per answer, written just before the answer's last part
    leaves (as every framework's log: a client that has its answer finds
    it logged), or when the app ends without answering."""

    def __init__(self, app: ASGIApp, paths: mw.Routes, log: mw.AccessLog) -> None:
        super().__init__(app, paths)
        self.log = log

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500
        logged = False

        def write() -> None:
            nonlocal logged
            logged = True
            known = scope.get("state", {})
            principal = known.get("principal")
            self.log.write(started=started, request_id=known.get("request_id"),
                           method=scope["method"], path=scope["path"], status=status,
                           subject=principal.subject if principal else None)

        async def send_logged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                write()
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        finally:
            if not logged:
                write()


class SecurityHeadersMiddleware(PathMiddleware):
    """The security headers on every answer of the stack."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in mw.SECURITY_HEADERS.items():
                    headers.append(name, value)
            await send(message)

        await self.app(scope, receive, send_secured)


class OnPaths(PathMiddleware):
    """Another middleware (`middleware(app, **options)`) for the requests to
    `paths` only; with `counter`, counts the answers leaving it whose
    `header` is set (to `value`, when given)."""

    def __init__(self, app: ASGIApp, paths: mw.Routes, middleware: type, *,
                 stats: mw.Stats, counter: str, header: str, value: str | None = None,
                 **options: Any) -> None:
        super().__init__(app, paths)
        self.inner = middleware(app, **options)
        self.stats = stats
        self.counter = counter
        self.header = header
        self.value = value

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                got = Headers(raw=message.get("headers", [])).get(self.header)
                if got is not None and (self.value is None or got == self.value):
                    self.stats.count(self.counter)
            await send(message)

        await self.inner(scope, receive, send_counted)


class BearerAuthMiddleware(PathMiddleware):
    """`Authorization: Bearer <JWT>`: the principal in `request.state`, or 401."""

    def __init__(self, app: ASGIApp, paths: mw.Routes, verifier: mw.Verifier,
                 stats: mw.Stats) -> None:
        super().__init__(app, paths)
        self.verifier = verifier
        self.stats = stats

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            principal = self.verifier.verify(Headers(scope=scope).get("authorization"))
        except ApiError as e:
            self.stats.count("auth_rejected")
            await refuse(e, scope, receive, send)
            return
        self.stats.count("auth_ok")
        state(scope)["principal"] = principal
        await self.app(scope, receive, send)


class RateLimitMiddleware(PathMiddleware):
    """A token from the subject's bucket per request, or 429."""

    def __init__(self, app: ASGIApp, paths: mw.Routes, limiter: mw.RateLimiter,
                 stats: mw.Stats) -> None:
        super().__init__(app, paths)
        self.limiter = limiter
        self.stats = stats

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            self.limiter.take(state(scope)["principal"].subject)
        except ApiError as e:
            self.stats.count("rate_limited")
            await refuse(e, scope, receive, send)
            return
        await self.app(scope, receive, send)


class TimeoutMiddleware(PathMiddleware):
    """The inner app is cancelled if it has not started its answer within
    `ms`; the answer is then a 504."""

    def __init__(self, app: ASGIApp, paths: mw.Routes, ms: int, stats: mw.Stats) -> None:
        super().__init__(app, paths)
        self.ms = ms
        self.stats = stats

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        deadline = asyncio.timeout(self.ms / 1000)

        async def send_in_time(message: Message) -> None:
            if message["type"] == "http.response.start":
                deadline.reschedule(None)  # an answer under way is not cut
            await send(message)

        try:
            async with deadline:
                await self.app(scope, receive, send_in_time)
        except TimeoutError:
            if not deadline.expired():
                raise
            self.stats.count("timed_out")
            await refuse(mw.timed_out(self.ms), scope, receive, send)


def stack(settings: mw.Settings, stats: mw.Stats) -> list[Middleware]:
    """The layers, outermost first."""
    heavy, stacked = mw.HEAVY, mw.STACKED
    return [
        Middleware(TimingMiddleware),
        Middleware(RequestIdMiddleware, paths=stacked, stats=stats),
        Middleware(CountingMiddleware, paths=stacked, stats=stats),
        Middleware(AccessLogMiddleware, paths=heavy,
                   log=mw.AccessLog(settings.access_log, stats)),
        Middleware(SecurityHeadersMiddleware, paths=heavy),
        Middleware(OnPaths, paths=heavy, middleware=CORSMiddleware, stats=stats,
                   counter="cors_allowed", header="access-control-allow-origin",
                   allow_origins=mw.CORS_ORIGINS, allow_methods=mw.CORS_METHODS,
                   allow_headers=mw.CORS_HEADERS, expose_headers=mw.CORS_EXPOSE,
                   max_age=mw.CORS_MAX_AGE),
        Middleware(OnPaths, paths=heavy, middleware=GZipMiddleware, stats=stats,
                   counter="gzipped", header="content-encoding", value="gzip",
                   minimum_size=mw.GZIP_MIN_SIZE, compresslevel=mw.GZIP_LEVEL),
        Middleware(BearerAuthMiddleware, paths=heavy,
                   verifier=mw.Verifier(settings.jwt_secret), stats=stats),
        Middleware(RateLimitMiddleware, paths=heavy,
                   limiter=mw.RateLimiter(settings.rate_limit), stats=stats),
        Middleware(TimeoutMiddleware, paths=heavy, ms=settings.request_timeout_ms, stats=stats),
    ]


# `async def`: FastAPI would run plain functions on its thread pool.
async def get_request_id(request: Request) -> str:
    return request.state.request_id


async def get_principal(request: Request) -> mw.Principal:
    return request.state.principal


RequestId = Annotated[str, Depends(get_request_id)]
Principal = Annotated[mw.Principal, Depends(get_principal)]


def create_app() -> FastAPI:
    settings = mw.Settings.from_env()
    stats = mw.Stats()
    app = new_app(mw.CATEGORY, middleware=stack(settings, stats))
    uptime = http.Uptime()

    @app.get("/")
    async def home() -> Response:
        return Response(mw.HOME, headers={"Content-Type": "text/plain"})

    @app.get("/health")
    async def health() -> dict:
        return mw.health(uptime, settings)

    @app.get("/middleware-stats")
    async def middleware_stats() -> dict:
        return stats.snapshot()

    @app.get("/middleware-light")
    async def light(rid: RequestId) -> dict:
        return mw.light(rid)

    @app.get("/middleware-concurrent")
    async def concurrent(request: Request, rid: RequestId) -> dict:
        fanout = await asyncops.fanout(asyncops.fanout_x(query(request)))
        return mw.concurrent(fanout, rid)

    @app.get("/middleware-heavy")
    async def heavy(request: Request, principal: Principal, rid: RequestId) -> dict:
        count, delay_ms = mw.heavy_params(query(request))
        return await mw.heavy_async(principal.subject, rid, count, delay_ms)

    @app.get("/middleware-auth")
    async def auth(principal: Principal, rid: RequestId) -> dict:
        return mw.authenticated(principal, rid)

    @app.post("/middleware-post")
    async def post(request: Request, principal: Principal, rid: RequestId) -> dict:
        name, value = mw.post_body(await read_json_bytes(request, mw.MAX_BODY))
        return mw.posted(principal.subject, name, value, rid)

    return app
