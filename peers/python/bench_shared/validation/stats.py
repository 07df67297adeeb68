"""Counters of validation work per endpoint, safe to share between threads
and, when the server runs several processes, between its processes (see
`bench_shared.counters`)."""

from __future__ import annotations

import time

from ..counters import Counters

# The endpoints whose work is counted, in `/validation/stats` order.
ENDPOINTS = (
    "simple_user",
    "advanced_user",
    "complex_user",
    "product",
    "batch_users",
    "batch_products",
    "batch_orders",
    "mega_batch",
    "error_handling",
)


class Counter:
    """Requests of one endpoint and the items that passed or failed: three
    slots of the server's counters."""

    __slots__ = ("_counters", "_first")

    def __init__(self, counters: Counters, first: int) -> None:
        self._counters = counters
        self._first = first

    def record(self, valid: int, invalid: int) -> None:
        """One request with `valid` and `invalid` items."""
        i = self._first
        self._counters.add(((i, 1), (i + 1, valid), (i + 2, invalid)))

    def snapshot(self, totals: list[int]) -> dict[str, int]:
        """This endpoint's counts in `totals` (`Counters.totals()`)."""
        requests, valid, invalid = totals[self._first:self._first + 3]
        return {"requests": requests, "valid": valid, "invalid": invalid}


class Stats:
    """One counter per endpoint (summed over the server's processes) and
    this process's uptime."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self._counters = Counters("validation", 3 * len(ENDPOINTS))
        self.counters = {name: Counter(self._counters, 3 * i) for i, name in enumerate(ENDPOINTS)}

    def __getitem__(self, endpoint: str) -> Counter:
        return self.counters[endpoint]

    def uptime_seconds(self) -> int:
        return int(time.monotonic() - self.started)

    def body(self) -> dict:
        """`{"uptime_seconds", "endpoints": {name: {requests, valid, invalid}}}`."""
        totals = self._counters.totals()
        return {
            "uptime_seconds": self.uptime_seconds(),
            "endpoints": {name: self.counters[name].snapshot(totals) for name in sorted(ENDPOINTS)},
        }

    def health(self) -> dict:
        return {"status": "ok", "category": "validation", "uptime_seconds": self.uptime_seconds()}
