"""The listing index against brute force: alone through random inserts,
refiles and removals (as the reference's `index` test), and inside a
running queue through submits, failures, retries, cancels and evictions;
and a listing reads only its page's records."""

from __future__ import annotations

import itertools
import random
import time

import pytest

from bench_shared.errors import ApiError
from bench_shared.tasks import (Priority, Queue, QueueOptions, Status, TaskFailed, TaskSpec,
                                TaskType)
from bench_shared.tasks.index import TaskIndex, key
from counting import CountingMap

FILTERS = list(itertools.product([None, *Status], [None, *TaskType], [None, *Priority]))


def _admits(f, status, task_type, priority) -> bool:
    s, t, p = f
    return (s is None or s is status) and (t is None or t is task_type) and \
        (p is None or p is priority)


def test_pages_and_counts_equal_a_scan():
    rng = random.Random(18)
    index = TaskIndex()
    records: dict[int, tuple[Status, TaskType, Priority]] = {}

    def random_key():
        return (rng.choice(list(Status)), rng.choice(list(TaskType)), rng.choice(list(Priority)))

    for step in range(4000):
        roll = rng.randrange(10)
        if roll <= 5:
            k = random_key()
            index.insert(key(*k), step)
            records[step] = k
        elif roll <= 8 and records:
            seq = rng.choice(list(records))
            to = random_key()
            index.refile(key(*records[seq]), key(*to), seq)
            records[seq] = to
        elif records:
            seq = rng.choice(list(records))
            index.remove(key(*records.pop(seq)), seq)
        if step % 50 == 0:
            f = rng.choice(FILTERS)
            matching = [seq for seq in sorted(records, reverse=True)
                        if _admits(f, *records[seq])]
            assert index.count(*f) == len(matching), f
            offset, limit = rng.randrange(40), rng.randrange(30)
            assert index.page(*f, offset, limit) == matching[offset:offset + limit], f


# --- inside the queue ----------------------------------------------------------


def _run(task, stop):
    """Fails while the attempt's number is below the payload's `fail`."""
    if task.attempt < task.payload.get("fail", 0):
        raise TaskFailed(f"planned failure {task.attempt + 1}")
    return {"attempt": task.attempt}


def _spec(rng: random.Random) -> TaskSpec:
    return TaskSpec(rng.choice(list(TaskType)), rng.choice(list(Priority)),
                    {"fail": rng.choice((0, 0, 0, 1, 5))},
                    delay_seconds=3600 if rng.random() < 0.1 else 0,
                    max_retries=rng.choice((0, 1)), timeout_seconds=60)


def settle(q: Queue) -> None:
    """Waits until nothing runs, retries or waits for a worker (delayed
    tasks wait an hour)."""
    deadline = time.monotonic() + 10
    while True:
        s = q.stats()
        busy = s["by_status"]["running"] + s["by_status"]["retrying"]
        if busy == 0 and sum(s["queue_depth"].values()) == 0:
            return
        assert time.monotonic() < deadline, s
        time.sleep(0.001)


def _check(q: Queue, ids: list[str], filters, pages) -> None:
    held = [t for t in map(q.get, reversed(ids)) if t is not None]
    for f in filters:
        s, t, p = f
        want = [r["id"] for r in held
                if (s is None or r["status"] == s.value)
                and (t is None or r["task_type"] == t.value)
                and (p is None or r["priority"] == p.label)]
        for offset, limit in pages:
            total, page = q.list(s, t, p, limit, offset)
            assert total == len(want), f
            assert [r["id"] for r in page] == want[offset:offset + limit], (f, offset, limit)


def test_listings_equal_a_scan_through_every_change():
    rng = random.Random(26)
    q = Queue(QueueOptions(workers=2, retain_finished=15, backoff_base=0.0, backoff_max=0.0),
              _run)
    q.start()
    ids: list[str] = []
    try:
        for step in range(300):
            roll = rng.random()
            try:
                if roll < 0.5:
                    ids.append(q.submit(_spec(rng))["id"])
                elif roll < 0.6:
                    specs = [_spec(rng) for _ in range(rng.randint(1, 4))]
                    _, tasks = q.submit_batch(specs, rng.random() < 0.5, rng.randint(1, 3))
                    ids.extend(t["id"] for t in tasks)
                elif roll < 0.8 and ids:
                    q.cancel(rng.choice(ids))
                elif ids:
                    q.retry(rng.choice(ids))
            except ApiError as e:
                assert e.status in (404, 409), e
            settle(q)
            if step % 10 == 9:
                pages = [(0, 5), (rng.randrange(10), rng.randrange(1, 20))]
                _check(q, ids, rng.sample(FILTERS, 12) + [(None, None, None)], pages)
        assert q.stats()["evicted"] > 0, "nothing was evicted"
        _check(q, ids, FILTERS, [(0, 5), (3, 4), (0, 1000)])
    finally:
        q.close()


@pytest.mark.parametrize("offset,limit", [(0, 1), (0, 20), (37, 10), (1990, 100)])
def test_a_listing_reads_only_its_page(offset, limit):
    rng = random.Random(offset + limit)
    q = Queue(QueueOptions(workers=1), _run)  # not started: statuses change by cancels only
    ids = [q.submit(_spec(rng))["id"] for _ in range(2000)]
    for tid in rng.sample(ids, 700):
        q.cancel(tid)
    table = CountingMap(q._tasks)
    with q._lock:
        q._tasks = table
    for s, t, p in FILTERS:
        table.lookups = 0
        total, page = q.list(s, t, p, limit, offset)
        assert len(page) <= limit
        assert table.lookups <= len(page), (s, t, p, table.lookups)
    with q._lock:
        q._tasks = dict(table)
    _check(q, ids, rng.sample(FILTERS, 20), [(offset, limit)])
