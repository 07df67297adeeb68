"""The Python half of the equal-work test: replays a script of store and
queue operations on `bench_shared` and prints what each one observed, as
JSON, exactly as `crates/shared/examples/equal_work.rs` does on `shared`
(read its header for the script format). `test_equal_work.py` runs both on
the same scripts and compares.

    python tests/replay.py < script.json
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench_shared.errors import ApiError  # noqa: E402
from bench_shared.files.meta import FileMeta, NewFile  # noqa: E402
from bench_shared.files.store import Store, StoreOptions  # noqa: E402
from bench_shared.tasks.model import Priority, Status, TaskSpec, TaskType  # noqa: E402
from bench_shared.tasks.queue import Queue, QueueOptions, TaskFailed, TaskInput  # noqa: E402
from bench_shared.tasks.stats import Window  # noqa: E402
from counting import CountingMap  # noqa: E402


def refusal(e: ApiError) -> dict:
    return {"error": [e.status, e.code]}


def uint(v: dict, name: str, default: int) -> int:
    value = v.get(name)
    return default if value is None else int(value)


# --- the task queue ------------------------------------------------------------

def executor(task: TaskInput, _stop: Any) -> Any:
    """An attempt fails while its number is below the payload's `fail`, else
    completes with the attempt's number (the Rust side's executor)."""
    if task.attempt < int(task.payload.get("fail", 0)):
        raise TaskFailed(f"planned failure {task.attempt + 1}")
    return {"attempt": task.attempt}


def spec(v: dict) -> TaskSpec:
    return TaskSpec(
        task_type=TaskType.parse(v.get("type") or "computation"),
        priority=Priority.parse(v.get("priority") or "normal"),
        payload={"fail": uint(v, "fail", 0), "pad": v.get("pad") or ""},
        delay_seconds=uint(v, "delay", 0),
        max_retries=uint(v, "max_retries", 0),
        timeout_seconds=60,
    )


class Names:
    """Task ids and batch ids as ordinals."""

    def __init__(self) -> None:
        self.tasks: dict[str, int] = {}
        self.by_ordinal: list[str] = []
        self.batches: dict[str, int] = {}

    def task(self, tid: str) -> int:
        if tid not in self.tasks:
            self.by_ordinal.append(tid)
            self.tasks[tid] = len(self.by_ordinal) - 1
        return self.tasks[tid]

    def batch(self, bid: str) -> int:
        return self.batches.setdefault(bid, len(self.batches))

    def record(self, t: dict) -> dict:
        return {
            "task": self.task(t["id"]),
            "type": t["task_type"],
            "priority": t["priority"],
            "status": t["status"],
            "retry_count": t["retry_count"],
            "attempts": t["attempts"],
            "max_retries": t["max_retries"],
            "delay_seconds": t["delay_seconds"],
            "result": t["result"],
            "error": t["error"],
            "cancel_requested": t["cancel_requested"],
            "batch": None if t["batch_id"] is None else self.batch(t["batch_id"]),
        }

    def named(self, n: int) -> str:
        return self.by_ordinal[n] if 0 <= n < len(self.by_ordinal) else f"task-unknown-{n}"


def settle(queue: Queue) -> None:
    """Waits until nothing runs or waits for a worker."""
    while True:
        s = queue.stats()
        busy = s["by_status"]["running"] + s["by_status"]["retrying"]
        if busy == 0 and sum(s["queue_depth"].values()) == 0:
            return
        time.sleep(0.001)


def task_op(queue: Queue, names: Names, op: dict) -> Any:
    kind = op.get("op")
    try:
        if kind == "submit":
            return {"ok": names.record(queue.submit(spec(op)))}
        if kind == "batch":
            batch, tasks = queue.submit_batch([spec(t) for t in op.get("tasks", [])],
                                              op.get("parallel", True),
                                              uint(op, "max_concurrent", 1))
            return {"batch": names.batch(batch), "ok": [names.record(t) for t in tasks]}
        if kind == "cancel":
            return {"ok": names.record(queue.cancel(names.named(uint(op, "task", 0))))}
        if kind == "retry":
            return {"ok": names.record(queue.retry(names.named(uint(op, "task", 0))))}
        if kind == "get":
            t = queue.get(names.named(uint(op, "task", 0)))
            return {"ok": None if t is None else names.record(t)}
    except ApiError as e:
        return refusal(e)
    if kind == "list":
        table = queue._tasks
        table.lookups = 0
        total, page = queue.list(
            Status.parse(op["status"]) if op.get("status") else None,
            TaskType.parse(op["type"]) if op.get("type") else None,
            Priority.parse(op["priority"]) if op.get("priority") else None,
            uint(op, "limit", 20), uint(op, "offset", 0))
        return {"total": total, "tasks": [names.record(t) for t in page],
                "records_read": table.lookups}
    if kind == "stats":
        s = queue.stats()
        return {
            "by_status": s["by_status"],
            "queue_depth": s["queue_depth"],
            "submitted": s["submitted"],
            "rejected": s["rejected"],
            "finished": s["finished"],
            "evicted": s["evicted"],
            "active": s["active"],
            "capacity": s["capacity"],
            "queued_payload_bytes": s["queued_payload_bytes"],
            "workers": s["workers"],
            "wait_samples": s["wait_time"]["samples"],
            "run_samples": s["run_time"]["samples"],
        }
    raise SystemExit(f"unknown task op {kind!r}")


def tasks(options: dict, ops: list[dict]) -> dict:
    queue = Queue(QueueOptions(
        workers=1,
        capacity=uint(options, "capacity", 10_000),
        retain_finished=uint(options, "retain_finished", 10_000),
        backoff_base=0.0,
        backoff_max=0.0,
        max_queued_payload_bytes=uint(options, "max_queued_payload_bytes", 64 << 20),
    ), executor)
    # The task table counts the records a listing reads.
    queue._tasks = CountingMap(queue._tasks)
    queue.start()
    names = Names()
    out = []
    for op in ops:
        seen = task_op(queue, names, op)
        settle(queue)
        out.append(seen)
    queue.close()
    return {"observations": out}


# --- percentiles -----------------------------------------------------------------

def window(ops: list[dict]) -> dict:
    w = Window()
    out = []
    for op in ops:
        for us in op.get("push_micros", []):
            w.push_micros(int(us))
        out.append(w.percentiles())
    return {"observations": out}


# --- password hashes -------------------------------------------------------------

def hashes(options: dict, ops: list[dict]) -> dict:
    """Each op's password hashed with its salt, or a stored hash checked,
    with the hasher `bench_shared` accounts use at the options' cost."""
    from argon2.exceptions import VerificationError, InvalidHashError

    from bench_shared.realworld.accounts import HashCost, password_hasher

    hasher = password_hasher(HashCost(memory_kib=uint(options, "memory_kib", 64),
                                      iterations=uint(options, "iterations", 1),
                                      parallelism=uint(options, "parallelism", 1)))
    out = []
    for op in ops:
        if "verify" in op:
            try:
                out.append({"verified": hasher.verify(op["verify"], op["password"])})
            except (VerificationError, InvalidHashError):
                out.append({"verified": False})
        else:
            out.append({"hash": hasher.hash(op["password"], salt=bytes.fromhex(op["salt_hex"]))})
    return {"observations": out}


# --- the file store -----------------------------------------------------------------

def content(seed: int, size: int) -> bytes:
    """Byte i is `(seed + 7 i) mod 256`."""
    return bytes((seed + 7 * i) % 256 for i in range(size))


class FileNames:
    """Uploads as ordinals; fixtures keep their fixed ids."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.by_ordinal: list[str] = []

    def name(self, fid: str) -> Any:
        return self.ids.get(fid, fid)

    def add(self, fid: str) -> int:
        self.by_ordinal.append(fid)
        self.ids[fid] = len(self.by_ordinal) - 1
        return self.ids[fid]

    def id(self, v: Any) -> str:
        if isinstance(v, str):
            return v
        return self.by_ordinal[v] if 0 <= v < len(self.by_ordinal) else "f-unknown"


def meta_view(names: FileNames, m: FileMeta) -> dict:
    return {
        "file": names.name(m.id),
        "filename": m.filename,
        "content_type": m.content_type,
        "category": m.category,
        "description": m.description,
        "size": m.size,
        "sha256": m.sha256,
        "fixture": m.fixture,
    }


def file_op(store: Store, names: FileNames, op: dict) -> Any:
    kind = op.get("op")
    try:
        if kind == "upload":
            staged = []
            try:
                for f in op.get("files", []):
                    upload = store.begin_upload()
                    data = content(uint(f, "seed", 0), uint(f, "size", 0))
                    try:
                        for at in range(0, len(data), 4096):
                            upload.write(data[at:at + 4096])
                    except BaseException:
                        upload.discard()
                        raise
                    staged.append((upload.finish(), NewFile(
                        filename=f.get("name") or "f.bin", content_type=f.get("type"),
                        category=op.get("category") or "general",
                        description=op.get("description") or "")))
            except BaseException:
                for s, _ in staged:
                    s.discard()
                raise
            stored = store.commit_all(staged)
            return {"ok": [names.add(m.id) for m in stored]}
        if kind == "delete":
            return {"ok": [names.name(i) for i in store.delete(names.id(op.get("file")))]}
    except ApiError as e:
        return refusal(e)
    if kind == "info":
        m = store.get(names.id(op.get("file")))
        if m is None:
            return {"ok": None}
        return {"ok": meta_view(names, m),
                "derived": [names.name(d.id) for d in store.derived_of(m.id)]}
    if kind == "list":
        files = store._index.files
        files.lookups = 0
        total, page = store.list(op.get("category"), uint(op, "limit", 20), uint(op, "offset", 0))
        return {"total": total, "files": [meta_view(names, m) for m in page],
                "records_read": files.lookups}
    if kind == "snapshot":
        s = dict(store.snapshot())
        s.pop("bytes_out", None)
        return s
    raise SystemExit(f"unknown file op {kind!r}")


def disk(directory: str) -> dict:
    """Entries per directory of the store, and the content bytes under `files/`."""
    out: dict[str, int] = {}
    for sub in ("files", "meta", "tmp", "batches"):
        try:
            entries = list(os.scandir(os.path.join(directory, sub)))
        except OSError:
            entries = []
        out[f"{sub}_entries"] = len(entries)
        if sub == "files":
            out["files_bytes"] = sum(e.stat().st_size for e in entries)
    return out


def files(options: dict, ops: list[dict]) -> dict:
    directory = options["dir"]
    store = Store(StoreOptions(
        directory,
        max_stored_files=uint(options, "max_stored_files", 100_000),
        max_stored_bytes=uint(options, "max_stored_bytes", 4 << 30),
        max_file_bytes=uint(options, "max_file_bytes", 128 << 20),
    ))
    # The index counts the records a listing reads.
    store._index.files = CountingMap(store._index.files)
    names = FileNames()
    out = [file_op(store, names, op) for op in ops]
    return {"observations": out, "disk": disk(directory)}


def replay(script: dict) -> dict:
    """What the script's operations observe, as the Rust replay prints it."""
    domain, options, ops = script.get("domain"), script.get("options") or {}, script["ops"]
    if domain == "tasks":
        return tasks(options, ops)
    if domain == "files":
        return files(options, ops)
    if domain == "window":
        return window(ops)
    if domain == "hash":
        return hashes(options, ops)
    raise SystemExit(f"unknown domain {domain!r}")


if __name__ == "__main__":
    json.dump(replay(json.load(sys.stdin)), sys.stdout)
    print()
