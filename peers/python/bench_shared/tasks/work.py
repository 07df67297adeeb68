"""What the six task types do: real, bounded work on a work thread (never an
event loop), with results a caller can check and the reference's values
(the same checksum, aggregates and digests). Two payload knobs work for
every type: `fail_times: n` fails the first n attempts (to exercise
retries) and `hold_ms` keeps the task busy that long first, ending early on
cancellation or timeout (to exercise both)."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..mix import MASK, splitmix64
from .fetch import Client
from .model import TaskType
from .queue import Stop, TaskFailed, TaskInput
from .request import MAX_FILE_SIZE
from .target import UrlRefused, parse_target

if TYPE_CHECKING:
    from .queue import Queue

#: Iterations between two looks at the stop flag (as the reference).
CHECK_EVERY = 65_536


def computation_checksum(iterations: int, stop: Stop | None = None) -> int | None:
    """The deterministic result of `computation`: the SplitMix64 chain
    `acc = rotl(splitmix64(acc ^ i), 7)` over `0..iterations`, the
    reference's bits. None when stopped midway."""
    acc = 0
    for start in range(0, iterations, CHECK_EVERY):
        if stop is not None and stop.is_set():
            return None
        for i in range(start, min(start + CHECK_EVERY, iterations)):
            x = ((acc ^ i) + 0x9E3779B97F4A7C15) & MASK
            x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
            x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
            x ^= x >> 31
            acc = ((x << 7) | (x >> 57)) & MASK
    return acc


def aggregate(records: int) -> dict[str, Any]:
    """Generates `records` deterministic rows (category 0–7, value 0–9999:
    from splitmix64(i)) and aggregates count, sum, min and max per category."""
    per = [[0, 0, None, 0] for _ in range(8)]
    for i in range(records):
        r = splitmix64(i)
        c = per[r % 8]
        value = (r >> 8) % 10_000
        c[0] += 1
        c[1] += value
        if c[2] is None or value < c[2]:
            c[2] = value
        if value > c[3]:
            c[3] = value
    categories = {
        f"category_{i}": {"count": c[0], "sum": c[1], "min": c[2], "max": c[3]}
        for i, c in enumerate(per) if c[0] > 0
    }
    return {"records": records, "total": sum(c[1] for c in per), "categories": categories}


class _Pattern:
    """The bytes every `io_operation` writes: byte i is `splitmix64(i) & 0xff`.

    The pattern is a constant, so the longest prefix any task has made is
    kept (at most the 10 MiB a task may ask for) and sliced, as the
    reference keeps it: a task's work is writing, syncing, reading back,
    comparing and hashing it, not deriving its input again byte by byte.
    Nobody waits for another task's generation: a task missing bytes makes
    them itself."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bytes = b""

    def prefix(self, size: int, stop: Stop) -> memoryview:
        """The first `size` bytes (a view, not a copy); TaskFailed("cancelled")
        when stopped midway."""
        data = self._bytes
        if len(data) >= size:
            return memoryview(data)[:size]
        parts = [data]
        for start in range(len(data), size, CHECK_EVERY):
            if stop.is_set():
                raise TaskFailed("cancelled")
            parts.append(bytes(splitmix64(i) & 0xFF
                               for i in range(start, min(start + CHECK_EVERY, size))))
        data = b"".join(parts)
        if size <= MAX_FILE_SIZE:
            with self._lock:
                if len(data) > len(self._bytes):
                    self._bytes = data
        return memoryview(data)


def _json_text(value: Any) -> str:
    """A JSON value as the reference prints one (compact, keys sorted)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _own_addresses(host: str) -> tuple[str, ...]:
    """Where this server is reached: its address (loopback for an
    unspecified one); a name is taken for this machine."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return ("127.0.0.1", "::1")
    if ip.is_unspecified:
        return ("127.0.0.1",) if ip.version == 4 else ("::1",)
    return (str(ip),)


class Workbench:
    """Where tasks do their work (`io/`, `outbox/`, `reports/` of a work
    directory), and what they may reach (this server's address)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.dir = Path(directory)
        for sub in ("io", "outbox", "reports"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self._own_addr: tuple[str, int] | None = None
        self._queue: "weakref.ref[Queue] | None" = None
        self._pattern = _Pattern()
        self._http = Client()

    def set_own_addr(self, host: str, port: int) -> None:
        """Where a `/path` URL of a network task goes (the server itself);
        the first address given stays."""
        if self._own_addr is None:
            self._own_addr = (host, port)

    @property
    def own_addr(self) -> tuple[str, int] | None:
        return self._own_addr

    def attach(self, queue: "Queue") -> None:
        """Lets `report_generation` read the queue's statistics."""
        self._queue = weakref.ref(queue)

    def __call__(self, task: TaskInput, stop: Stop) -> Any:
        """Runs one attempt (on a work thread): the knobs, then the work."""
        p = task.payload
        hold = p.get("hold_ms", 0)
        # The reference sleeps in 10 ms steps, looking at the flag between.
        if hold and not stop.sleep(-(-hold // 10) * 10 / 1000):
            raise TaskFailed("cancelled")
        fail_times = p.get("fail_times", 0)
        if task.attempt < fail_times:
            raise TaskFailed(f"planned failure {task.attempt + 1} of {fail_times}")
        return self._work(task, stop)

    def _work(self, task: TaskInput, stop: Stop) -> Any:
        p = task.payload
        kind = task.task_type
        if kind is TaskType.COMPUTATION:
            iterations = p.get("iterations", 100_000)
            checksum = computation_checksum(iterations, stop)
            if checksum is None:
                raise TaskFailed("cancelled")
            return {"iterations": iterations, "checksum": f"{checksum:016x}"}
        if kind is TaskType.IO_OPERATION:
            return self.io(task.id, task.attempt, p.get("file_size", 1024), stop)
        if kind is TaskType.NETWORK_REQUEST:
            return self.fetch(p.get("url", "/health"))
        if kind is TaskType.DATA_PROCESSING:
            return aggregate(p.get("records", 1000))
        if kind is TaskType.EMAIL_SENDING:
            return self.email(task.id, p)
        return self.report(task.id, p.get("type", "summary"))

    def io(self, tid: str, attempt: int, size: int, stop: Stop) -> dict[str, Any]:
        """Writes `size` pattern bytes, syncs, reads them back, deletes the
        file, compares and hashes."""
        path = self.dir / "io" / f"{tid}-{attempt}.bin"
        data = self._pattern.prefix(size, stop)
        try:
            with open(path, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            with open(path, "rb") as f:
                back = f.read()
        except OSError as e:
            raise TaskFailed(f"file I/O failed: {e}") from None
        finally:
            try:
                os.unlink(path)
            except OSError:
                pass
        if back != data:
            raise TaskFailed("the file read back differs from what was written")
        return {"bytes": size, "sha256": hashlib.sha256(back).hexdigest(), "verified": True}

    def fetch(self, url: str) -> dict[str, Any]:
        """A GET of a URL `parse_target` accepts: the status and the size of
        the answer's body (at most `fetch.MAX_RESPONSE_BYTES`)."""
        try:
            target = parse_target(url)
        except UrlRefused as refused:
            raise TaskFailed(refused.message) from None
        if target.host is None:
            if self._own_addr is None:
                raise TaskFailed("no address of this server is known")
            host, port = self._own_addr
            addresses = _own_addresses(host)
            shown = f"[{addresses[0]}]:{port}" if ":" in addresses[0] else f"{addresses[0]}:{port}"
        else:
            addresses, port = target.addresses, target.port or 80
            shown = target.host if target.port is None else f"{target.host}:{port}"
        status, size = self._http.get(addresses, port, shown, target.path, url)
        return {"url": url, "status": status, "bytes": size}

    def email(self, tid: str, p: dict[str, Any]) -> dict[str, Any]:
        """Renders the message into `outbox/<id>.eml`."""
        listed = p.get("recipients")
        recipients = ([r for r in listed if isinstance(r, str)] if isinstance(listed, list)
                      else ["user@example.com"])
        template = p.get("template", "welcome")
        subject = {"notification": "You have a new notification",
                   "report": "Your report is ready"}.get(template, "Welcome aboard")
        lines = [f"To: {', '.join(recipients)}\r\nSubject: {subject}\r\nX-Task: {tid}\r\n\r\n"
                 f"Hello,\r\n\r\nThis is the {template} message.\r\n"]
        data = p.get("data", {})
        if isinstance(data, dict):
            lines.extend(f"{k}: {_json_text(data[k])}\r\n" for k in sorted(data))
        body = "".join(lines).encode("utf-8")
        try:
            (self.dir / "outbox" / f"{tid}.eml").write_bytes(body)
        except OSError as e:
            raise TaskFailed(f"writing the message: {e}") from None
        return {"file": f"outbox/{tid}.eml", "bytes": len(body), "recipients": len(recipients),
                "sha256": hashlib.sha256(body).hexdigest()}

    def report(self, tid: str, kind: str) -> dict[str, Any]:
        """Writes the queue's statistics to `reports/<id>.json`."""
        queue = self._queue() if self._queue is not None else None
        if queue is None:
            raise TaskFailed("the queue is gone")
        stats = queue.stats()
        if kind == "detailed":
            doc = {"kind": kind, "stats": stats}
        else:
            doc = {"kind": kind, "submitted": stats["submitted"], "finished": stats["finished"],
                   "by_status": stats["by_status"]}
        text = json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")
        try:
            (self.dir / "reports" / f"{tid}.json").write_bytes(text)
        except OSError as e:
            raise TaskFailed(f"writing the report: {e}") from None
        return {"file": f"reports/{tid}.json", "bytes": len(text), "type": kind,
                "submitted": stats["submitted"]}
