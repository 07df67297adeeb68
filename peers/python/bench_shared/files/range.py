"""Single byte ranges of the `Range` request header (RFC 9110 §14)."""

from __future__ import annotations

from typing import Final

#: No usable range: send the whole file (no header, another unit, or several
#: ranges, which this server does not combine).
FULL: Final = "full"
#: A `bytes` range that is malformed or lies outside the file (416).
UNSATISFIABLE: Final = "unsatisfiable"

_U64_MAX = (1 << 64) - 1


def _number(s: str) -> int | None:
    if not s or not s.isascii() or not s.isdigit():
        return None
    n = int(s)
    return n if n <= _U64_MAX else None


def parse(header: str | None, size: int) -> str | tuple[int, int]:
    """What a `Range` header asks of a file of `size` bytes: `FULL`,
    `UNSATISFIABLE`, or `(start, end)` with `end` inclusive (206)."""
    if header is None:
        return FULL
    unit, eq, ranges = header.strip().partition("=")
    if not eq:
        return UNSATISFIABLE
    if unit.strip().lower() != "bytes":
        return FULL
    if "," in ranges:
        return FULL
    first, dash, last = ranges.strip().partition("-")
    if not dash:
        return UNSATISFIABLE
    first, last = first.strip(), last.strip()
    if not first:
        n = _number(last)
        if n is not None and n > 0 and size > 0:
            return max(size - n, 0), size - 1
        return UNSATISFIABLE
    start = _number(first)
    if not last:
        if start is not None and start < size:
            return start, size - 1
        return UNSATISFIABLE
    end = _number(last)
    if start is not None and end is not None and start <= end and start < size:
        return start, min(end, size - 1)
    return UNSATISFIABLE
