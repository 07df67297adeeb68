"""Counters of the file store, read by `GET /stats`."""

from __future__ import annotations

import threading

_FIELDS = ("uploads", "upload_bytes", "rejected_uploads", "downloads", "streams", "bytes_out",
           "deletes", "evicted", "processed", "processing_failed", "analyze", "compress",
           "resize", "convert", "auto_processed")


class Stats:
    """Live counters, all monotonic; safe to bump from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(_FIELDS, 0)

    def bump(self, name: str, n: int = 1) -> None:
        """Adds `n` to the counter `name` (one of the snapshot's fields)."""
        with self._lock:
            self._counts[name] += n

    def processed(self, operation: str, ok: bool) -> None:
        """Counts one finished job of `operation`."""
        per_op = operation if operation in ("analyze", "compress", "resize") else "convert"
        with self._lock:
            self._counts[per_op] += 1
            self._counts["processed" if ok else "processing_failed"] += 1

    def snapshot(self, files: int, stored_bytes: int) -> dict[str, int]:
        """The counters with the store's current `files` and `stored_bytes`."""
        with self._lock:
            return {"files": files, "stored_bytes": stored_bytes, **self._counts}
