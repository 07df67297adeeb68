"""Counters of validation work per endpoint, safe to share between threads."""

from __future__ import annotations

import threading
import time

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
    """Requests of one endpoint and the items that passed or failed."""

    __slots__ = ("_lock", "requests", "valid", "invalid")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.valid = 0
        self.invalid = 0

    def record(self, valid: int, invalid: int) -> None:
        """One request with `valid` and `invalid` items."""
        with self._lock:
            self.requests += 1
            self.valid += valid
            self.invalid += invalid

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {"requests": self.requests, "valid": self.valid, "invalid": self.invalid}


class Stats:
    """One counter per endpoint and the uptime."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.counters = {name: Counter() for name in ENDPOINTS}

    def __getitem__(self, endpoint: str) -> Counter:
        return self.counters[endpoint]

    def uptime_seconds(self) -> int:
        return int(time.monotonic() - self.started)

    def body(self) -> dict:
        """`{"uptime_seconds", "endpoints": {name: {requests, valid, invalid}}}`."""
        return {
            "uptime_seconds": self.uptime_seconds(),
            "endpoints": {name: self.counters[name].snapshot() for name in sorted(ENDPOINTS)},
        }

    def health(self) -> dict:
        return {"status": "ok", "category": "validation", "uptime_seconds": self.uptime_seconds()}
