"""The async_operations category in Django, with threads: DRF views on
gunicorn's gthread threads (Django's own async views need an ASGI server,
and the peer is served by gunicorn's WSGI workers like every other
category); a yield is `time.sleep(0)`, a fan-out runs three tasks on a
thread pool the process shares, a wait blocks its thread, and upstream
calls go through a `requests.Session` per pool thread, all at once."""

from __future__ import annotations

from django.urls import path
from rest_framework.decorators import api_view

from bench_shared import asyncops, http

from . import common
from .common import json, query

uptime = http.Uptime()
threads = asyncops.Threads()
upstream = asyncops.ThreadedUpstream(asyncops.upstream_url())


@api_view(["GET"])
def health(request):
    return json(asyncops.health(uptime, upstream.url))


@api_view(["GET"])
def raw(request):
    return json(asyncops.mode("raw"))


@api_view(["GET"])
def yield_once(request):
    return json(asyncops.yield_once_sync())


@api_view(["GET"])
def fanout(request):
    return json(threads.fanout(asyncops.fanout_x(query(request))))


@api_view(["GET"])
def chain(request, steps: str):
    return json(asyncops.chain_sync(asyncops.chain_steps(steps)))


@api_view(["GET"])
def sleep(request):
    return json(asyncops.sleep_sync(asyncops.sleep_ms(query(request))))


@api_view(["GET"])
def upstream_calls(request):
    return json(upstream.call(asyncops.upstream_n(query(request))))


urlpatterns = [
    path("health", health),
    path("async/raw", raw),
    path("async/yield-once", yield_once),
    path("async/fanout", fanout),
    path("async/chain/<str:steps>", chain),
    path("async/sleep", sleep),
    path("async/upstream", upstream_calls),
]

handler404 = common.handler404
handler500 = common.handler500
