"""`Gate`: bounded workers and a bounded waiting room for CPU-heavy or
blocking jobs (hashing, image processing, fsync), like the reference's
`shared::gate::Gate`: beyond workers + waiting a job is refused at once with
a 503 `busy` instead of piling up. `cores()` is the pools' default size."""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, TypeVar

from . import errors

T = TypeVar("T")


def cores() -> int:
    """CPUs this process may use, as Rust's `available_parallelism` counts
    them: its affinity mask, lowered by a cgroup v2 CPU quota if one is set
    (`os.cpu_count()` counts the machine's); at least 1."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    quota = _cgroup_quota()
    return max(1, min(n, quota) if quota else n)


def _cgroup_quota(root: str = "/") -> int | None:
    """Whole CPUs the cgroup v2 `cpu.max` of this process allows (rounded
    up), or None without a quota (`root`: where `/proc` and `/sys` are)."""
    try:
        with open(os.path.join(root, "proc/self/cgroup"), encoding="utf-8") as f:
            path = next((line.split(":", 2)[2].strip() for line in f
                         if line.startswith("0::")), None)
        if path is None:
            return None
        cpu_max = os.path.join(root, "sys/fs/cgroup", path.lstrip("/"), "cpu.max")
        with open(cpu_max, encoding="utf-8") as f:
            quota, period = f.read().split()
    except (OSError, ValueError):
        return None
    if quota == "max" or int(period) <= 0:
        return None
    return -(-int(quota) // int(period))


class Gate:
    """`workers` threads (default: `cores()`) run jobs; at most
    `max_waiting` more may wait."""

    def __init__(self, workers: int | None = None, max_waiting: int = 256, name: str = "gate"):
        self.workers = workers or cores()
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

    async def run_async(self, job: Callable[..., T], *args) -> T:
        """Runs `job(*args)` through the gate and awaits its result (for
        handlers on an event loop: the loop is never blocked)."""
        return await asyncio.wrap_future(self.submit(job, *args))
