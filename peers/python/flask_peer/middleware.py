"""The middleware category in Flask: `before_request`/`after_request` hooks.
Timing is the app's own pair of hooks (every answer, 404 and 405
included); the light stack is a blueprint's hooks (request id, counting),
and the heavy stack a blueprint nested in it, so its routes get the light
hooks and then its own: the access log, security headers, flask-cors and
Flask-Compress (their hooks registered on the blueprint, not the app), the
bearer token (PyJWT, the principal in `g`) and the token bucket.

Flask runs before-request hooks in registration order, parents first, and
after-request hooks in reverse, innermost blueprint first; so each
blueprint registers its after-hooks outermost first. A preflight passes
the authentication hooks untouched and is answered by Flask's automatic
OPTIONS response, to which flask-cors adds its headers.

The timeout wraps the heavy views (`within_deadline`): hooks cannot wrap a
view's call. The view runs on a thread pool and the request thread waits
for it until the deadline; past it the answer is 504 while the view's
thread finishes on its own (threads cannot be cancelled)."""

from __future__ import annotations

import functools
import time
from typing import Callable

from flask import Blueprint, Flask, Response, g, request
from flask_compress import Compress
from flask_cors import CORS

from bench_shared import asyncops, http
from bench_shared import middleware as mw
from bench_shared.errors import ApiError

from .common import json_response, new_app, query, read_json_bytes


def add_timing(app: Flask) -> None:
    """`Server-Timing` on every answer of the app."""

    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def server_timing(response: Response) -> Response:
        response.headers["Server-Timing"] = mw.server_timing(g.started)
        return response


def add_light_stack(bp: Blueprint, stats: mw.Stats) -> None:
    """Request id (in `g.request_id` and on the answer) and counting."""

    @bp.before_request
    def assign_request_id() -> None:
        g.request_id, echoed = mw.request_id(request.headers.get(mw.REQUEST_ID_HEADER))
        stats.count_id(echoed)

    @bp.before_request
    def count_request() -> None:
        stats.count("requests")

    @bp.after_request
    def send_request_id(response: Response) -> Response:
        response.headers[mw.REQUEST_ID_HEADER] = g.request_id
        return response


def add_heavy_stack(bp: Blueprint, settings: mw.Settings, stats: mw.Stats,
                    compress: Compress) -> None:
    """The access log, security headers, CORS, gzip, bearer JWT and the
    token bucket (after-hooks registered outermost first)."""
    log = mw.AccessLog(settings.access_log, stats)
    verifier = mw.Verifier(settings.jwt_secret)
    limiter = mw.RateLimiter(settings.rate_limit)

    @bp.before_request
    def start_log_entry() -> None:
        g.log_started = time.perf_counter()

    @bp.after_request
    def write_log_entry(response: Response) -> Response:
        principal = g.get("principal")
        log.write(started=g.log_started, request_id=g.request_id, method=request.method,
                  path=request.path, status=response.status_code,
                  subject=principal.subject if principal else None)
        return response

    @bp.after_request
    def security_headers(response: Response) -> Response:
        response.headers.update(mw.SECURITY_HEADERS)
        return response

    @bp.after_request
    def count_cors(response: Response) -> Response:
        if "Access-Control-Allow-Origin" in response.headers:
            stats.count("cors_allowed")
        return response

    CORS(bp, origins=list(mw.CORS_ORIGINS), methods=list(mw.CORS_METHODS),
         allow_headers=list(mw.CORS_HEADERS), expose_headers=list(mw.CORS_EXPOSE),
         max_age=mw.CORS_MAX_AGE, supports_credentials=False, always_send=False)

    @bp.after_request
    def count_gzip(response: Response) -> Response:
        if response.headers.get("Content-Encoding") == "gzip":
            stats.count("gzipped")
        return response

    bp.after_request(compress.after_request)

    @bp.before_request
    def authenticate() -> None:
        if mw.is_preflight(request.method, request.headers.get("Origin"),
                           request.headers.get("Access-Control-Request-Method")):
            return
        try:
            g.principal = verifier.verify(request.headers.get("Authorization"))
        except ApiError:
            stats.count("auth_rejected")
            raise
        stats.count("auth_ok")

    @bp.before_request
    def take_token() -> None:
        principal = g.get("principal")
        if principal is None:
            return
        try:
            limiter.take(principal.subject)
        except ApiError:
            stats.count("rate_limited")
            raise


def deadline_decorator(deadline: mw.Deadline) -> Callable[[Callable], Callable]:
    """A view decorator: the view runs on the deadline's pool, 504 past it."""

    def within_deadline(view: Callable) -> Callable:
        @functools.wraps(view)
        def timed(*args, **kwargs):
            return deadline.run(view, *args, **kwargs)

        return timed

    return within_deadline


def create_app() -> Flask:
    settings = mw.Settings.from_env()
    stats = mw.Stats()
    uptime = http.Uptime()
    threads = asyncops.Threads()
    within_deadline = deadline_decorator(mw.Deadline(settings.request_timeout_ms, stats))

    app = new_app(__name__)
    # Flask-Compress's hook goes on the heavy blueprint, not the app.
    app.config.update(COMPRESS_REGISTER=False, COMPRESS_ALGORITHM=["gzip"],
                      COMPRESS_LEVEL=mw.GZIP_LEVEL, COMPRESS_MIN_SIZE=mw.GZIP_MIN_SIZE)
    compress = Compress(app)
    add_timing(app)

    light = Blueprint("light", __name__)
    add_light_stack(light, stats)
    heavy = Blueprint("heavy", __name__)
    add_heavy_stack(heavy, settings, stats, compress)

    @app.get("/")
    def home() -> Response:
        return Response(mw.HOME, content_type="text/plain")

    @app.get("/health")
    def health() -> Response:
        return json_response(mw.health(uptime, settings))

    @app.get("/middleware-stats")
    def middleware_stats() -> Response:
        return json_response(stats.snapshot())

    @light.get("/middleware-light")
    def light_stack() -> Response:
        return json_response(mw.light(g.request_id))

    @light.get("/middleware-concurrent")
    def concurrent() -> Response:
        fanout = threads.fanout(asyncops.fanout_x(query()))
        return json_response(mw.concurrent(fanout, g.request_id))

    # OPTIONS listed: Flask adds it only when it sets the automatic answer itself.
    @heavy.route("/middleware-heavy", methods=["GET", "OPTIONS"], provide_automatic_options=True)
    @within_deadline
    def heavy_stack() -> Response:
        count, delay_ms = mw.heavy_params(query())
        return json_response(mw.heavy_sync(g.principal.subject, g.request_id, count, delay_ms))

    @heavy.route("/middleware-auth", methods=["GET", "OPTIONS"], provide_automatic_options=True)
    @within_deadline
    def auth() -> Response:
        return json_response(mw.authenticated(g.principal, g.request_id))

    @heavy.route("/middleware-post", methods=["POST", "OPTIONS"], provide_automatic_options=True)
    @within_deadline
    def post() -> Response:
        name, value = mw.post_body(read_json_bytes(mw.MAX_BODY))
        return json_response(mw.posted(g.principal.subject, name, value, g.request_id))

    light.register_blueprint(heavy)
    app.register_blueprint(light)
    return app
