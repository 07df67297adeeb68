"""The async_operations category's work for any framework, the twin of the
reference's `shared::asyncops`: the parameters and their rules, the
scheduling operations (a bare handler, one yield, three tasks gathered, a
chain of awaits), timer waits and concurrent upstream calls.

Each operation comes twice: as coroutines for the asyncio frameworks
(FastAPI, Catzilla) and with threads for the synchronous ones (Flask and
Django under gunicorn's threads), which do the same work with their tools:
a yield is `time.sleep(0)` (the thread gives up the GIL and the CPU), three
concurrent tasks run on a shared thread pool, a wait blocks its thread.
Upstream calls go through a pooled client: aiohttp's `ClientSession`, or a
`requests.Session` per thread."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Mapping
from urllib.parse import urlsplit

from . import errors, http

CATEGORY = "async_operations"
MAX_CHAIN = 1000
MAX_SLEEP_MS = 1000
MAX_UPSTREAM = 16
MAX_FANOUT_X = 1_000_000

#: The upstream when none is given: the ceiling server's default address.
DEFAULT_UPSTREAM = "http://127.0.0.1:8999/"
#: Where the runner names the upstream.
UPSTREAM_ENV = "BENCH_UPSTREAM_URL"
#: A connection not open within this, or an answer not complete within
#: this, is an unreachable upstream (the reference's timeouts).
CONNECT_TIMEOUT = 2.0
REQUEST_TIMEOUT = 10.0
#: Upstream requests in flight at most per process (more wait for one to
#: finish), the reference's `MAX_IN_FLIGHT`: every client holds as many
#: connections. Answers are asked unencoded, as the reference's client asks.
MAX_IN_FLIGHT = 64
PLAIN = {"Accept-Encoding": "identity"}


# --- parameters ---------------------------------------------------------

def _in_range(name: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise errors.single(name, "range", f"must be at least {low} and at most {high}")
    return value


def _required(query: Mapping[str, str], name: str, high: int) -> int:
    value = http.query_uint(query, name)
    if value is None:
        raise errors.single(name, "required", "is required")
    return _in_range(name, value, 1, high)


def chain_steps(raw: str) -> int:
    """`{steps}` of `/async/chain/{steps}`: 1 to 1000."""
    return _in_range("steps", http.path_uint("steps", raw), 1, MAX_CHAIN)


def sleep_ms(query: Mapping[str, str]) -> int:
    """`ms` of `/async/sleep`: required, 1 to 1000."""
    return _required(query, "ms", MAX_SLEEP_MS)


def upstream_n(query: Mapping[str, str]) -> int:
    """`n` of `/async/upstream`: required, 1 to 16."""
    return _required(query, "n", MAX_UPSTREAM)


def fanout_x(query: Mapping[str, str]) -> int:
    """`x` of `/async/fanout`: 0 to 1,000,000, 0 when absent."""
    return _in_range("x", http.query_uint(query, "x", 0), 0, MAX_FANOUT_X)


# --- answers -------------------------------------------------------------

def mode(name: str, value: int = 1) -> dict:
    return {"mode": name, "value": value}


def fanout_answer(results: list[dict]) -> dict:
    return {"mode": "fanout", "value": len(results), "results": results}


def chain_answer(steps: int, total: int) -> dict:
    return {"mode": "chain", "value": steps, "steps": steps, "sum": total}


def slept_answer(ms: int, started: float) -> dict:
    return {"mode": "sleep", "ms": ms,
            "slept_ms": round((time.perf_counter() - started) * 1000, 3)}


def combined(answers: list[tuple[int, int]]) -> dict:
    """Upstream answers `(status, body bytes)`, in request order."""
    return {"mode": "upstream", "n": len(answers),
            "answers": [{"status": s, "bytes": b} for s, b in answers],
            "bytes": sum(b for _, b in answers)}


def health(uptime: http.Uptime, upstream: str) -> dict:
    return {"status": "ok", "category": CATEGORY, "uptime_seconds": uptime.seconds(),
            "upstream": upstream}


# --- asyncio -------------------------------------------------------------

async def yield_once() -> dict:
    await asyncio.sleep(0)
    return mode("yield_once")


async def _task(task: int, x: int) -> dict:
    await asyncio.sleep(0)
    return {"task": task, "x": x}


async def fanout(x: int) -> dict:
    """Three tasks awaited together (`asyncio.gather`), in task order."""
    return fanout_answer(list(await asyncio.gather(*(_task(i, x) for i in range(3)))))


async def _step(i: int) -> int:
    await asyncio.sleep(0)
    return i


async def chain(steps: int) -> dict:
    total = 0
    for i in range(1, steps + 1):
        total += await _step(i)
    return chain_answer(steps, total)


async def sleep(ms: int) -> dict:
    """A timer wait of at least `ms` (uvloop's timers run on a loop clock
    cached at each iteration and may fire up to a millisecond early: what is
    left is waited again, as Tokio's timer rounds up)."""
    started = time.perf_counter()
    deadline = started + ms / 1000
    while (left := deadline - time.perf_counter()) > 0:
        await asyncio.sleep(left)
    return slept_answer(ms, started)


def upstream_url(given: str | None = None) -> str:
    """The upstream: `given`, else `BENCH_UPSTREAM_URL`, else the ceiling's
    default address; ValueError unless it is an `http://` URL."""
    url = given if given is not None else os.environ.get(UPSTREAM_ENV, DEFAULT_UPSTREAM)
    parts = urlsplit(url)
    try:
        parts.port  # a port that is not a number raises
    except ValueError:
        parts = None
    if parts is None or parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"the upstream {url!r} is not an http:// URL")
    return url


def unreachable(url: str, e: BaseException) -> errors.ApiError:
    """502 `upstream_unavailable`: the upstream gave no answer."""
    return errors.ApiError(502, "upstream_unavailable",
                           f"the upstream {url} did not answer: {type(e).__name__}: {e}")


class AsyncUpstream:
    """Concurrent GETs through one pooled `aiohttp.ClientSession` (made on
    the first call, on the loop that serves requests), at most
    `MAX_IN_FLIGHT` connections. aiohttp rather than httpx: with 256 GETs in
    flight httpx 0.29 spent 6.6 ms of CPU on each (its pool's bookkeeping)
    against aiohttp's 0.3 ms (README, "The async_operations category")."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._session = None

    def _pool(self):
        if self._session is None:
            import aiohttp

            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=MAX_IN_FLIGHT),
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT, connect=CONNECT_TIMEOUT),
                headers=PLAIN, auto_decompress=False)
        return self._session

    async def _one(self) -> tuple[int, int]:
        async with self._pool().get(self.url, allow_redirects=False) as response:
            return response.status, len(await response.read())

    async def call(self, n: int) -> dict:
        import aiohttp

        try:
            answers = await asyncio.gather(*(self._one() for _ in range(n)))
        except (aiohttp.ClientError, asyncio.TimeoutError) as e:
            raise unreachable(self.url, e) from None
        return combined(list(answers))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


# --- threads -------------------------------------------------------------

def yield_once_sync() -> dict:
    time.sleep(0)
    return mode("yield_once")


def _task_sync(task: int, x: int) -> dict:
    time.sleep(0)
    return {"task": task, "x": x}


class Threads:
    """The thread pool a synchronous framework's fan-out tasks run on,
    shared by its request threads."""

    def __init__(self, workers: int = 32) -> None:
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fanout")

    def fanout(self, x: int) -> dict:
        """Three tasks on the pool at once, gathered in task order."""
        futures = [self.pool.submit(_task_sync, i, x) for i in range(3)]
        return fanout_answer([f.result() for f in futures])


def chain_sync(steps: int) -> dict:
    total = 0
    for i in range(1, steps + 1):
        time.sleep(0)
        total += i
    return chain_answer(steps, total)


def sleep_sync(ms: int) -> dict:
    started = time.perf_counter()
    time.sleep(ms / 1000)
    return slept_answer(ms, started)


class ThreadedUpstream:
    """Concurrent GETs on a pool of its own of `MAX_IN_FLIGHT` threads (so
    they never queue behind fan-out tasks), each thread with its own pooled
    `requests.Session` (a session is not shared between threads)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.pool = ThreadPoolExecutor(max_workers=MAX_IN_FLIGHT, thread_name_prefix="upstream")
        self._local = threading.local()

    def _session(self):
        session = getattr(self._local, "session", None)
        if session is None:
            import requests

            session = requests.Session()
            session.trust_env = False
            session.headers.update(PLAIN)
            self._local.session = session
        return session

    def _one(self) -> tuple[int, int]:
        response = self._session().get(self.url, timeout=(CONNECT_TIMEOUT, REQUEST_TIMEOUT),
                                       allow_redirects=False)
        return response.status_code, len(response.content)

    def call(self, n: int) -> dict:
        import requests

        futures = [self.pool.submit(self._one) for _ in range(n)]
        try:
            return combined([f.result() for f in futures])
        except requests.RequestException as e:
            raise unreachable(self.url, e) from None
