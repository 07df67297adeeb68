"""The middleware category in Django: the stacks are `MIDDLEWARE` classes
(settings.py lists them, outermost first) and DRF views. Django's
middleware is global; as django-cors-headers does with `CORS_URLS_REGEX`,
each class of a route group acts on that group's paths (`paths`) and hands
every other request straight on.

Outermost first: timing (every answer), the peer's ContractMiddleware
(Content-Length), request id and counting (light and heavy), then for the
heavy paths the access log, security headers, django-cors-headers'
CorsMiddleware (which answers preflights), Django's GZipMiddleware, the
bearer token (PyJWT, the principal in `request.principal`), the token
bucket and the timeout. The timeout runs the rest of the chain on a thread
pool and waits for it until the deadline; past it the answer is 504 while
that thread finishes on its own (threads cannot be cancelled)."""

from __future__ import annotations

import time
from typing import Callable

from corsheaders.middleware import CorsMiddleware
from django.http import HttpResponse
from django.middleware.gzip import GZipMiddleware
from django.urls import path
from rest_framework.decorators import api_view

from bench_shared import asyncops, http
from bench_shared import middleware as mw
from bench_shared.errors import ApiError

from . import common
from .common import error_response, json, query, read_json_bytes

config = mw.Settings.from_env()
stats = mw.Stats()
uptime = http.Uptime()
threads = asyncops.Threads()


# ---------------------------------------------------------------- middleware


class PathMiddleware:
    """A middleware acting on the requests of its route group (`paths`) only
    (`handle`)."""

    paths: mw.Routes

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if self.paths.covers(request.method, request.path_info):
            return self.handle(request)
        return self.get_response(request)

    def handle(self, request):
        raise NotImplementedError


class TimingMiddleware:
    """`Server-Timing` on every answer."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        response["Server-Timing"] = mw.server_timing(started)
        return response


class RequestIdMiddleware(PathMiddleware):
    """The client's valid `X-Request-ID`, else a new UUID v4: in
    `request.request_id` and on the answer."""

    paths = mw.STACKED

    def handle(self, request):
        request.request_id, echoed = mw.request_id(request.headers.get(mw.REQUEST_ID_HEADER))
        stats.count_id(echoed)
        response = self.get_response(request)
        response[mw.REQUEST_ID_HEADER] = request.request_id
        return response


class CountingMiddleware(PathMiddleware):
    paths = mw.STACKED

    def handle(self, request):
        stats.count("requests")
        return self.get_response(request)


class AccessLogMiddleware(PathMiddleware):
    """A JSON line per answer."""

    paths = mw.HEAVY
    log = mw.AccessLog(config.access_log, stats)

    def handle(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        principal = getattr(request, "principal", None)
        self.log.write(started=started, request_id=request.request_id, method=request.method,
                       path=request.path, status=response.status_code,
                       subject=principal.subject if principal else None)
        return response


class SecurityHeadersMiddleware(PathMiddleware):
    """The security headers (Django's SecurityMiddleware and
    XFrameOptionsMiddleware act on every path)."""

    paths = mw.HEAVY

    def handle(self, request):
        response = self.get_response(request)
        for name, value in mw.SECURITY_HEADERS.items():
            response[name] = value
        return response


class CountedCorsMiddleware(CorsMiddleware):
    """django-cors-headers (its settings: `CORS_URLS_REGEX` and the others
    in settings.py) on the heavy routes, counting the answers with
    `Access-Control-Allow-Origin`."""

    def __call__(self, request):
        if not mw.HEAVY.covers(request.method, request.path_info):
            return self.get_response(request)
        response = super().__call__(request)
        if response.has_header("Access-Control-Allow-Origin"):
            stats.count("cors_allowed")
        return response


class HeavyGZipMiddleware(GZipMiddleware):
    """Django's GZipMiddleware on the heavy paths, counting what it
    compresses; set to the reference's rules: bodies from 1024 bytes (its
    own threshold is 200), no random bytes in the gzip header (its defence
    against BREACH, which the others do not add), `gzip;q=0` refused."""

    max_random_bytes = 0

    def process_response(self, request, response):
        if not mw.HEAVY.covers(request.method, request.path_info):
            return response
        if not mw.accepts_gzip(request.headers.get("Accept-Encoding")) or (
                not response.streaming and len(response.content) < mw.GZIP_MIN_SIZE):
            return response
        response = super().process_response(request, response)
        if response.get("Content-Encoding") == "gzip":
            stats.count("gzipped")
        return response


class BearerAuthMiddleware(PathMiddleware):
    """`Authorization: Bearer <JWT>`: the principal in `request.principal`, or 401."""

    paths = mw.HEAVY
    verifier = mw.Verifier(config.jwt_secret)

    def handle(self, request):
        try:
            request.principal = self.verifier.verify(request.headers.get("Authorization"))
        except ApiError as e:
            stats.count("auth_rejected")
            return error_response(e)
        stats.count("auth_ok")
        return self.get_response(request)


class RateLimitMiddleware(PathMiddleware):
    """A token from the subject's bucket per request, or 429."""

    paths = mw.HEAVY
    limiter = mw.RateLimiter(config.rate_limit)

    def handle(self, request):
        try:
            self.limiter.take(request.principal.subject)
        except ApiError as e:
            stats.count("rate_limited")
            return error_response(e)
        return self.get_response(request)


class TimeoutMiddleware(PathMiddleware):
    """The rest of the chain on a thread pool, 504 past the deadline."""

    paths = mw.HEAVY
    deadline = mw.Deadline(config.request_timeout_ms, stats)

    def handle(self, request):
        try:
            return self.deadline.run(self.get_response, request)
        except ApiError as e:
            return error_response(e)


# --------------------------------------------------------------------- views


def home(request):
    return HttpResponse(mw.HOME, content_type="text/plain")


@api_view(["GET"])
def health(request):
    return json(mw.health(uptime, config))


@api_view(["GET"])
def middleware_stats(request):
    return json(stats.snapshot())


@api_view(["GET"])
def light(request):
    return json(mw.light(request.request_id))


@api_view(["GET"])
def concurrent(request):
    fanout = threads.fanout(asyncops.fanout_x(query(request)))
    return json(mw.concurrent(fanout, request.request_id))


@api_view(["GET"])
def heavy(request):
    count, delay_ms = mw.heavy_params(query(request))
    return json(mw.heavy_sync(request.principal.subject, request.request_id, count, delay_ms))


@api_view(["GET"])
def auth(request):
    return json(mw.authenticated(request.principal, request.request_id))


@api_view(["POST"])
def post(request):
    name, value = mw.post_body(read_json_bytes(request, mw.MAX_BODY))
    return json(mw.posted(request.principal.subject, name, value, request.request_id))


urlpatterns = [
    path("", home),
    path("health", health),
    path("middleware-stats", middleware_stats),
    path("middleware-light", light),
    path("middleware-concurrent", concurrent),
    path("middleware-heavy", heavy),
    path("middleware-auth", auth),
    path("middleware-post", post),
]

handler404 = common.handler404
handler500 = common.handler500
