"""The queue with a deterministic executor: priorities, batches (their cap,
their own heap, their group's life), timeouts that stop the work, and
several threads submitting while real workers run."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest

from bench_shared.tasks import (Priority, Queue, QueueOptions, Status, TaskFailed, TaskSpec,
                                TaskType)
from bench_shared.tasks.model import payload_bytes


def spec(priority: Priority = Priority.NORMAL, timeout: int = 60, retries: int = 0,
         **payload: Any) -> TaskSpec:
    return TaskSpec(TaskType.COMPUTATION, priority, payload, delay_seconds=0,
                    max_retries=retries, timeout_seconds=timeout)


def finished(q: Queue, tid: str, within: float = 10.0) -> dict:
    deadline = time.monotonic() + within
    while True:
        t = q.get(tid)
        if Status(t["status"]).is_finished:
            return t
        assert time.monotonic() < deadline, t
        time.sleep(0.002)


def until(condition, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.002)


@pytest.fixture
def queues():
    made: list[Queue] = []

    def make(executor, start: bool = True, **options) -> Queue:
        q = Queue(QueueOptions(**options), executor)
        if start:
            q.start()
        made.append(q)
        return q

    yield make
    for q in made:
        q.close()


def test_priorities_first_then_submission_order(queues):
    gate = threading.Event()
    order: list[str] = []

    def run(task, stop):
        if task.payload.get("gate"):
            gate.wait(10)
        order.append(task.payload["name"])
        return {}

    q = queues(run, workers=1)
    first = q.submit(spec(Priority.LOW, name="gate", gate=True))["id"]
    until(lambda: q.get(first)["status"] == "running")
    names = [("low", Priority.LOW), ("normal-1", Priority.NORMAL), ("urgent", Priority.URGENT),
             ("high", Priority.HIGH), ("normal-2", Priority.NORMAL)]
    ids = [q.submit(spec(p, name=n))["id"] for n, p in names]
    depth = q.stats()["queue_depth"]
    assert (depth["normal"], depth["urgent"]) == (2, 1)
    gate.set()
    for tid in ids:
        finished(q, tid)
    assert order == ["gate", "urgent", "high", "normal-1", "normal-2", "low"]


def test_a_saturated_batch_costs_picks_nothing_and_its_group_goes(queues):
    release = threading.Event()

    def run(task, stop):
        if task.payload.get("hold"):
            release.wait(10)
        return {}

    q = queues(run, workers=2, capacity=1000)
    _, batch = q.submit_batch([spec(hold=True) for _ in range(200)], False, 5)
    until(lambda: q.get(batch[0]["id"])["status"] == "running")
    groups, before = q.probe()
    assert groups == 1
    for _ in range(20):
        finished(q, q.submit(spec())["id"])
    _, after = q.probe()
    assert after - before < 100, f"{after - before} heap entries looked at for 20 picks"
    assert [q.get(t["id"])["status"] for t in batch[:3]] == ["running", "pending", "pending"]
    release.set()
    for t in batch:
        assert finished(q, t["id"])["status"] == "completed"
    assert q.probe()[0] == 0, "the finished batch's group is gone"
    for _ in range(10):
        _, tasks = q.submit_batch([spec(Priority.HIGH) for _ in range(3)], True, 2)
        for t in tasks:
            finished(q, t["id"])
    assert q.probe()[0] == 0


def test_a_batch_runs_within_its_cap(queues):
    lock = threading.Lock()
    running: Counter[str] = Counter()
    most: Counter[str] = Counter()

    def run(task, stop):
        batch = task.payload["batch"]
        with lock:
            running[batch] += 1
            most[batch] = max(most[batch], running[batch])
        time.sleep(0.01)
        with lock:
            running[batch] -= 1
        return {}

    q = queues(run, workers=6)
    _, capped = q.submit_batch([spec(batch="capped") for _ in range(12)], True, 3)
    _, serial = q.submit_batch([spec(batch="serial") for _ in range(4)], False, 20)
    for t in capped + serial:
        assert finished(q, t["id"])["status"] == "completed"
    assert most["capped"] == 3 and most["serial"] == 1
    assert q.probe()[0] == 0


def test_cancelling_a_batch_task_frees_or_keeps_its_slot(queues):
    ran: list[int] = []

    def run(task, stop):
        ran.append(task.payload["n"])
        return {}

    q = queues(run, start=False, workers=1)
    _, tasks = q.submit_batch([spec(n=i) for i in range(4)], False, 1)
    ids = [t["id"] for t in tasks]
    # The first is in the ready heap, the others held; cancelling the ready
    # one admits the next, cancelling a held one changes nothing else.
    assert q.cancel(ids[0])["status"] == "cancelled"
    assert q.cancel(ids[2])["status"] == "cancelled"
    assert q.stats()["queue_depth"]["normal"] == 2
    q.start()
    for tid in ids:
        finished(q, tid)
    assert ran == [1, 3]
    assert q.probe()[0] == 0
    # A manual retry brings the batch back for its task, and it goes again.
    q.retry(ids[0])
    finished(q, ids[0])
    assert ran == [1, 3, 0] and q.probe()[0] == 0


def test_a_timed_out_attempt_is_told_to_stop(queues):
    """As the reference: the work's stop flag is set when its time is up,
    and the task fails or retries as a timeout (never as cancelled), the
    next attempt with a clear flag."""
    stopped = threading.Semaphore(0)

    def run(task, stop):
        if task.attempt > 0:
            return {"clear": not stop.is_set()}
        deadline = time.monotonic() + 20
        while not stop.is_set():
            if time.monotonic() > deadline:
                raise TaskFailed("never told to stop")
            time.sleep(0.001)
        stopped.release()
        raise TaskFailed("stopped")

    q = queues(run, workers=2, backoff_base=0.01)
    failing = q.submit(spec(timeout=1))["id"]
    retried = q.submit(spec(timeout=1, retries=1))["id"]
    failed = finished(q, failing)
    assert (failed["status"], failed["error"], failed["cancel_requested"]) == (
        "failed", "timed out after 1 s", False)
    done = finished(q, retried)
    assert (done["status"], done["retry_count"], done["result"]) == ("completed", 1,
                                                                    {"clear": True})
    assert stopped.acquire(timeout=10) and stopped.acquire(timeout=10)


def test_concurrent_submitters_lose_nothing_and_run_nothing_twice(queues):
    lock = threading.Lock()
    runs: Counter[str] = Counter()

    def run(task, stop):
        with lock:
            runs[task.id] += 1
        return {"n": task.payload["n"]}

    q = queues(run, workers=4, capacity=5000)
    accepted: list[list[str]] = [[] for _ in range(4)]
    start = threading.Barrier(4)

    def submitter(k: int) -> None:
        start.wait()
        for i in range(60):
            if i % 10 == 9:
                _, tasks = q.submit_batch([spec(n=i, by=k) for _ in range(3)], True, 2)
                accepted[k].extend(t["id"] for t in tasks)
            else:
                accepted[k].append(q.submit(spec(n=i, by=k))["id"])

    threads = [threading.Thread(target=submitter, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [tid for part in accepted for tid in part]
    assert len(ids) == len(set(ids)) == 4 * (54 + 6 * 3)
    for tid in ids:
        assert finished(q, tid)["status"] == "completed"
    assert set(runs) == set(ids) and set(runs.values()) == {1}
    s = q.stats()
    assert (s["submitted"], s["finished"], s["by_status"]["completed"], s["active"]) == (
        len(ids), len(ids), len(ids), 0)
    assert s["queued_payload_bytes"] == 0 and s["wait_time"]["samples"] == min(len(ids), 1024)
    assert q.list(None, None, None, 1, 0)[0] == len(ids)
    assert q.probe()[0] == 0


def test_queued_bytes_follow_submits_finishes_and_retries(queues):
    q = queues(lambda task, stop: {}, start=False, workers=1)
    a = q.submit(spec(name="a"))
    _, batch = q.submit_batch([spec(name="bb"), spec(name="ccc")], True, 2)
    sizes = [payload_bytes(t["payload"]) for t in [a, *batch]]
    assert sizes == [len('{"name":"a"}'), len('{"name":"bb"}'), len('{"name":"ccc"}')]
    assert q.stats()["queued_payload_bytes"] == sum(sizes)
    q.cancel(a["id"])
    assert q.stats()["queued_payload_bytes"] == sum(sizes[1:])
    q.retry(a["id"])
    assert q.stats()["queued_payload_bytes"] == sum(sizes)
    q.start()
    for t in [a, *batch]:
        finished(q, t["id"])
    assert q.stats()["queued_payload_bytes"] == 0
