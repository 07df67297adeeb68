"""The async_operations category in Flask, with threads: each request runs
on one of gunicorn's gthread threads; a yield is `time.sleep(0)`, a
fan-out runs three tasks on a thread pool the app shares, a wait blocks its
thread, and upstream calls go through a `requests.Session` per pool thread,
all of them at once on that pool."""

from __future__ import annotations

from flask import Flask, Response

from bench_shared import asyncops, http

from .common import json_response, new_app, query, route


def create_app() -> Flask:
    app = new_app(__name__)
    uptime = http.Uptime()
    threads = asyncops.Threads()
    upstream = asyncops.ThreadedUpstream(asyncops.upstream_url())

    @route(app, "/health", ["GET"])
    def health() -> Response:
        return json_response(asyncops.health(uptime, upstream.url))

    @route(app, "/async/raw", ["GET"])
    def raw() -> Response:
        return json_response(asyncops.mode("raw"))

    @route(app, "/async/yield-once", ["GET"])
    def yield_once() -> Response:
        return json_response(asyncops.yield_once_sync())

    @route(app, "/async/fanout", ["GET"])
    def fanout() -> Response:
        return json_response(threads.fanout(asyncops.fanout_x(query())))

    @route(app, "/async/chain/<steps>", ["GET"])
    def chain(steps: str) -> Response:
        return json_response(asyncops.chain_sync(asyncops.chain_steps(steps)))

    @route(app, "/async/sleep", ["GET"])
    def sleep() -> Response:
        return json_response(asyncops.sleep_sync(asyncops.sleep_ms(query())))

    @route(app, "/async/upstream", ["GET"])
    def upstream_calls() -> Response:
        return json_response(upstream.call(asyncops.upstream_n(query())))

    return app
