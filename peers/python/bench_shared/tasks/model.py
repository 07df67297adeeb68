"""What a task is: its kind, priority, limits and lifecycle record."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Any


class Priority(IntEnum):
    """Scheduling priority; higher runs first."""

    LOW = 0
    NORMAL = 1
    HIGH = 2
    URGENT = 3

    @property
    def label(self) -> str:
        """The wire name (`low`, `normal`, `high`, `urgent`)."""
        return _PRIORITY_LABELS[self]

    @classmethod
    def parse(cls, name: str) -> "Priority | None":
        """The priority named `name` (exact, lower case), or None."""
        return _PRIORITY_BY_LABEL.get(name)


_PRIORITY_LABELS = {p: p.name.lower() for p in Priority}
_PRIORITY_BY_LABEL = {label: p for p, label in _PRIORITY_LABELS.items()}


class Status(str, Enum):
    """Where a task is in its life."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    RETRYING = "retrying"

    @property
    def is_finished(self) -> bool:
        """Done for good (until retried by hand)."""
        return self in _FINISHED

    @classmethod
    def parse(cls, name: str) -> "Status | None":
        """The status named `name`, or None."""
        return _STATUS_BY_NAME.get(name)


_FINISHED = frozenset((Status.COMPLETED, Status.FAILED, Status.CANCELLED))
_STATUS_BY_NAME = {s.value: s for s in Status}


class TaskType(str, Enum):
    """Kinds of work a server offers."""

    COMPUTATION = "computation"
    IO_OPERATION = "io_operation"
    NETWORK_REQUEST = "network_request"
    DATA_PROCESSING = "data_processing"
    EMAIL_SENDING = "email_sending"
    REPORT_GENERATION = "report_generation"

    @classmethod
    def parse(cls, name: str) -> "TaskType | None":
        """The type named `name`, or None."""
        return _TYPE_BY_NAME.get(name)


_TYPE_BY_NAME = {t.value: t for t in TaskType}

#: Wire names, in the reference's order (for messages and models).
PRIORITY_NAMES: tuple[str, ...] = ("low", "normal", "high", "urgent")
STATUS_NAMES: tuple[str, ...] = tuple(s.value for s in Status)
TYPE_NAMES: tuple[str, ...] = tuple(t.value for t in TaskType)


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """A task as submitted, already validated."""

    task_type: TaskType
    priority: Priority
    #: Input of the work (an object).
    payload: dict[str, Any]
    #: Seconds to wait before it may start.
    delay_seconds: int
    #: Retries after a failed attempt.
    max_retries: int
    #: Seconds an attempt may take before it fails with a timeout.
    timeout_seconds: int


@dataclass(slots=True)
class Task:
    """The lifecycle record of a task, as shown to clients."""

    id: str
    task_type: TaskType
    priority: Priority
    payload: dict[str, Any]
    status: Status
    #: Submission time (RFC 3339, milliseconds, UTC).
    created_at: str
    #: Start of the latest attempt.
    started_at: str | None
    #: When it finished.
    completed_at: str | None
    #: 0 until it completes, then 1.
    progress: float
    result: Any
    #: The last error.
    error: str | None
    #: Automatic retries made in the current run of the task.
    retry_count: int
    #: Attempts made in all, including manual retries.
    attempts: int
    max_retries: int
    timeout_seconds: int
    delay_seconds: int
    #: Whether cancellation was asked while it ran.
    cancel_requested: bool
    #: The batch it came in, if any.
    batch_id: str | None

    def as_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data (the reference's field names)."""
        return {
            "id": self.id,
            "task_type": self.task_type.value,
            "priority": _PRIORITY_LABELS[self.priority],
            "payload": self.payload,
            "status": self.status.value,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "completed_at": self.completed_at,
            "progress": self.progress,
            "result": self.result,
            "error": self.error,
            "retry_count": self.retry_count,
            "attempts": self.attempts,
            "max_retries": self.max_retries,
            "timeout_seconds": self.timeout_seconds,
            "delay_seconds": self.delay_seconds,
            "cancel_requested": self.cancel_requested,
            "batch_id": self.batch_id,
        }


# --- payload size -------------------------------------------------------------

#: Python's JSON text differs from serde_json's only in some numbers: floats
#: in exponent notation, and integers beyond 64 bits (floats to serde_json).
_ODD_NUMBER = re.compile(r"\de[+-]|\d{19}")
#: JSON strings (skipped) and numbers, in compact JSON text.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|(-?\d+(?:\.\d+)?(?:e[+-]\d+)?)')
_I64_MIN = -(1 << 63)
_U64_MAX = (1 << 64) - 1


def _serde_float_len(text: str) -> int:
    """The length serde_json writes a float in, from Python's repr of it:
    the same shortest digits, but fixed notation for decimal exponents
    -5..=15 (Python: -4..=15) and no zero-padded exponent (`1e-7`, not
    `1e-07`)."""
    if "e" not in text:
        return len(text)
    mantissa, exp_text = text.split("e")
    exp = int(exp_text)
    if -5 <= exp <= 15:  # only -5 gets here: `0.0000` + the digits
        digits = len(mantissa) - mantissa.startswith("-") - ("." in mantissa)
        return mantissa.startswith("-") + 2 + (-exp - 1) + digits
    return len(mantissa) + 2 + len(str(abs(exp)))


def _number_len(text: str) -> int:
    """The length serde_json writes the number Python wrote as `text` in."""
    if "." in text or "e" in text:
        return _serde_float_len(text)
    value = int(text)
    if _I64_MIN <= value <= _U64_MAX:
        return len(text)
    try:  # beyond 64 bits serde_json holds a float
        return _serde_float_len(repr(float(value)))
    except OverflowError:
        return len(text)


def payload_bytes(payload: Any) -> int:
    """The size of a payload as compact JSON, which is what task payloads
    are bounded and accounted by: the bytes serde_json would write for it
    (the reference's `payload_bytes`)."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
    if _ODD_NUMBER.search(text) is None:
        return size
    for m in _TOKEN.finditer(text):
        number = m.group(1)
        if number is not None:
            size += _number_len(number) - len(number)
    return size
