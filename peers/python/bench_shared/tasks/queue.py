"""The queue itself, the twin of the reference's `shared::tasks::queue`: one
lock over the task table, a heap of ready tasks (priority, then submission
order), a heap of delayed and backing-off ones, and worker threads that take
the highest-priority ready task, run its attempt under its timeout, and
record the outcome.

A batch has at most its cap of tasks running or in the ready heap; its
other ready tasks wait in the batch's own heap, so a saturated batch costs
other picks nothing, and its group goes when its last task finishes.
Listings and counts come from the `TaskIndex`, so they look at the page's
records only. Heap entries are invalidated lazily: each task carries a
sequence number that changes whenever it is queued again, and entries with
an old one are skipped. Refusals are `ApiError`s (404, 409, 429
`queue_full` / `queue_bytes_full`, 503 `shutting_down`), as the reference
maps its `QueueError`s.
"""

from __future__ import annotations

import heapq
import random
import threading
import time
from collections import deque
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from queue import SimpleQueue
from typing import Any, Callable

from .. import errors
from ..errors import ApiError
from ..gate import cores
from .index import TaskIndex, key
from .model import Priority, Status, Task, TaskSpec, TaskType, payload_bytes
from .stats import Window

#: Default of `QueueOptions.max_queued_payload_bytes`: 64 MiB.
MAX_QUEUED_PAYLOAD_BYTES = 64 * 1024 * 1024


@dataclass(slots=True)
class QueueOptions:
    """Sizes and timings of a queue."""

    #: Attempts executed at once.
    workers: int = field(default_factory=cores)
    #: Most unfinished tasks; submitting more is refused (429).
    capacity: int = 10_000
    #: Finished records kept; older ones are dropped (and counted).
    retain_finished: int = 10_000
    #: Backoff before the first retry (seconds); doubled for each further one.
    backoff_base: float = 1.0
    #: Longest backoff (seconds).
    backoff_max: float = 60.0
    #: Most threads doing task work at once, counting attempts that timed
    #: out and are still stopping (the reference's blocking pool).
    blocking_threads: int = 512
    #: Most bytes of payload (as compact JSON) held by unfinished tasks;
    #: submitting more is refused (429).
    max_queued_payload_bytes: int = MAX_QUEUED_PAYLOAD_BYTES


class TaskFailed(Exception):
    """An attempt failed with this message (retried while retries last)."""


@dataclass(frozen=True, slots=True)
class TaskInput:
    """What an executor gets for one attempt."""

    id: str
    task_type: TaskType
    payload: dict[str, Any]
    #: Attempts made before this one (0 for the first), manual retries included.
    attempt: int


class Stop:
    """Set when an attempt should end early: its task was cancelled or its
    time is up. Work checks it (`is_set`) or sleeps on it (`sleep`)."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def is_set(self) -> bool:
        return self._event.is_set()

    def set(self) -> None:
        self._event.set()

    def sleep(self, seconds: float) -> bool:
        """Waits `seconds`; False when stopped before."""
        return not self._event.wait(seconds)


#: Does one attempt: returns the result or raises `TaskFailed`.
Executor = Callable[[TaskInput, Stop], Any]

# Where a task waits: nowhere, in the ready heap, in its batch's heap until
# the batch has a free slot, or in the timer heap.
_NOWHERE, _READY, _HELD, _TIMED = 0, 1, 2, 3

_NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class _Batch:
    """A batch as submitted, kept with each of its tasks."""

    id: str
    #: Tasks of the batch that may run at once.
    limit: int


@dataclass(slots=True)
class _Entry:
    task: Task
    #: Cancellation asked in this life of the task (reset by a manual retry).
    cancelled: bool = False
    #: The running attempt's stop flag.
    stop: Stop | None = None
    #: Changes whenever the task is queued again; stale heap entries carry an old one.
    seq: int = 0
    slot: int = _NOWHERE
    created_seq: int = 0
    #: When it became ready (monotonic ns).
    ready_at: int = 0
    timeout: float = 1.0
    #: Never dropped by retention (seeded fixtures).
    pinned: bool = False
    #: Payload size, counted against the byte budget while unfinished.
    bytes: int = 0
    batch: _Batch | None = None


@dataclass(slots=True)
class _Group:
    """A batch with unfinished tasks."""

    batch: _Batch
    #: Tasks running or in the ready heap (at most the batch's limit).
    admitted: int = 0
    #: Its other ready tasks, best first: (-priority, seq, id).
    held: list[tuple[int, int, str]] = field(default_factory=list)
    #: Its tasks not finished; the group goes when none are left.
    unfinished: int = 0


@dataclass(frozen=True, slots=True)
class _Job:
    id: str
    input: TaskInput
    stop: Stop
    timeout: float
    batch: str | None


class _Blocking:
    """Daemon threads for task work, started on demand up to `most` (a
    process can exit at once after its drain, whatever is still running)."""

    def __init__(self, most: int) -> None:
        self._most = max(1, most)
        self._jobs: SimpleQueue = SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._lock = threading.Lock()
        self._threads = 0

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        future: Future = Future()
        self._jobs.put((future, fn, args))
        if not self._idle.acquire(blocking=False):
            with self._lock:
                if self._threads < self._most:
                    self._threads += 1
                    threading.Thread(target=self._serve, name="task-work", daemon=True).start()
        return future

    def _serve(self) -> None:
        while True:
            future, fn, args = self._jobs.get()
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as e:  # handed to the waiting worker
                    future.set_exception(e)
            del future, fn, args
            self._idle.release()


def now_rfc3339() -> str:
    """The current UTC time as RFC 3339 with milliseconds (`…T12:00:00.123Z`)."""
    t = time.time()
    ms = int(t * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{ms:03d}Z"


def task_id() -> str:
    """`task-` and 16 random hex digits."""
    return f"task-{random.getrandbits(64):016x}"


def _timeout_message(seconds: float) -> str:
    shown = int(seconds) if seconds == int(seconds) else seconds
    return f"timed out after {shown} s"


class Queue:
    """The queue. `start()` starts its worker threads."""

    def __init__(self, opts: QueueOptions, executor: Executor) -> None:
        self.opts = opts
        self._executor = executor
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._idle = threading.Condition(self._lock)
        self._blocking = _Blocking(opts.blocking_threads)
        self._started = time.monotonic()
        self._next_seq = 0
        self._tasks: dict[str, _Entry] = {}
        self._by_creation: dict[int, str] = {}
        self._ready: list[tuple[int, int, str]] = []  # (-priority, seq, id)
        self._timed: list[tuple[int, int, str]] = []  # (due ns, seq, id)
        self._depth = [0, 0, 0, 0]
        self._by_status = {s: 0 for s in Status}
        # Creation numbers by status × type × priority, for listings.
        self._index = TaskIndex()
        self._finished_order: deque[tuple[str, int]] = deque()
        self._groups: dict[str, _Group] = {}
        # Payload bytes of unfinished tasks.
        self._queued_bytes = 0
        self._submitted = 0
        self._rejected = 0
        self._finished = 0
        self._evicted = 0
        self._wait = Window()
        self._run_time = Window()
        self._closed = False
        # Heap entries looked at while picking (a test probe).
        self._examined = 0
        self._threads: list[threading.Thread] = []

    @property
    def workers(self) -> int:
        return max(1, self.opts.workers)

    def start(self) -> None:
        """Starts the worker threads (daemons)."""
        for i in range(self.workers):
            t = threading.Thread(target=self._worker, name=f"task-worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    # --- bookkeeping (under the lock) -------------------------------------

    def _seq(self) -> int:
        self._next_seq += 1
        return self._next_seq

    def _count(self, tid: str, before: Status | None, after: Status) -> None:
        """Counts and files `tid` as having gone from `before` (None: new)
        to `after`."""
        if before is not None and self._by_status[before] > 0:
            self._by_status[before] -= 1
        self._by_status[after] += 1
        e = self._tasks.get(tid)
        if e is not None:
            t = e.task
            if before is None:
                self._index.insert(key(after, t.task_type, t.priority), e.created_seq)
            else:
                self._index.refile(key(before, t.task_type, t.priority),
                                   key(after, t.task_type, t.priority), e.created_seq)

    def _active(self) -> int:
        s = self._by_status
        return s[Status.PENDING] + s[Status.RUNNING] + s[Status.RETRYING]

    def _push_ready(self, tid: str, now: int) -> None:
        """Makes `tid` ready: into the ready heap, or into its batch's heap
        when the batch has no free slot."""
        seq = self._seq()
        e = self._tasks.get(tid)
        if e is None:
            return
        e.seq, e.ready_at = seq, now
        self._depth[e.task.priority] += 1
        item = (-e.task.priority, seq, tid)
        group = self._groups.get(e.batch.id) if e.batch is not None else None
        if group is not None and group.admitted >= group.batch.limit:
            e.slot = _HELD
            heapq.heappush(group.held, item)
            return
        if group is not None:
            group.admitted += 1
        e.slot = _READY
        heapq.heappush(self._ready, item)

    def _admit(self, batch: str) -> None:
        """Moves `batch`'s best held tasks to the ready heap while it has
        free slots."""
        group = self._groups.get(batch)
        if group is None:
            return
        held = group.held
        while group.admitted < group.batch.limit and held:
            item = heapq.heappop(held)
            self._examined += 1
            e = self._tasks.get(item[2])
            if e is None or e.seq != item[1] or e.slot != _HELD:
                continue
            e.slot = _READY
            group.admitted += 1
            heapq.heappush(self._ready, item)

    def _release_slot(self, batch: str) -> None:
        """Frees a slot of `batch` (a task of it left the heap or stopped
        running) and fills it."""
        group = self._groups.get(batch)
        if group is not None and group.admitted > 0:
            group.admitted -= 1
        self._admit(batch)

    def _join_group(self, batch: _Batch, n: int) -> None:
        """Counts `n` more unfinished tasks of `batch`, opening its group."""
        group = self._groups.get(batch.id)
        if group is None:
            group = self._groups[batch.id] = _Group(batch)
        group.unfinished += n

    def _push_timed(self, tid: str, due: int) -> None:
        seq = self._seq()
        e = self._tasks.get(tid)
        if e is not None:
            e.seq, e.slot = seq, _TIMED
            heapq.heappush(self._timed, (due, seq, tid))

    def _unqueue(self, tid: str) -> None:
        """Takes `tid` out of wherever it waits."""
        seq = self._seq()
        e = self._tasks.get(tid)
        if e is None:
            return
        was = e.slot
        if was == _READY or was == _HELD:
            self._depth[e.task.priority] -= 1
        e.slot, e.seq = _NOWHERE, seq
        if was == _READY and e.batch is not None:
            self._release_slot(e.batch.id)

    # --- submitting --------------------------------------------------------

    def submit(self, spec: TaskSpec) -> dict[str, Any]:
        """Accepts a task and returns its record; 429 when the queue is
        full (of tasks or of payload bytes), 503 when closing."""
        return self._submit_all([(task_id(), spec)], None)[0]

    def submit_as(self, tid: str, spec: TaskSpec) -> dict[str, Any]:
        """Accepts a task under a given id (seeded fixtures); an id already
        present is left as it is and returned."""
        existing = self.get(tid)
        if existing is not None:
            return existing
        return self._submit_all([(tid, spec)], None)[0]

    def submit_batch(self, specs: list[TaskSpec], parallel: bool,
                     max_concurrent: int) -> tuple[str, list[dict[str, Any]]]:
        """Accepts a batch as a whole (or none of it): at most
        `max_concurrent` of its tasks run at once (1 when not `parallel`, so
        they run one by one in order). Returns the batch id and the tasks."""
        batch = _Batch("batch-" + task_id()[5:], max(1, max_concurrent) if parallel else 1)
        tasks = self._submit_all([(task_id(), s) for s in specs], batch)
        return batch.id, tasks

    def _check_room(self, tasks: int, size: int) -> None:
        """Refuses what would exceed the capacity or the byte budget."""
        if self._active() + tasks > self.opts.capacity:
            refusal = errors.too_many(
                "queue_full", f"the queue is full ({self.opts.capacity} unfinished tasks)")
        elif self._queued_bytes + size > self.opts.max_queued_payload_bytes:
            refusal = errors.too_many(
                "queue_bytes_full",
                f"the queued payloads would exceed {self.opts.max_queued_payload_bytes} bytes")
        else:
            return
        self._rejected += tasks
        raise refusal

    def _new_task(self, tid: str, spec: TaskSpec, batch: _Batch | None) -> Task:
        return Task(
            id=tid, task_type=spec.task_type, priority=spec.priority, payload=spec.payload,
            status=Status.PENDING, created_at=now_rfc3339(), started_at=None,
            completed_at=None, progress=0.0, result=None, error=None, retry_count=0,
            attempts=0, max_retries=spec.max_retries, timeout_seconds=spec.timeout_seconds,
            delay_seconds=spec.delay_seconds, cancel_requested=False,
            batch_id=None if batch is None else batch.id)

    def _submit_all(self, specs: list[tuple[str, TaskSpec]],
                    batch: _Batch | None) -> list[dict[str, Any]]:
        now = time.monotonic_ns()
        sizes = [payload_bytes(spec.payload) for _, spec in specs]
        out: list[dict[str, Any]] = []
        with self._lock:
            if self._closed:
                raise errors.unavailable("shutting_down", "the queue is shutting down")
            self._check_room(len(specs), sum(sizes))
            if batch is not None:
                self._join_group(batch, len(specs))
            for (tid, spec), size in zip(specs, sizes):
                task = self._new_task(tid, spec, batch)
                out.append(task.as_dict())
                created = self._seq()
                self._tasks[tid] = _Entry(task=task, created_seq=created, ready_at=now,
                                          timeout=float(max(1, spec.timeout_seconds)),
                                          bytes=size, batch=batch)
                self._queued_bytes += size
                self._by_creation[created] = tid
                self._count(tid, None, Status.PENDING)
                self._submitted += 1
                if spec.delay_seconds > 0:
                    self._push_timed(tid, now + spec.delay_seconds * _NS)
                else:
                    self._push_ready(tid, now)
            self._work.notify(min(len(out), self.workers))
        return out

    # --- reading -----------------------------------------------------------

    def get(self, tid: str) -> dict[str, Any] | None:
        """The task's current record, or None."""
        with self._lock:
            e = self._tasks.get(tid)
            return None if e is None else e.task.as_dict()

    def find(self, tid: str) -> dict[str, Any]:
        """The task's current record; 404 when unknown or dropped."""
        task = self.get(tid)
        if task is None:
            raise _not_found(tid)
        return task

    def list(self, status: Status | None, task_type: TaskType | None,
             priority: Priority | None, limit: int, offset: int) -> tuple[int, list[dict]]:
        """Newest first, filtered: the number of matches and one page of
        them. Both come from the index: only the page's records are looked
        at, whatever the table holds."""
        with self._lock:
            page = []
            for created in self._index.page(status, task_type, priority, offset, limit):
                tid = self._by_creation.get(created)
                e = None if tid is None else self._tasks.get(tid)
                if e is not None:
                    page.append(e.task.as_dict())
            return self._index.count(status, task_type, priority), page

    # --- cancel and retry --------------------------------------------------

    def cancel(self, tid: str) -> dict[str, Any]:
        """Cancels a task: at once when it waits, cooperatively when it runs
        (it then ends as cancelled when its attempt returns)."""
        with self._lock:
            e = self._tasks.get(tid)
            if e is None:
                raise _not_found(tid)
            e.cancelled = True
            status = e.task.status
            if status.is_finished:
                raise errors.conflict("already_finished",
                                      f"task {tid!r} already finished ({status.value})")
            if status is Status.RUNNING:
                e.task.cancel_requested = True
                if e.stop is not None:
                    e.stop.set()
                return e.task.as_dict()
            self._unqueue(tid)
            self._finish(tid, Status.CANCELLED, None, None)
            # A batch's held task may have taken the freed slot.
            self._work.notify()
            return e.task.as_dict()

    def retry(self, tid: str) -> dict[str, Any]:
        """Queues a failed or cancelled task again, with its retries reset."""
        now = time.monotonic_ns()
        with self._lock:
            e = self._tasks.get(tid)
            if e is None:
                raise _not_found(tid)
            status = e.task.status
            if status not in (Status.FAILED, Status.CANCELLED):
                raise errors.conflict(
                    "not_retryable", f"task {tid!r} is {status.value}; only failed or "
                    "cancelled tasks can be retried")
            if self._closed:
                raise errors.unavailable("shutting_down", "the queue is shutting down")
            self._check_room(1, e.bytes)
            self._queued_bytes += e.bytes
            if e.batch is not None:
                self._join_group(e.batch, 1)
            e.cancelled, e.stop = False, None
            t = e.task
            t.status, t.retry_count, t.progress = Status.PENDING, 0, 0.0
            t.result = t.error = t.started_at = t.completed_at = None
            t.cancel_requested = False
            self._count(tid, status, Status.PENDING)
            self._push_ready(tid, now)
            self._work.notify()
            return t.as_dict()

    # --- finishing and retention (under the lock) ---------------------------

    def _finish(self, tid: str, status: Status, result: Any, error: str | None) -> None:
        """Ends a task's current life: status, time, counters, its payload
        bytes and batch membership, retention."""
        e = self._tasks.get(tid)
        if e is None:
            return
        t = e.task
        before = t.status
        t.status = status
        t.completed_at = now_rfc3339()
        if status is Status.COMPLETED:
            t.progress = 1.0
        t.result = result
        if error is not None:
            t.error = error
        self._queued_bytes = max(0, self._queued_bytes - e.bytes)
        if e.batch is not None:
            group = self._groups.get(e.batch.id)
            if group is not None:
                group.unfinished = max(0, group.unfinished - 1)
                if group.unfinished == 0:
                    del self._groups[e.batch.id]
        self._count(tid, before, status)
        self._finished += 1
        self._finished_order.append((tid, e.seq))
        self._evict()

    def _evict(self) -> None:
        while len(self._finished_order) > self.opts.retain_finished:
            old, seq = self._finished_order.popleft()
            e = self._tasks.get(old)
            if e is None or e.seq != seq or not e.task.status.is_finished or e.pinned:
                continue
            del self._tasks[old]
            t = e.task
            self._by_creation.pop(e.created_seq, None)
            self._index.remove(key(t.status, t.task_type, t.priority), e.created_seq)
            if self._by_status[t.status] > 0:
                self._by_status[t.status] -= 1
            self._evicted += 1

    # --- workers -----------------------------------------------------------

    def _promote_due(self, now: int) -> None:
        """Moves due timers to the ready heap."""
        timed = self._timed
        while timed and timed[0][0] <= now:
            _, seq, tid = heapq.heappop(timed)
            e = self._tasks.get(tid)
            if e is None or e.seq != seq or e.slot != _TIMED:
                continue
            if e.task.status is Status.RETRYING:
                self._count(tid, Status.RETRYING, Status.PENDING)
                e.task.status = Status.PENDING
            self._push_ready(tid, now)

    def _take_ready(self, now: int) -> _Job | None:
        """The highest-priority ready task (batches only ever have tasks
        with a free slot in the heap)."""
        ready = self._ready
        while True:
            if not ready:
                return None
            _, seq, tid = heapq.heappop(ready)
            self._examined += 1
            e = self._tasks.get(tid)
            if e is not None and e.seq == seq and e.slot == _READY:
                break
        self._count(tid, Status.PENDING, Status.RUNNING)
        t = e.task
        self._depth[t.priority] -= 1
        e.slot = _NOWHERE
        t.status = Status.RUNNING
        t.attempts += 1
        t.started_at = now_rfc3339()
        e.stop = Stop()
        self._wait.push_micros(max(0, now - e.ready_at) // 1000)
        return _Job(tid, TaskInput(tid, t.task_type, t.payload, t.attempts - 1), e.stop,
                    e.timeout, None if e.batch is None else e.batch.id)

    def _next_job(self) -> _Job | None:
        """Waits for a job; None once the queue is closed."""
        with self._lock:
            while not self._closed:
                now = time.monotonic_ns()
                self._promote_due(now)
                job = self._take_ready(now)
                if job is not None:
                    return job
                due = self._timed[0][0] if self._timed else None
                self._work.wait(None if due is None else max(0, due - now) / _NS)
            return None

    def _worker(self) -> None:
        while True:
            job = self._next_job()
            if job is None:
                return
            self._run(job)

    def _backoff(self, retry: int) -> float:
        return min(self.opts.backoff_base * 2 ** max(0, retry - 1), self.opts.backoff_max)

    def _attempt(self, job: _Job) -> tuple[bool, Any]:
        """Runs the attempt on a work thread, waiting at most its timeout;
        (True, result) or (False, error)."""
        future = self._blocking.submit(self._executor, job.input, job.stop)
        try:
            return True, future.result(timeout=job.timeout)
        except FutureTimeout:
            job.stop.set()  # the work stops at its next check; its result is dropped
            return False, _timeout_message(job.timeout)
        except TaskFailed as e:
            return False, str(e)
        except Exception as e:  # a bug in the work must not kill the worker
            return False, f"the task crashed: {e}"

    def _run(self, job: _Job) -> None:
        started = time.monotonic_ns()
        ok, value = self._attempt(job)
        now = time.monotonic_ns()
        with self._lock:
            self._run_time.push_micros((now - started) // 1000)
            if job.batch is not None:
                self._release_slot(job.batch)
            e = self._tasks.get(job.id)
            if e is not None:
                e.stop = None
                self._record(job.id, e, ok, value, now)
            self._work.notify()
            self._idle.notify_all()

    def _record(self, tid: str, e: _Entry, ok: bool, value: Any, now: int) -> None:
        t = e.task
        if e.cancelled:
            self._finish(tid, Status.CANCELLED, None, "cancelled while running")
        elif ok:
            self._finish(tid, Status.COMPLETED, value, None)
        elif t.retry_count < t.max_retries:
            retries = t.retry_count
            t.retry_count += 1
            t.status = Status.RETRYING
            t.error = value
            self._count(tid, Status.RUNNING, Status.RETRYING)
            self._push_timed(tid, now + int(self._backoff(retries + 1) * _NS))
        else:
            self._finish(tid, Status.FAILED, None, value)

    # --- statistics and life cycle -----------------------------------------

    def stats(self) -> dict[str, Any]:
        """A snapshot of counts, depths, throughput and timings."""
        with self._lock:
            elapsed = time.monotonic() - self._started
            return {
                "by_status": {s.value: self._by_status[s]
                              for s in sorted(Status, key=lambda s: s.value)},
                "queue_depth": {p.label: self._depth[p]
                                for p in sorted(Priority, key=lambda p: p.label)},
                "submitted": self._submitted,
                "rejected": self._rejected,
                "finished": self._finished,
                "throughput_per_second": self._finished / elapsed if elapsed > 0 else 0.0,
                "evicted": self._evicted,
                "active": self._active(),
                "capacity": self.opts.capacity,
                "queued_payload_bytes": self._queued_bytes,
                "workers": self.workers,
                "wait_time": self._wait.percentiles(),
                "run_time": self._run_time.percentiles(),
            }

    def active(self) -> int:
        """Unfinished tasks (cheap; for health checks)."""
        with self._lock:
            return self._active()

    def pin(self, tid: str) -> None:
        """Keeps `tid`'s record however many tasks finish after it."""
        with self._lock:
            e = self._tasks.get(tid)
            if e is not None:
                e.pinned = True

    def probe(self) -> tuple[int, int]:
        """Open batch groups, and heap entries looked at while picking so
        far (for tests)."""
        with self._lock:
            return len(self._groups), self._examined

    def close(self) -> int:
        """Stops taking tasks: submits are refused and idle workers exit;
        running attempts finish. Returns how many unfinished tasks remain
        waiting."""
        with self._lock:
            self._closed = True
            waiting = self._active() - self._by_status[Status.RUNNING]
            self._work.notify_all()
            return waiting

    def drain(self, grace: float) -> int:
        """Waits up to `grace` seconds for running tasks to finish; returns
        how many are still running."""
        deadline = time.monotonic() + grace
        with self._lock:
            while True:
                running = self._by_status[Status.RUNNING]
                left = deadline - time.monotonic()
                if running == 0 or left <= 0:
                    return running
                self._idle.wait(left)


def _not_found(tid: str) -> ApiError:
    return errors.not_found(f"no task with id {tid!r}")
