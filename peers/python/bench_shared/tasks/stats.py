"""Queue statistics: counts per status, depth per priority, throughput and
wait/run time percentiles over the most recent tasks."""

from __future__ import annotations

from collections import deque
from typing import Any

#: Durations kept for percentiles.
WINDOW = 1024


class Window:
    """The most recent durations (seconds), for percentiles."""

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values: deque[float] = deque(maxlen=WINDOW)

    def push(self, seconds: float) -> None:
        self._values.append(seconds)

    def percentiles(self) -> dict[str, Any]:
        """`samples`, `p50_ms`, `p90_ms`, `p99_ms`, `max_ms`: the value at
        rank round((n - 1) × q) of the sorted window, as the reference."""
        values = sorted(v * 1e3 for v in self._values)
        n = len(values)

        def at(q: float) -> float:
            # Half away from zero, like Rust's f64::round (ranks are >= 0).
            return values[int((n - 1) * q + 0.5)] if n else 0.0

        return {
            "samples": n,
            "p50_ms": at(0.5),
            "p90_ms": at(0.9),
            "p99_ms": at(0.99),
            "max_ms": values[-1] if n else 0.0,
        }
