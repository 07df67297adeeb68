"""The task table's listing index, the twin of the reference's `TaskIndex`
(`shared::tasks::index`): creation numbers of the records by status × type
× priority (144 sorted sets). A filtered listing merges the matching sets
newest first and stops at the end of its page, and a count sums the
matching sets' sizes, so neither looks at records that do not match,
whatever the table holds."""

from __future__ import annotations

import heapq
from itertools import islice

from sortedcontainers import SortedList

from .model import Priority, Status, TaskType

_STATUS = {s: i for i, s in enumerate(Status)}
_TYPE = {t: i for i, t in enumerate(TaskType)}
_KEYS = len(_STATUS) * len(_TYPE) * len(Priority)


def key(status: Status, task_type: TaskType, priority: Priority) -> int:
    """Where a record is filed (0–143)."""
    return (_STATUS[status] * len(_TYPE) + _TYPE[task_type]) * len(Priority) + int(priority)


class TaskIndex:
    """Creation numbers by status × type × priority."""

    __slots__ = ("_sets", "_matching")

    def __init__(self) -> None:
        self._sets = [SortedList() for _ in range(_KEYS)]
        # The sets a filter takes in, by filter (at most 7 × 7 × 5).
        self._matching: dict[tuple, tuple[SortedList, ...]] = {}

    def insert(self, k: int, seq: int) -> None:
        """Files record `seq` under key `k`."""
        self._sets[k].add(seq)

    def remove(self, k: int, seq: int) -> None:
        """Removes record `seq` from key `k`."""
        self._sets[k].discard(seq)

    def refile(self, old: int, new: int, seq: int) -> None:
        """Refiles record `seq` from key `old` to key `new`."""
        if old != new:
            self._sets[old].discard(seq)
            self._sets[new].add(seq)

    def _sets_of(self, status: Status | None, task_type: TaskType | None,
                 priority: Priority | None) -> tuple[SortedList, ...]:
        wanted = (status, task_type, priority)
        sets = self._matching.get(wanted)
        if sets is None:
            sets = self._matching[wanted] = tuple(
                self._sets[key(s, t, p)]
                for s in (Status if status is None else (status,))
                for t in (TaskType if task_type is None else (task_type,))
                for p in (Priority if priority is None else (priority,)))
        return sets

    def count(self, status: Status | None, task_type: TaskType | None,
              priority: Priority | None) -> int:
        """How many records match (None: any)."""
        return sum(map(len, self._sets_of(status, task_type, priority)))

    def page(self, status: Status | None, task_type: TaskType | None,
             priority: Priority | None, offset: int, limit: int) -> list[int]:
        """Creation numbers of the matching records, newest first, from
        `offset` on, at most `limit`: a merge of the matching sets that
        takes `offset + limit` steps."""
        runs = [reversed(s) for s in self._sets_of(status, task_type, priority) if s]
        merged = heapq.merge(*runs, reverse=True)
        return list(islice(merged, offset, offset + limit))
