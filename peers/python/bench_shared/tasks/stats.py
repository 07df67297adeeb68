"""Queue statistics: wait/run time percentiles over the most recent tasks,
the twin of the reference's `Window` (`shared::tasks::stats`): a ring of
the last 1024 durations in whole microseconds and a histogram of the same
(32 buckets per power of two, exact below 32 µs), updated as durations come
and go, so reading the percentiles finds each rank's bucket from cumulative
counts instead of sorting. The same microseconds give the same floats as
the reference. Besides the buckets, the histogram keeps a total per power
of two (a row of 32 buckets), so a rank's bucket is found in two short
cumulative sums (60 rows, then 32 buckets) at C speed."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import deque
from itertools import accumulate
from typing import Any

#: Durations kept for percentiles.
WINDOW = 1024

#: Sub-buckets per power of two: durations are kept to within 1/32 (about
#: 3 %) above 32 µs, exactly below.
SUB_BITS = 5
SUB = 1 << SUB_BITS
#: Buckets for every u64 of microseconds, in rows of SUB.
BUCKETS = (64 - SUB_BITS + 1) * SUB
ROWS = BUCKETS // SUB
#: The largest duration kept (Rust's `u64::MAX` microseconds).
MAX_MICROS = (1 << 64) - 1

#: The quantiles reported, and their names.
QUANTILES = (0.5, 0.9, 0.99, 1.0)
_NAMES = ("p50_ms", "p90_ms", "p99_ms", "max_ms")


def bucket(us: int) -> int:
    """The bucket of `us` microseconds: exact below 32, then 32 per power
    of two."""
    if us < SUB:
        return us
    exp = us.bit_length() - 1
    sub = (us >> (exp - SUB_BITS)) & (SUB - 1)
    return (exp - SUB_BITS + 1) * SUB + sub


def midpoint(b: int) -> float:
    """The middle of bucket `b`, in microseconds (the reference's float)."""
    if b < SUB:
        return float(b)
    exp = b // SUB - 1 + SUB_BITS
    width = 1 << (exp - SUB_BITS)
    low = (1 << exp) + (b % SUB) * width
    return float(low) + float(width - 1) / 2.0


def nearest_rank(n: int, q: float) -> int:
    """round((n - 1) × q), half away from zero as Rust's `f64::round`
    (exactly: the fraction of a non-negative float is exact)."""
    x = (n - 1) * q
    whole = math.floor(x)
    return whole + 1 if x - whole >= 0.5 else whole


class Window:
    """The most recent durations, for percentiles."""

    __slots__ = ("_recent", "_counts", "_rows")

    def __init__(self) -> None:
        self._recent: deque[int] = deque()
        self._counts = [0] * BUCKETS
        # Durations per row of SUB buckets (bucket b is in row b >> SUB_BITS).
        self._rows = [0] * ROWS

    def push(self, seconds: float) -> None:
        """Adds a duration in seconds (truncated to whole microseconds)."""
        if seconds >= MAX_MICROS / 1e6:
            self.push_micros(MAX_MICROS)
        elif seconds > 0:  # NaN and negative durations count as 0
            self.push_micros(int(seconds * 1_000_000))
        else:
            self.push_micros(0)

    def push_micros(self, us: int) -> None:
        """Adds a duration in whole microseconds (clamped to 0..u64::MAX),
        dropping the oldest beyond 1024."""
        us = min(max(us, 0), MAX_MICROS)
        if len(self._recent) == WINDOW:
            old = bucket(self._recent.popleft())
            self._counts[old] -= 1
            self._rows[old >> SUB_BITS] -= 1
        self._recent.append(us)
        b = bucket(us)
        self._counts[b] += 1
        self._rows[b >> SUB_BITS] += 1

    def _bucket_of(self, rows_seen: list[int], rank: int) -> int:
        """The bucket holding the `rank`-th smallest duration (0-based): the
        first whose cumulative count passes it."""
        row = bisect_right(rows_seen, rank)
        before = rows_seen[row - 1] if row else 0
        first = row * SUB
        seen = list(accumulate(self._counts[first:first + SUB]))
        return first + bisect_right(seen, rank - before)

    def percentiles(self) -> dict[str, Any]:
        """`samples`, `p50_ms`, `p90_ms`, `p99_ms`, `max_ms`: the midpoint of
        the bucket holding each nearest rank of the window, in ms."""
        n = len(self._recent)
        out: dict[str, Any] = {"samples": n}
        if n == 0:
            out.update(dict.fromkeys(_NAMES, 0.0))
            return out
        rows_seen = list(accumulate(self._rows))
        for name, q in zip(_NAMES, QUANTILES):
            out[name] = midpoint(self._bucket_of(rows_seen, nearest_rank(n, q))) / 1e3
        return out
