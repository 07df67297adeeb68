"""Request rules every server applies the same way, whatever its framework:
which bodies are JSON, how bodies are read within their limit (blocking or
on an event loop), how JSON and parameters are read, and the errors for
each way they can be wrong (400 unparseable, 415 wrong media type, 413 too
large; 422 belongs to validation). A framework's `common` module only hands
these its request's headers and body chunks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import time
from typing import Any, AsyncIterator, Callable, Iterable, Iterator, Mapping

from . import errors

_UINT = re.compile(r"\+?[0-9]+\Z")
_INT = re.compile(r"[+-]?[0-9]+\Z")
# Integers beyond 64 bits are unparseable, as in the reference (u64/i64).
_U64_MAX = (1 << 64) - 1


def is_json(content_type: str | None) -> bool:
    """`application/json` or `application/*+json`, any parameters, any case."""
    if not content_type:
        return False
    essence = content_type.split(";", 1)[0].strip().lower()
    kind, _, sub = essence.partition("/")
    return kind == "application" and (sub == "json" or (len(sub) > 5 and sub.endswith("+json")))


def is_bodiless(
    content_type: str | None, content_length: str | None, transfer_encoding: str | None
) -> bool:
    """Whether a request has no body at all: no Content-Type, no
    Transfer-Encoding, and a Content-Length absent or 0 (as
    `shared::api::is_bodiless`; an empty header, as WSGI may pass an absent
    one, counts as absent). An endpoint with a documented default answers
    such a request with it."""
    return not content_type and not transfer_encoding and (content_length or "0").strip() == "0"


def bodiless(header: Callable[[str], str | None]) -> bool:
    """`is_bodiless` of a request whose headers `header(name)` gives."""
    return is_bodiless(header("Content-Type"), header("Content-Length"),
                       header("Transfer-Encoding"))


def require_json(content_type: str | None) -> None:
    """415 unless the body is declared JSON."""
    if not is_json(content_type):
        raise errors.unsupported_media_type("application/json")


# A refused body is read and dropped (at most DRAIN_FACTOR × the limit, for
# at most DRAIN_SECONDS) before the answer, so a client still sending reads
# the refusal instead of a reset connection (as `shared::api::drain` does).
DRAIN_FACTOR = 8
DRAIN_SECONDS = 2.0
#: Bytes asked of a blocking body stream at a time.
READ_SIZE = 64 * 1024


def chunks_of(read: Callable[[int], bytes]) -> Iterator[bytes]:
    """A blocking stream's `read` as chunks, until it gives nothing."""
    return iter(lambda: read(READ_SIZE), b"")


def drain(chunks: Iterator[bytes], budget: int) -> None:
    """Reads and drops what the client is still sending (at most `budget`
    bytes, for at most DRAIN_SECONDS), so it reads our refusal instead of a
    reset connection; a failing read just ends it."""
    deadline = time.monotonic() + DRAIN_SECONDS
    seen = 0
    try:
        for chunk in chunks:
            seen += len(chunk)
            if seen > budget or time.monotonic() > deadline:
                return
    except Exception:
        return


def read_limited(chunks: Iterator[bytes], content_length: str | None, limit: int) -> bytes:
    """The whole body of a blocking request; 413 past `limit` (declared in
    `content_length`, or found while reading), after draining the rest (up
    to DRAIN_FACTOR × the limit in all)."""
    over = declares_too_much(content_length, limit)
    body = bytearray()
    if not over:
        for chunk in chunks:
            body += chunk
            if len(body) > limit:
                over = True
                break
    if over:
        drain(chunks, DRAIN_FACTOR * limit - len(body))
        raise errors.payload_too_large(limit)
    return bytes(body)


def read_json(content_type: str | None, chunks: Iterator[bytes], content_length: str | None,
              limit: int) -> bytes:
    """The body of a JSON request, blocking: 415 unless declared JSON, 413
    past `limit` (`read_limited`)."""
    require_json(content_type)
    return read_limited(chunks, content_length, limit)


async def drain_async(chunks: AsyncIterator[bytes], budget: int) -> None:
    """`drain` on an event loop: reads and drops what the client is still
    sending, at most `budget` bytes for at most `DRAIN_SECONDS` (a client
    that stops sending is not waited for past it); a failing read ends it."""
    seen = 0
    with contextlib.suppress(Exception):
        async with asyncio.timeout(DRAIN_SECONDS):
            async for chunk in chunks:
                seen += len(chunk)
                if seen > budget:
                    return


async def read_limited_async(chunks: AsyncIterator[bytes], content_length: str | None,
                             limit: int) -> bytes:
    """`read_limited` on an event loop: the whole body, 413 past `limit`
    after draining the rest. A read that fails before the limit is passed
    (a client gone) propagates; once over it, the 413 is the answer."""
    over = declares_too_much(content_length, limit)
    body = bytearray()
    if not over:
        async for chunk in chunks:
            body += chunk
            if len(body) > limit:
                over = True
                break
    if over:
        await drain_async(chunks, DRAIN_FACTOR * limit - len(body))
        raise errors.payload_too_large(limit)
    return bytes(body)


async def read_json_async(content_type: str | None, chunks: AsyncIterator[bytes],
                          content_length: str | None, limit: int) -> bytes:
    """`read_json` on an event loop."""
    require_json(content_type)
    return await read_limited_async(chunks, content_length, limit)


def declares_too_much(content_length: str | None, limit: int) -> bool:
    """Whether `Content-Length` already says the body is over `limit`."""
    return content_length is not None and content_length.isdigit() and int(content_length) > limit


def check_declared_length(content_length: str | None, limit: int) -> None:
    """413 when `Content-Length` already says the body is over `limit`."""
    if declares_too_much(content_length, limit):
        raise errors.payload_too_large(limit)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):
        raise ValueError(f"number {text} is out of range")
    return value


def parse_json(body: bytes) -> Any:
    """The JSON value of `body`: empty, non-UTF-8, malformed or too deeply
    nested is a 400 `malformed_json`."""
    if not body.strip():
        raise errors.malformed_json("request body is empty")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise errors.malformed_json(f"malformed JSON: not UTF-8 ({e.reason})") from None
    try:
        return json.loads(text, parse_float=_finite, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as e:
        raise errors.malformed_json(f"malformed JSON: {e}") from None


def first_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Decoded query pairs as a mapping of each name's first value (as the
    reference reads a repeated parameter)."""
    query: dict[str, str] = {}
    for name, value in pairs:
        query.setdefault(name, value)
    return query


def _too_many_digits(raw: str, limit: int) -> bool:
    """Whether `raw` (sign and digits) has more digits than `limit`, leading
    zeros aside: such a value is out of range, and is never converted
    (Python refuses to convert more than 4300 digits)."""
    return len(raw.lstrip("+-").lstrip("0")) > len(str(limit))


def uint(raw: str, limit: int = _U64_MAX) -> int | None:
    """`raw` as a non-negative integer, or None when it is not one."""
    if not _UINT.match(raw) or _too_many_digits(raw, limit):
        return None
    value = int(raw)
    return value if value <= limit else None


def int_or_none(raw: str, bits: int = 64) -> int | None:
    """`raw` as a signed integer of `bits` bits (64 unless the reference reads
    a wider type), or None."""
    bound = 1 << (bits - 1)
    if not _INT.match(raw) or _too_many_digits(raw, bound):
        return None
    value = int(raw)
    return value if -bound <= value < bound else None


def query_uint(query: Mapping[str, str], name: str, default: int | None = None) -> int | None:
    """A non-negative integer query parameter; absent gives `default`,
    anything else than digits is a 400 `invalid_query`."""
    raw = query.get(name)
    if raw is None:
        return default
    value = uint(raw)
    if value is None:
        raise errors.bad_request(
            "invalid_query", f"query parameter `{name}` must be a non-negative integer, got {raw!r}"
        )
    return value


def query_int(query: Mapping[str, str], name: str, default: int | None = None) -> int | None:
    """A signed integer query parameter; 400 `invalid_query` when unparseable."""
    raw = query.get(name)
    if raw is None:
        return default
    value = int_or_none(raw)
    if value is None:
        raise errors.bad_request(
            "invalid_query", f"query parameter `{name}` must be an integer, got {raw!r}"
        )
    return value


def query_bool(query: Mapping[str, str], name: str, default: bool = False) -> bool:
    """`true`/`false` query parameter; 400 `invalid_query` otherwise."""
    raw = query.get(name)
    if raw is None:
        return default
    if raw in ("true", "false"):
        return raw == "true"
    raise errors.bad_request(
        "invalid_query", f"query parameter `{name}` must be true or false, got {raw!r}"
    )


def path_uint(name: str, raw: str) -> int:
    """A non-negative integer path parameter; 400 `invalid_path_param` otherwise."""
    value = uint(raw)
    if value is None:
        raise errors.bad_request(
            "invalid_path_param",
            f"path parameter `{name}` must be a non-negative integer, got {raw!r}",
            [errors.FieldError(name, "invalid_type", "must be a non-negative integer")],
        )
    return value


class Uptime:
    """Seconds since it was made (an app's start), for `/health`."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def seconds(self) -> int:
        return int(time.monotonic() - self.started)
