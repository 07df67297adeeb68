"""Processing off the event loop: jobs run on the gate's worker threads
(bounded workers and waiting room, 503 beyond). Automatic analyses of new
uploads go through the same gate and leave a bounded record per file for
`info`."""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import Future

from .. import errors
from ..gate import Gate
from . import process
from .process import Operation, Processed
from .store import Store

#: Most per-file job records kept for `info`; past it the oldest go.
MAX_RECORDS = 20_000


def _record(status: str, result: dict | None = None, error: str | None = None) -> dict:
    """A job record: status (`queued`, `running`, `done`, `failed`,
    `rejected`), the operation, and its result or why it failed."""
    record: dict = {"status": status, "operation": "analyze"}
    if result is not None:
        record["result"] = result
    if error is not None:
        record["error"] = error
    return record


class Records:
    """Job records by file id, the oldest dropped first past `cap`."""

    def __init__(self, cap: int = MAX_RECORDS) -> None:
        self.cap = cap
        self.by_id: dict[str, dict] = {}
        self.order: deque[str] = deque()

    def put(self, id_: str, record: dict) -> None:
        """Sets the record of `id_`, dropping the oldest past the cap."""
        if id_ not in self.by_id:
            self.order.append(id_)
        self.by_id[id_] = record
        while len(self.by_id) > self.cap and self.order:
            self.by_id.pop(self.order.popleft(), None)
        # Ids of forgotten records pile up in `order`; drop them now and then.
        if len(self.order) > 2 * self.cap:
            self.order = deque(i for i in self.order if i in self.by_id)


class Processor:
    """The gate and the records."""

    def __init__(self, store: Store, workers: int, max_waiting: int) -> None:
        self.store = store
        self.gate = Gate(max(workers, 1), max_waiting, name="process")
        self._records = Records()
        self._lock = threading.Lock()

    def submit(self, id_: str, op: Operation) -> "Future[tuple[Processed, int]]":
        """Queues `op` on `id_`; the future gives the result and the
        microseconds from submission to the end. 503 `busy` when full."""
        started = time.perf_counter_ns()

        def job() -> tuple[Processed, int]:
            result = process.process(self.store, id_, op)
            return result, (time.perf_counter_ns() - started) // 1000

        return self.gate.submit(job)

    def is_full(self) -> bool:
        """Whether a job would be refused now."""
        return self.gate.is_full()

    def analyze_later(self, id_: str) -> dict:
        """Queues `analyze` of a new upload; its outcome shows in `info`.
        Returns the record as queued, or `rejected` when the queue is full
        (the upload itself stands)."""
        if self.is_full():
            return _record("rejected", error="the processing queue is full")
        self.store.stats.bump("auto_processed")
        queued = _record("queued")
        self._put(id_, queued)

        def job() -> None:
            self._put(id_, _record("running"))
            try:
                outcome = process.process(self.store, id_, Operation("analyze"))
                record = _record("done", result=outcome.analysis)
            except errors.ApiError as e:
                record = _record("failed", error=e.message)
            except Exception as e:  # a file-system fault: recorded, not raised
                record = _record("failed", error=f"storage failure: {e}")
            self._put(id_, record)

        try:
            self.gate.submit(job)
        except errors.ApiError as e:
            self._put(id_, _record("failed", error=e.message))
        return queued

    def _put(self, id_: str, record: dict) -> None:
        with self._lock:
            self._records.put(id_, record)

    def job(self, id_: str) -> dict | None:
        """The automatic processing record of `id_`."""
        with self._lock:
            return self._records.by_id.get(id_)

    def forget(self, ids: list[str]) -> None:
        """Forgets the records of deleted files."""
        with self._lock:
            for id_ in ids:
                self._records.by_id.pop(id_, None)

    def load(self) -> dict:
        """Workers, jobs running or waiting, and the waiting bound."""
        return {"workers": self.gate.workers, "in_progress": self.gate.load(),
                "max_waiting": self.gate.max_waiting}
