"""The `background_tasks` category as a whole, for any framework: a work
directory (temporary unless given, removed at exit), the queue and its
workbench, the seeded fixtures, and the answers of every route as JSON-ready
data. A framework only routes, validates the request's shape and calls
these; every call is short (one lock), so it may run on an event loop."""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
import threading
import time
from typing import Any, Mapping

from .. import errors
from ..gate import cores
from ..room import room
from .model import Priority, TaskSpec, TaskType
from .queue import MAX_QUEUED_PAYLOAD_BYTES, Queue, QueueOptions
from .request import batch_spec, list_query, task_spec
from .work import Workbench

#: How long running tasks may take to finish at shutdown (seconds).
DRAIN_SECONDS = 10.0


def _fixture(kind: TaskType, payload: dict[str, Any]) -> TaskSpec:
    return TaskSpec(kind, Priority.NORMAL, payload, delay_seconds=0, max_retries=0,
                    timeout_seconds=60)


#: The seeded tasks (they run at start like any task, and are never evicted).
FIXTURES: tuple[tuple[str, TaskSpec], ...] = (
    ("test-task-1", _fixture(TaskType.COMPUTATION, {"iterations": 1000})),
    ("test-task-2", _fixture(TaskType.DATA_PROCESSING, {"records": 100})),
    ("test-task-3", _fixture(TaskType.COMPUTATION, {"iterations": 10, "fail_times": 1_000_000})),
)


class TaskService:
    """The queue, its workbench and work directory, and the routes' answers.

    Defaults are the reference's: 4 × cores workers (so blocking hand-offs
    overlap), capacity 10,000 unfinished tasks, 10,000 finished records
    kept, 64 MiB of queued payloads."""

    def __init__(self, workers: int | None = None, capacity: int = 10_000,
                 retain_finished: int = 10_000, work_dir: str | None = None,
                 drain_seconds: float = DRAIN_SECONDS,
                 max_queued_payload_bytes: int = MAX_QUEUED_PAYLOAD_BYTES) -> None:
        self.options = QueueOptions(
            workers=workers or 4 * cores(),
            # Room for the fixtures whatever the capacity, and for a
            # scaling run's records.
            capacity=max(capacity, len(FIXTURES), room()),
            retain_finished=max(retain_finished, room()),
            max_queued_payload_bytes=max_queued_payload_bytes,
        )
        self.drain_seconds = drain_seconds
        self._given_dir = work_dir
        self._temp_dir: str | None = None
        self._lock = threading.Lock()
        self.queue: Queue | None = None
        self.bench: Workbench | None = None
        self.started = time.monotonic()

    # --- life cycle ----------------------------------------------------------

    def start(self) -> None:
        """Opens the work directory, starts the workers, seeds the fixtures."""
        with self._lock:
            if self.queue is not None:
                return
            directory = self._given_dir
            if directory is None:
                directory = self._temp_dir = tempfile.mkdtemp(prefix="background-tasks-")
                atexit.register(self._remove_work_dir)
            self.bench = Workbench(directory)
            queue = Queue(self.options, self.bench)
            self.bench.attach(queue)
            queue.start()
            for tid, spec in FIXTURES:
                queue.submit_as(tid, spec)
                queue.pin(tid)
            self.queue = queue
            self.started = time.monotonic()

    def stop(self) -> int:
        """Closes the queue, lets running tasks finish within the drain time,
        removes a temporary work directory; returns the unfinished tasks
        left (dropped: the queue lives in memory)."""
        queue = self.queue
        if queue is None:
            return 0
        waiting = queue.close()
        left = waiting + queue.drain(self.drain_seconds)
        self._remove_work_dir()
        print(f"background-tasks: stopped with {left} unfinished task(s), dropped (memory only)",
              file=sys.stderr, flush=True)
        return left

    def _remove_work_dir(self) -> None:
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)

    def _queue(self) -> Queue:
        queue = self.queue
        if queue is None:
            raise errors.unavailable("starting", "the task queue is not started yet")
        return queue

    def learn_address(self, server: tuple[str, int] | list | None) -> None:
        """Records where this server listens (the local address of a
        connection), for network tasks' `/path` URLs."""
        bench = self.bench
        if bench is not None and bench.own_addr is None and server and server[1]:
            bench.set_own_addr(str(server[0]), int(server[1]))

    # --- routes ----------------------------------------------------------------

    def submit(self, request: Any) -> dict[str, Any]:
        """`POST /tasks` (a parsed JSON object, or a framework model of one
        that already passed its checks): the new record (201)."""
        return self._queue().submit(task_spec(request))

    def submit_batch(self, request: Any) -> dict[str, Any]:
        """`POST /tasks/batch`: the batch id and its records (201)."""
        batch = batch_spec(request)
        batch_id, tasks = self._queue().submit_batch(batch.tasks, batch.parallel,
                                                     batch.max_concurrent)
        return {
            "batch_id": batch_id,
            "count": len(tasks),
            "execute_parallel": batch.parallel,
            "max_concurrent": batch.max_concurrent if batch.parallel else 1,
            "tasks": tasks,
        }

    def get(self, tid: str) -> dict[str, Any]:
        """`GET /tasks/{id}`."""
        return self._queue().find(tid)

    def cancel(self, tid: str) -> dict[str, Any]:
        """`DELETE /tasks/{id}`: 409 `already_finished` when finished."""
        return self._queue().cancel(tid)

    def retry(self, tid: str) -> dict[str, Any]:
        """`POST /tasks/{id}/retry`: 409 `not_retryable` unless failed or cancelled."""
        return self._queue().retry(tid)

    def list(self, query: Mapping[str, str]) -> dict[str, Any]:
        """`GET /tasks?status&task_type&priority&limit&offset`: newest first."""
        q = list_query(query)
        total, tasks = self._queue().list(q.status, q.task_type, q.priority, q.limit, q.offset)
        return {"tasks": tasks, "total": total, "limit": q.limit, "offset": q.offset}

    def uptime(self) -> int:
        return int(time.monotonic() - self.started)

    def stats(self) -> dict[str, Any]:
        """`GET /stats`."""
        return {"queue": self._queue().stats(), "durable": False, "uptime_seconds": self.uptime()}

    def health(self) -> dict[str, Any]:
        """`GET /health`: tasks live in memory only (no journal)."""
        queue = self.queue
        return {
            "status": "ok",
            "category": "background_tasks",
            "durable": False,
            "storage": "memory only",
            "active_tasks": queue.active() if queue is not None else 0,
            "uptime_seconds": self.uptime(),
        }
