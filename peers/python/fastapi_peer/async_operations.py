"""The async_operations category in FastAPI: async path operations awaiting
on uvicorn's loop (uvloop), three tasks with `asyncio.gather`, timer waits
with `asyncio.sleep`, and upstream calls through one pooled
`aiohttp.ClientSession` per process, given to handlers by `Depends`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request

from bench_shared import asyncops, http

from .common import new_app, query


def get_upstream(request: Request) -> asyncops.AsyncUpstream:
    """The process's upstream client, kept in the app's state."""
    return request.app.state.upstream


Upstream = Annotated[asyncops.AsyncUpstream, Depends(get_upstream)]


def create_app() -> FastAPI:
    upstream = asyncops.AsyncUpstream(asyncops.upstream_url())
    app = new_app("async_operations", on_stop=upstream.close)
    app.state.upstream = upstream
    uptime = http.Uptime()

    @app.get("/health")
    async def health() -> dict:
        return asyncops.health(uptime, upstream.url)

    @app.get("/async/raw")
    async def raw() -> dict:
        return asyncops.mode("raw")

    @app.get("/async/yield-once")
    async def yield_once() -> dict:
        return await asyncops.yield_once()

    @app.get("/async/fanout")
    async def fanout(request: Request) -> dict:
        return await asyncops.fanout(asyncops.fanout_x(query(request)))

    @app.get("/async/chain/{steps}")
    async def chain(steps: str) -> dict:
        return await asyncops.chain(asyncops.chain_steps(steps))

    @app.get("/async/sleep")
    async def sleep(request: Request) -> dict:
        return await asyncops.sleep(asyncops.sleep_ms(query(request)))

    @app.get("/async/upstream")
    async def upstream_calls(request: Request, client: Upstream) -> dict:
        return await client.call(asyncops.upstream_n(query(request)))

    return app
