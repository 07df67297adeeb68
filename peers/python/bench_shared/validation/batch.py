"""Batch envelopes: a JSON array of 1 to `MAX_BATCH` models, each checked on
its own; the answer counts them and lists every failing item by index with
its failures (paths relative to the item)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from .. import errors
from ..errors import FieldError
from .rules import json_type

MAX_BATCH = 1000


#: The member that holds a batch's items when it is sent as an object
#: (`{"users": [...]}`), by endpoint.
ENVELOPES = {"batch_users": "users", "batch_products": "products", "batch_orders": "orders"}


def items(value: Any, envelope: str) -> list:
    """The batch's items, from a JSON array or from the array under
    `envelope` of an object: 422 when there is no array (at the root, or at
    `envelope`) or it holds no or more than `MAX_BATCH` items."""
    where = ""
    if isinstance(value, dict):
        if envelope not in value:
            raise errors.validation([FieldError(envelope, "required", "is required")])
        value, where = value[envelope], envelope
    if not isinstance(value, list):
        raise errors.validation(
            [FieldError(where, "type", f"expected an array, got {json_type(value)}")]
        )
    if not 0 < len(value) <= MAX_BATCH:
        raise errors.validation(
            [FieldError("", "length", f"a batch holds 1 to {MAX_BATCH} items, got {len(value)}")]
        )
    return value


@dataclass(slots=True)
class ItemFailure:
    """A batch item that failed: every failing field, paths relative to it."""

    errors: list[FieldError]


@dataclass(slots=True)
class BatchReport:
    """Per-item results of a batch; `valid_items` are the items that passed."""

    count: int
    failures: list[tuple[int, ItemFailure]] = field(default_factory=list)
    valid_items: list = field(default_factory=list)

    @property
    def valid(self) -> int:
        return len(self.valid_items)

    @property
    def invalid(self) -> int:
        return len(self.failures)

    def body(self) -> dict:
        """`{"count", "valid", "invalid", "errors": [{"index", "errors"}]}`."""
        return {
            "count": self.count,
            "valid": self.valid,
            "invalid": self.invalid,
            "errors": [
                {"index": i, "errors": [e.as_dict() for e in f.errors]} for i, f in self.failures
            ],
        }


def report(results: Sequence[Any]) -> BatchReport:
    """The report of per-item results, each a validated item or an `ItemFailure`."""
    out = BatchReport(len(results))
    for index, result in enumerate(results):
        if type(result) is ItemFailure:
            out.failures.append((index, result))
        else:
            out.valid_items.append(result)
    return out
