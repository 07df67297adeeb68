"""Counters that every process of one server adds to, read as one total.

A server of several processes (uvicorn `--workers`, gunicorn `-w`) must
still answer `/validation/stats` with what all of them counted, as the
reference's one multi-threaded process does with atomics. The design is
prometheus_client's multiprocess mode: the parent makes a directory and
names it in `BENCH_COUNTERS_DIR` before starting its workers; each process
maps a file of its own there (`<name>-<pid>.bin`, int64 slots) and adds to
it under its own lock, and a reader sums the files of every process, the
ones that ended included (what they counted happened). Without the
variable the slots live in this process's memory.
"""

from __future__ import annotations

import atexit
import glob
import mmap
import os
import shutil
import subprocess
import tempfile
import threading
from typing import Iterable

from .reaper import remove_when_gone

#: The environment variable naming the directory shared by a server's processes.
ENV = "BENCH_COUNTERS_DIR"

_SLOT = 8  # bytes of one int64 slot


class Counters:
    """`size` int64 counters named `name`, shared by the processes of a
    server when `BENCH_COUNTERS_DIR` is set."""

    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.size = size
        self._lock = threading.Lock()
        self._open()
        # A process forked after this keeps its own file, not its parent's.
        os.register_at_fork(after_in_child=self._open)

    def _open(self) -> None:
        self._lock = threading.Lock()
        self._dir = os.environ.get(ENV) or None
        if self._dir is None:
            self._slots = memoryview(bytearray(self.size * _SLOT)).cast("q")
            return
        path = os.path.join(self._dir, f"{self.name}-{os.getpid()}.bin")
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.ftruncate(fd, self.size * _SLOT)
            self._map = mmap.mmap(fd, self.size * _SLOT)
        finally:
            os.close(fd)
        self._slots = memoryview(self._map).cast("q")

    def add(self, deltas: Iterable[tuple[int, int]]) -> None:
        """Adds each `(slot, delta)` (each slot on its own: a reader may see
        one added before the next, as with the reference's atomics)."""
        slots = self._slots
        with self._lock:
            for slot, delta in deltas:
                slots[slot] += delta

    def totals(self) -> list[int]:
        """Every slot summed over the server's processes."""
        if self._dir is None:
            with self._lock:
                return self._slots.tolist()
        out = [0] * self.size
        for path in glob.glob(os.path.join(glob.escape(self._dir), f"{self.name}-*.bin")):
            try:
                with open(path, "rb") as f:
                    data = f.read(self.size * _SLOT)
            except OSError:
                continue
            if len(data) != self.size * _SLOT:
                continue  # a process still creating its file
            for i, value in enumerate(memoryview(data).cast("q")):
                out[i] += value
        return out


def share_between_processes() -> str:
    """Makes a directory for the counters of this server's processes and
    names it in the environment its workers inherit (call it in the parent,
    before they start). It is removed when the server ends, however it ends."""
    directory = tempfile.mkdtemp(prefix="bench-counters-")
    os.environ[ENV] = directory
    atexit.register(remove_shared, directory, remove_when_gone(directory), os.getpid())
    return directory


def remove_shared(directory: str, reaper: subprocess.Popen | None, owner: int) -> None:
    """Removes the directory `share_between_processes` made, in its `owner`
    only: forked workers inherit the exit handler, and a worker that exits
    keeps what it counted."""
    if os.getpid() != owner:
        return
    shutil.rmtree(directory, ignore_errors=True)
    if reaper is not None and reaper.stdin is not None:
        reaper.stdin.close()
