"""`Gate`: bounded workers and a bounded waiting room for CPU-heavy or
blocking jobs (hashing, image processing, fsync), like the reference's
`server_kit::Gate`: beyond workers + waiting a job is refused at once with a
503 `busy` instead of piling up."""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, TypeVar

from . import errors

T = TypeVar("T")


class Gate:
    """`workers` threads run jobs; at most `max_waiting` more may wait."""

    def __init__(self, workers: int | None = None, max_waiting: int = 256, name: str = "gate"):
        self.workers = workers or os.cpu_count() or 1
        self.max_waiting = max_waiting
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._admitted = 0

    def load(self) -> int:
        """Jobs running or waiting."""
        return self._admitted

    def is_full(self) -> bool:
        """Whether a job would be refused now."""
        return self._admitted >= self.workers + self.max_waiting

    def submit(self, job: Callable[..., T], *args) -> "Future[T]":
        """Queues `job(*args)`; 503 `busy` when workers and waiting room are
        full. The slot is held until the job ends, even if its caller stops
        waiting for it (a client hanging up)."""
        with self._lock:
            if self._admitted >= self.workers + self.max_waiting:
                raise errors.unavailable(
                    "busy", "too many jobs are waiting for a worker; retry later"
                )
            self._admitted += 1
        try:
            future = self._pool.submit(job, *args)
        except BaseException:
            self._release(None)
            raise
        future.add_done_callback(self._release)
        return future

    def _release(self, _future: object) -> None:
        with self._lock:
            self._admitted -= 1

    def run(self, job: Callable[..., T], *args) -> T:
        """Runs `job(*args)` through the gate and waits for its result (for
        synchronous handlers)."""
        return self.submit(job, *args).result()
