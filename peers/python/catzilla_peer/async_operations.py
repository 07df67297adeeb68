"""The async_operations category in Catzilla: `async def` handlers, which
Catzilla 0.2.3 runs as coroutines on its asyncio loop (the C core schedules
each and sends its answer when it completes); three tasks with
`asyncio.gather`, timer waits with `asyncio.sleep`, and upstream calls
through one pooled `aiohttp.ClientSession`."""

from __future__ import annotations

from bench_shared import asyncops, http

from .common import json_response, new_app, query, routes


def create_app():
    app = new_app()
    uptime = http.Uptime()
    upstream = asyncops.AsyncUpstream(asyncops.upstream_url())

    async def health(_request):
        return json_response(asyncops.health(uptime, upstream.url))

    async def raw(_request):
        return json_response(asyncops.mode("raw"))

    async def yield_once(_request):
        return json_response(await asyncops.yield_once())

    async def fanout(request):
        return json_response(await asyncops.fanout(asyncops.fanout_x(query(request))))

    async def chain(request):
        steps = asyncops.chain_steps(request.path_params["steps"])
        return json_response(await asyncops.chain(steps))

    async def sleep(request):
        return json_response(await asyncops.sleep(asyncops.sleep_ms(query(request))))

    async def upstream_calls(request):
        return json_response(await upstream.call(asyncops.upstream_n(query(request))))

    routes(app, "/health", GET=health)
    routes(app, "/async/raw", GET=raw)
    routes(app, "/async/yield-once", GET=yield_once)
    routes(app, "/async/fanout", GET=fanout)
    routes(app, "/async/chain/{steps}", GET=chain)
    routes(app, "/async/sleep", GET=sleep)
    routes(app, "/async/upstream", GET=upstream_calls)
    return app
