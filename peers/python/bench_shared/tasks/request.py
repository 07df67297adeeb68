"""Task submissions turned into `TaskSpec`s with the reference's rules:
known fields only, strict JSON types, defaults, ranges, and per-type payload
bounds (no unbounded work, network tasks only to this machine, payloads of
at most 64 KiB as compact JSON, URLs of at most 2,048 bytes), every failing
field reported with its path (`tasks[3].priority`, `payload.iterations`).
Also the list filters.

Frameworks check the shape and ranges of a request with their own models
first. These functions then apply every rule to what passed (cheap), which
adds the per-type payload rules and whatever a framework's models cannot
express or coerce loosely; `failures` + `merged` complete a framework's own
refusal with them, so every failing field is reported at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from .. import errors, http
from ..errors import FieldError
from .model import (PRIORITY_NAMES, STATUS_NAMES, TYPE_NAMES, Priority, Status, TaskSpec,
                    TaskType, payload_bytes)
from .target import UrlRefused, parse_target

#: Longest start delay, most retries, longest attempt (seconds).
MAX_DELAY_SECONDS = 3600
MAX_RETRIES = 10
MAX_TIMEOUT_SECONDS = 3600
#: Defaults of a submission.
DEFAULT_RETRIES = 3
DEFAULT_TIMEOUT_SECONDS = 300
#: Most tasks in a batch; largest and default `max_concurrent`.
MAX_BATCH = 100
MAX_CONCURRENT = 20
DEFAULT_CONCURRENT = 5
#: Largest and default `limit` of a listing.
MAX_LIMIT = 100
DEFAULT_LIMIT = 20

#: Payload bounds per type (inclusive).
MAX_ITERATIONS = 10_000_000
MAX_FILE_SIZE = 10 * 1024 * 1024
MAX_RECORDS = 100_000
MAX_FAIL_TIMES = 10
MAX_HOLD_MS = 60_000
MAX_RECIPIENTS = 50
#: Largest payload of one task, as compact JSON (422 on `payload` beyond):
#: a hundred times what the largest legitimate payload needs.
MAX_PAYLOAD_BYTES = 64 * 1024
#: Longest `url` of a network task, in bytes (422 on `payload.url` beyond).
MAX_URL_BYTES = 2048
TEMPLATES = ("welcome", "notification", "report")
REPORT_TYPES = ("summary", "detailed")

#: Payload fields each type takes (besides the `fail_times`/`hold_ms` knobs).
PAYLOAD_FIELDS: dict[TaskType, tuple[str, ...]] = {
    TaskType.COMPUTATION: ("iterations",),
    TaskType.IO_OPERATION: ("file_size",),
    TaskType.NETWORK_REQUEST: ("url",),
    TaskType.DATA_PROCESSING: ("records",),
    TaskType.EMAIL_SENDING: ("recipients", "template", "data"),
    TaskType.REPORT_GENERATION: ("type",),
}
KNOBS = ("fail_times", "hold_ms")
#: Top-level fields of a task and of a batch.
TASK_FIELDS = ("task_type", "priority", "payload", "delay_seconds", "max_retries",
               "timeout_seconds")
BATCH_FIELDS = ("tasks", "execute_parallel", "max_concurrent")


@dataclass(frozen=True, slots=True)
class BatchSpec:
    """A validated batch."""

    tasks: list[TaskSpec]
    #: Concurrently (capped) or one by one in order.
    parallel: bool
    max_concurrent: int


@dataclass(frozen=True, slots=True)
class ListQuery:
    """The checked filters and page of `GET /tasks`."""

    status: Status | None
    task_type: TaskType | None
    priority: Priority | None
    limit: int
    offset: int


def _join(prefix: str, field: str) -> str:
    return f"{prefix}.{field}" if prefix else field


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _range(v: Any, lo: int, hi: int, default: int, path: str, found: list[FieldError]) -> int:
    if v is None:
        return default
    if not _is_int(v):
        found.append(FieldError(path, "invalid_type", "must be an integer"))
    elif lo <= v <= hi:
        return v
    else:
        found.append(FieldError(path, "range", f"must be from {lo} to {hi}"))
    return default


def _fields_of(obj: Any) -> Mapping[str, Any] | None:
    """A request object as a mapping: a parsed JSON object as it is, a
    framework model by its fields (pydantic models iterate as pairs)."""
    if isinstance(obj, Mapping):
        return obj
    if hasattr(obj, "__iter__") and not isinstance(obj, (str, bytes, list, tuple)):
        try:
            return dict(obj)
        except (TypeError, ValueError):
            return None
    return None


def _unknown(req: Mapping[str, Any], known: tuple[str, ...], path: str,
             found: list[FieldError]) -> None:
    for key in req:
        if key not in known:
            found.append(FieldError(_join(path, key), "unknown_field",
                                    f"unknown field (known: {', '.join(known)})"))


def _name(req: Mapping[str, Any], key: str, parse, choices: tuple[str, ...], default: Any,
          path: str, found: list[FieldError]) -> Any:
    """An enumerated string field: `default` when absent or null."""
    v = req.get(key)
    if v is None:
        if default is None:
            found.append(FieldError(_join(path, key), "required", "is required"))
        return default
    parsed = parse(v) if isinstance(v, str) else None
    if parsed is None:
        found.append(FieldError(_join(path, key), "one_of", f"must be one of {', '.join(choices)}"))
    return parsed


def _payload_int(p: dict, name: str, lo: int, hi: int, path: str, found: list[FieldError]) -> None:
    if name in p:
        v = p[name]
        if not (_is_int(v) and lo <= v <= hi):
            found.append(FieldError(_join(path, f"payload.{name}"), "range",
                                    f"must be an integer from {lo} to {hi}"))


def _is_email(v: Any) -> bool:
    if not isinstance(v, str) or "@" not in v:
        return False
    user, domain = v.split("@", 1)
    return bool(user) and "." in domain


def _email_errors(p: dict, path: str, found: list[FieldError]) -> None:
    if "recipients" in p:
        recipients = p["recipients"]
        if isinstance(recipients, list) and 1 <= len(recipients) <= MAX_RECIPIENTS:
            for i, r in enumerate(recipients):
                if not _is_email(r):
                    found.append(FieldError(_join(path, f"payload.recipients[{i}]"), "email",
                                            "must be an e-mail address"))
        else:
            found.append(FieldError(_join(path, "payload.recipients"), "length",
                                    f"must be a list of 1 to {MAX_RECIPIENTS} addresses"))
    if "template" in p and p["template"] not in TEMPLATES:
        found.append(FieldError(_join(path, "payload.template"), "one_of",
                                f"must be one of {', '.join(TEMPLATES)}"))
    if "data" in p and not isinstance(p["data"], dict):
        found.append(FieldError(_join(path, "payload.data"), "invalid_type", "must be an object"))


def _url_errors(p: dict, path: str, found: list[FieldError]) -> None:
    if "url" not in p:
        return
    url = p["url"]
    field = _join(path, "payload.url")
    if not isinstance(url, str):
        found.append(FieldError(field, "invalid_type", "must be a string"))
    elif _utf8_len(url) > MAX_URL_BYTES:
        found.append(FieldError(field, "too_long", f"must be at most {MAX_URL_BYTES} bytes long"))
    else:
        try:
            parse_target(url)
        except UrlRefused as refused:
            found.append(FieldError(field, refused.code, refused.message))


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _size_errors(p: dict, path: str, found: list[FieldError]) -> None:
    """A payload over `MAX_PAYLOAD_BYTES` as compact JSON, naming the field
    that holds most of it (the last of equals, in key order, as the
    reference's `max_by_key` over its sorted map)."""
    size = payload_bytes(p)
    if size <= MAX_PAYLOAD_BYTES:
        return
    largest, most = "", -1
    for name in sorted(p):
        n = payload_bytes(p[name])
        if n >= most:
            largest, most = name, n
    found.append(FieldError(
        _join(path, "payload"), "too_large",
        f"must be at most {MAX_PAYLOAD_BYTES} bytes as JSON (is {size}, most of it in "
        f"`{largest}`)"))


def payload_errors(kind: TaskType, p: dict, path: str, found: list[FieldError]) -> None:
    """Adds to `found` every failing field of payload `p` of a `kind` task
    (fields under `path`, e.g. `tasks[2]`)."""
    allowed = PAYLOAD_FIELDS[kind]
    for key in p:
        if key not in allowed and key not in KNOBS:
            found.append(FieldError(
                _join(path, f"payload.{key}"), "unknown_field",
                f"not a parameter of this task type (allowed: {', '.join(allowed)})"))
    _payload_int(p, "fail_times", 0, MAX_FAIL_TIMES, path, found)
    _payload_int(p, "hold_ms", 0, MAX_HOLD_MS, path, found)
    if kind is TaskType.COMPUTATION:
        _payload_int(p, "iterations", 1, MAX_ITERATIONS, path, found)
    elif kind is TaskType.IO_OPERATION:
        _payload_int(p, "file_size", 1, MAX_FILE_SIZE, path, found)
    elif kind is TaskType.DATA_PROCESSING:
        _payload_int(p, "records", 1, MAX_RECORDS, path, found)
    elif kind is TaskType.NETWORK_REQUEST:
        _url_errors(p, path, found)
    elif kind is TaskType.EMAIL_SENDING:
        _email_errors(p, path, found)
    elif kind is TaskType.REPORT_GENERATION:
        if "type" in p and p["type"] not in REPORT_TYPES:
            found.append(FieldError(_join(path, "payload.type"), "one_of",
                                    f"must be one of {', '.join(REPORT_TYPES)}"))


def _spec_in(req: Mapping[str, Any], path: str, found: list[FieldError]) -> TaskSpec | None:
    """The reference's `validate_in` (with serde's refusals of unknown fields
    and wrong types): every failure of one task into `found`."""
    before = len(found)
    _unknown(req, TASK_FIELDS, path, found)
    kind = _name(req, "task_type", TaskType.parse, TYPE_NAMES, None, path, found)
    priority = _name(req, "priority", Priority.parse, PRIORITY_NAMES, Priority.NORMAL, path,
                     found)
    payload = req.get("payload")
    payload = {} if payload is None else payload
    if not isinstance(payload, dict):
        found.append(FieldError(_join(path, "payload"), "invalid_type", "must be an object"))
    else:
        if kind is not None:
            payload_errors(kind, payload, path, found)
        _size_errors(payload, path, found)
    delay = _range(req.get("delay_seconds"), 0, MAX_DELAY_SECONDS, 0,
                   _join(path, "delay_seconds"), found)
    retries = _range(req.get("max_retries"), 0, MAX_RETRIES, DEFAULT_RETRIES,
                     _join(path, "max_retries"), found)
    timeout = _range(req.get("timeout_seconds"), 1, MAX_TIMEOUT_SECONDS,
                     DEFAULT_TIMEOUT_SECONDS, _join(path, "timeout_seconds"), found)
    if len(found) > before or kind is None or priority is None:
        return None
    return TaskSpec(kind, priority, payload, delay, retries, timeout)


def _task_in(obj: Any, path: str, found: list[FieldError]) -> TaskSpec | None:
    req = _fields_of(obj)
    if req is None:
        found.append(FieldError(path, "invalid_type", "must be an object"))
        return None
    return _spec_in(req, path, found)


def _batch_in(obj: Any, found: list[FieldError]) -> BatchSpec | None:
    req = _fields_of(obj)
    if req is None:
        found.append(FieldError("", "invalid_type", "must be an object"))
        return None
    _unknown(req, BATCH_FIELDS, "", found)
    items = req.get("tasks")
    if items is None:
        found.append(FieldError("tasks", "required", "is required"))
        items = []
    elif not isinstance(items, list):
        found.append(FieldError("tasks", "invalid_type", "must be a list of tasks"))
        items = []
    elif not 1 <= len(items) <= MAX_BATCH:
        found.append(FieldError("tasks", "length", f"must hold 1 to {MAX_BATCH} tasks"))
    parallel = req.get("execute_parallel")
    if parallel is not None and not isinstance(parallel, bool):
        found.append(FieldError("execute_parallel", "invalid_type", "must be true or false"))
    max_concurrent = _range(req.get("max_concurrent"), 1, MAX_CONCURRENT, DEFAULT_CONCURRENT,
                            "max_concurrent", found)
    specs = [_task_in(t, f"tasks[{i}]", found) for i, t in enumerate(items)]
    if found:
        return None
    return BatchSpec([s for s in specs if s is not None], parallel is not False, max_concurrent)


def _has_non_finite(value: Any) -> bool:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, float):
            if not math.isfinite(v):
                return True
        elif isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return False


def check_finite(payload: Any) -> None:
    """400 `malformed_json` when a payload holds NaN, an infinity or a
    number too large for a double: JSON has no such numbers (the reference's
    parser refuses them), though some parsers let them through."""
    if payload is not None and _has_non_finite(payload):
        raise errors.malformed_json(
            "malformed JSON: NaN, Infinity or a number out of range in the payload")


def _payloads(obj: Any, batch: bool) -> list[Any]:
    req = _fields_of(obj)
    if req is None:
        return []
    if not batch:
        return [req.get("payload")]
    items = req.get("tasks")
    if not isinstance(items, list):
        return []
    return [t.get("payload") for t in map(_fields_of, items) if t is not None]


def task_spec(body: Any) -> TaskSpec:
    """`POST /tasks` (a parsed JSON object or a framework model): the
    validated task, or a 422 naming every failing field (400 for a
    non-finite number in the payload)."""
    for payload in _payloads(body, False):
        check_finite(payload)
    found: list[FieldError] = []
    spec = _task_in(body, "", found)
    errors.check(found)
    assert spec is not None
    return spec


def batch_spec(body: Any) -> BatchSpec:
    """`POST /tasks/batch`: the validated batch, or a 422 naming every
    failing field (`tasks[i].…`); all or nothing. 400 for a non-finite
    number in a payload."""
    for payload in _payloads(body, True):
        check_finite(payload)
    found: list[FieldError] = []
    batch = _batch_in(body, found)
    errors.check(found)
    assert batch is not None
    return batch


def failures(body: Any, batch: bool) -> list[FieldError]:
    """Every failing field of a request body (parsed JSON), without raising:
    for a framework whose own model refused the body, so that what only
    these rules know (per-type payloads, strict types, unknown fields) is
    reported too. See `merged`."""
    found: list[FieldError] = []
    if batch:
        _batch_in(body, found)
    else:
        _task_in(body, "", found)
    return found


def merged(first: list[FieldError], second: list[FieldError]) -> list[FieldError]:
    """`first`, then the failures of `second` at paths `first` does not
    name (one failure per field)."""
    seen = {e.field for e in first}
    return list(first) + [e for e in second if e.field not in seen]


def _enum_param(query: Mapping[str, str], name: str, parse, choices: tuple[str, ...],
                found: list[FieldError]):
    raw = query.get(name)
    if not raw:
        return None
    value = parse(raw)
    if value is None:
        found.append(FieldError(name, "one_of", f"must be one of {', '.join(choices)}"))
    return value


def list_query(query: Mapping[str, str]) -> ListQuery:
    """`status`, `task_type`, `priority` filters (empty = none), `limit`
    (1–100, default 20) and `offset` (default 0) of `GET /tasks`: 400 when
    a number does not parse, 422 naming every other failing parameter."""
    limit = http.query_uint(query, "limit", DEFAULT_LIMIT)
    offset = http.query_uint(query, "offset", 0)
    found: list[FieldError] = []
    status = _enum_param(query, "status", Status.parse, STATUS_NAMES, found)
    task_type = _enum_param(query, "task_type", TaskType.parse, TYPE_NAMES, found)
    priority = _enum_param(query, "priority", Priority.parse, PRIORITY_NAMES, found)
    if not 1 <= limit <= MAX_LIMIT:
        found.append(FieldError("limit", "range", f"must be from 1 to {MAX_LIMIT}"))
    errors.check(found)
    return ListQuery(status, task_type, priority, limit, offset)
