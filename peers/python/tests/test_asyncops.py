"""bench_shared.asyncops: the parameters' rules (as the reference's), the
scheduling operations on asyncio and on threads, and both upstream clients
against a counting server and a closed port."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench_shared import asyncops
from bench_shared.errors import ApiError


def status(call, *args) -> int:
    with pytest.raises(ApiError) as e:
        call(*args)
    return e.value.status


def test_bounds_are_inclusive_and_errors_name_the_parameter():
    assert asyncops.chain_steps("1") == 1
    assert asyncops.chain_steps("1000") == 1000
    assert status(asyncops.chain_steps, "0") == 422
    assert status(asyncops.chain_steps, "1001") == 422
    assert status(asyncops.chain_steps, "abc") == 400
    assert status(asyncops.chain_steps, "-1") == 400
    assert status(asyncops.chain_steps, "9" * 5000) == 400
    assert asyncops.sleep_ms({"ms": "1000"}) == 1000
    assert status(asyncops.sleep_ms, {}) == 422
    assert status(asyncops.sleep_ms, {"ms": "soon"}) == 400
    assert asyncops.upstream_n({"n": "16"}) == 16
    with pytest.raises(ApiError) as e:
        asyncops.upstream_n({"n": "17"})
    assert (e.value.status, e.value.details[0].field) == (422, "n")
    assert asyncops.fanout_x({}) == 0
    assert status(asyncops.fanout_x, {"x": "1000001"}) == 422
    assert status(asyncops.fanout_x, {"x": "1.5"}) == 400


def test_asyncio_operations_compute_from_their_input():
    async def run():
        fan = await asyncops.fanout(7)
        assert [(r["task"], r["x"]) for r in fan["results"]] == [(0, 7), (1, 7), (2, 7)]
        for n in (1, 2, 42, 1000):
            assert (await asyncops.chain(n))["sum"] == n * (n + 1) // 2
        assert (await asyncops.yield_once())["mode"] == "yield_once"
        assert (await asyncops.sleep(20))["slept_ms"] >= 20

    asyncio.run(run())


def test_fanout_tasks_yield_to_the_loop():
    """Each task yields before answering: another task on the loop runs
    in between, which it would not if nothing yielded."""
    async def run():
        ticks = 0

        async def spinner():
            nonlocal ticks
            for _ in range(10):
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.ensure_future(spinner())
        await asyncops.fanout(1)
        assert ticks >= 1
        await task

    asyncio.run(run())


def test_threaded_operations_match_the_asyncio_ones():
    threads = asyncops.Threads()
    assert threads.fanout(5) == asyncio.run(asyncops.fanout(5))
    assert asyncops.chain_sync(42) == asyncio.run(asyncops.chain(42))
    assert asyncops.yield_once_sync() == asyncio.run(asyncops.yield_once())
    slept = asyncops.sleep_sync(15)
    assert slept["ms"] == 15 and slept["slept_ms"] >= 15


def test_only_http_urls_are_upstreams(monkeypatch):
    monkeypatch.delenv(asyncops.UPSTREAM_ENV, raising=False)
    assert asyncops.upstream_url() == asyncops.DEFAULT_UPSTREAM
    monkeypatch.setenv(asyncops.UPSTREAM_ENV, "http://127.0.0.1:1/")
    assert asyncops.upstream_url() == "http://127.0.0.1:1/"
    assert asyncops.upstream_url("http://h:2/x") == "http://h:2/x"
    for bad in ("https://example.com/", "127.0.0.1:8999", "http://", "http://h:x/", ""):
        with pytest.raises(ValueError):
            asyncops.upstream_url(bad)


class Counting(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    count = 0
    lock = threading.Lock()

    def do_GET(self):
        with Counting.lock:
            Counting.count += 1
        body = b"Hello, World!"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/"


def test_both_clients_reach_the_upstream_once_per_request(upstream):
    threaded = asyncops.ThreadedUpstream(upstream)
    for n in (1, 5, 16):
        before = Counting.count
        answer = threaded.call(n)
        assert Counting.count - before == n
        assert answer == asyncops.combined([(200, 13)] * n)

    async def run():
        client = asyncops.AsyncUpstream(upstream)
        try:
            for n in (1, 5, 16):
                before = Counting.count
                answer = await client.call(n)
                assert Counting.count - before == n
                assert answer["bytes"] == 13 * n and len(answer["answers"]) == n
        finally:
            await client.close()

    asyncio.run(run())


def test_a_closed_port_is_a_502_for_both_clients():
    url = closed_port()
    with pytest.raises(ApiError) as e:
        asyncops.ThreadedUpstream(url).call(2)
    assert (e.value.status, e.value.code) == (502, "upstream_unavailable")

    async def run():
        with pytest.raises(ApiError) as e:
            await asyncops.AsyncUpstream(url).call(2)
        assert (e.value.status, e.value.code) == (502, "upstream_unavailable")

    asyncio.run(run())


def test_waits_on_threads_overlap():
    threads = asyncops.Threads()
    start = time.perf_counter()
    futures = [threads.pool.submit(asyncops.sleep_sync, 100) for _ in range(8)]
    assert all(f.result()["slept_ms"] >= 100 for f in futures)
    # One after another they would take 0.8 s.
    assert time.perf_counter() - start < 0.6
