"""The task queue of the `background_tasks` category, the twin of the
reference's `shared::tasks`: priorities (urgent > high > normal > low, FIFO
within one), delayed start, per-attempt timeouts, retries with exponential
backoff, cancellation (at once when waiting, cooperative when running),
manual retry of failed or cancelled tasks, batches with a concurrency cap,
bounded capacity, bounded retention of finished records, and statistics.

It runs on plain Python threads and imports no web framework, so every
Python peer shares it; what a task *does* is the `Workbench`'s real work.
Modules:

- `model`: priority, status, type, spec, record, `payload_bytes` (a
  payload's size as the reference's compact JSON)
- `index`: creation numbers by status × type × priority (filtered pages
  merge the matching sets and stop at the page's end)
- `stats`: wait/run percentiles from a histogram of the last 1024
  durations, updated as they come and go
- `target`: a network task's URL, parsed once for validator and fetcher
  (loopback only)
- `request`: submission rules (defaults, per-type payload bounds, payload
  and URL sizes, every failing field with its path), list filters
- `queue`: the queue itself (one lock, a ready heap, per-batch heaps, a
  timer heap, workers, capacity and queued payload bytes)
- `fetch`: network tasks' HTTP client (keep-alive pool, capped answers)
- `work`: the `Workbench` executor (checksum loop, file write/sync/read-back,
  loopback GET, aggregation, outbox e-mail, queue report; `fail_times` and
  `hold_ms` knobs)
- `service`: the category as a whole (work directory, queue, seeded
  fixtures, health, stats, shutdown)

The reference's optional journal (off by default) is not ported: these
peers keep tasks in memory only, as the reference does by default.
"""

from .model import Priority, Status, Task, TaskSpec, TaskType
from .queue import Queue, QueueOptions, Stop, TaskFailed, TaskInput
from .service import TaskService
from .stats import Window
from .work import Workbench

__all__ = [
    "Priority",
    "Queue",
    "QueueOptions",
    "Status",
    "Stop",
    "Task",
    "TaskFailed",
    "TaskInput",
    "TaskService",
    "TaskSpec",
    "TaskType",
    "Window",
    "Workbench",
]
