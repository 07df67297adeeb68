"""The framework-independent request helpers every peer's `common` adapts:
bodies read within their limit (blocking and on an event loop, the same
answers), the JSON media type, bodiless requests, and the one 500."""

from __future__ import annotations

import asyncio
import random
from typing import AsyncIterator, Iterator

import pytest

from bench_shared import errors, http
from bench_shared.errors import ApiError


def pieces(body: bytes, rng: random.Random) -> list[bytes]:
    """`body` cut at random places."""
    cuts = sorted(rng.sample(range(1, len(body)), min(len(body) - 1, 5))) if len(body) > 1 else []
    edges = [0, *cuts, len(body)]
    return [body[a:b] for a, b in zip(edges, edges[1:]) if b > a]


class Stream:
    """Chunks as a blocking and as an async stream, counting what was read;
    `fail_at` makes the read of that chunk fail (a client gone)."""

    def __init__(self, chunks: list[bytes], fail_at: int | None = None) -> None:
        self.chunks, self.fail_at, self.read = chunks, fail_at, 0

    def _next(self, k: int) -> bytes:
        if k == self.fail_at:
            raise ConnectionError("client gone")
        self.read += len(self.chunks[k])
        return self.chunks[k]

    def blocking(self) -> Iterator[bytes]:
        for k in range(len(self.chunks)):
            yield self._next(k)

    async def nonblocking(self) -> AsyncIterator[bytes]:
        for k in range(len(self.chunks)):
            yield self._next(k)


def outcome(call) -> tuple[str, object]:
    try:
        return "ok", call()
    except ApiError as e:
        return "error", (e.status, e.code, e.headers.get("Connection"))
    except ConnectionError:
        return "gone", None


def both(chunks: list[bytes], declared: str | None, limit: int, fail_at: int | None = None):
    """The blocking and the async reading of the same stream: outcome and
    bytes read."""
    a, b = Stream(chunks, fail_at), Stream(chunks, fail_at)
    sync = outcome(lambda: http.read_limited(a.blocking(), declared, limit))
    on_loop = outcome(lambda: asyncio.run(http.read_limited_async(b.nonblocking(), declared,
                                                                  limit)))
    return (sync, a.read), (on_loop, b.read)


def test_blocking_and_async_reads_give_the_same_answers() -> None:
    rng = random.Random(5)
    for _ in range(300):
        size, limit = rng.randrange(0, 400), rng.randrange(1, 200)
        body = bytes(rng.randrange(256) for _ in range(size))
        chunks = pieces(body, rng)
        declared = rng.choice([None, str(size), str(size + rng.randrange(0, 300)), "junk"])
        (sync, read_sync), (on_loop, read_loop) = both(chunks, declared, limit)
        assert sync == on_loop and read_sync == read_loop
        over = size > limit or (declared is not None and declared.isdigit()
                                and int(declared) > limit)
        if over:
            assert sync == ("error", (413, "payload_too_large", "close"))
            # The rest is drained, up to 8× the limit, so the client reads the answer.
            if size <= 8 * limit:
                assert read_sync == size
            else:
                assert 8 * limit < read_sync <= 8 * limit + 2 * max(map(len, chunks))
        else:
            assert sync == ("ok", body)


def test_a_client_gone_before_the_limit_is_not_a_413_but_after_it_is() -> None:
    chunks = [b"a" * 10] * 5
    (sync, _), (on_loop, _) = both(chunks, None, 100, fail_at=2)
    assert sync == on_loop == ("gone", None)
    (sync, _), (on_loop, _) = both(chunks, None, 15, fail_at=3)
    assert sync == on_loop == ("error", (413, "payload_too_large", "close"))


def test_only_json_bodies_are_read_as_json() -> None:
    for good in ("application/json", "Application/JSON; charset=utf-8", "application/ld+json"):
        assert http.read_json(good, iter([b"{}"]), "2", 10) == b"{}"
    for bad in (None, "", "text/plain", "application/jsonx", "application/+json"):
        e = pytest.raises(ApiError, http.read_json, bad, iter([b"{}"]), "2", 10).value
        assert (e.status, e.code) == (415, "unsupported_media_type")
        e = pytest.raises(ApiError, asyncio.run,
                          http.read_json_async(bad, Stream([b"{}"]).nonblocking(), "2", 10)).value
        assert e.status == 415


def test_bodiless_reads_the_headers_it_is_given() -> None:
    def headers(**h: str):
        named = {k.replace("_", "-").lower(): v for k, v in h.items()}
        return lambda name: named.get(name.lower())

    assert http.bodiless(headers())
    assert http.bodiless(headers(Content_Length="0"))
    assert http.bodiless(headers(Content_Length="", Content_Type=""))
    assert not http.bodiless(headers(Content_Length="2"))
    assert not http.bodiless(headers(Content_Type="application/json"))
    assert not http.bodiless(headers(Transfer_Encoding="chunked"))


def test_every_peer_words_a_fault_alike() -> None:
    assert errors.fault().body() == {"error": "internal_error", "message": "internal error",
                                     "details": []}
    e = errors.fault(FileNotFoundError(2, "No such file", "/x"))
    assert (e.status, e.message) == (500, "storage failure: [Errno 2] No such file: '/x'")
    assert errors.fault(ValueError("boom")).message == "internal error: ValueError: boom"
