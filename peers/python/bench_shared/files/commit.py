"""The commit protocol, the twin of the reference's `files/commit.rs`, in
the same order with the same syncs. Each file: metadata written (synced) in
staging, content then metadata renamed into place; then the directories
synced once and the batch indexed. A file is visible after a restart only
when both renames happened. A batch of several files first writes an intent
record (`batches/<name>.json`, the ids to come, synced, `batches/` synced)
and removes it as its last step (`batches/` synced again), once every file
is in place and synced: a store opened with intents left by a crash removes
their files, so a batch survives a crash whole or not at all.

Syncs of a 3-file upload: 3 staging contents (`Upload.finish`), 3 metadata,
the intent, `batches/` twice, `files/` and `meta/`: 11; of one file: 4."""

from __future__ import annotations

import json
import logging
import os
from typing import TYPE_CHECKING

from .. import errors
from . import names
from .meta import FileMeta
from .quota import Reserved
from .upload import remove_quietly

if TYPE_CHECKING:
    from .store import Store

log = logging.getLogger(__name__)


class SimulatedCrash(Exception):
    """A test's simulated crash (`Store._crash_after_renames`): the commit
    stops with nothing undone."""


def sync_dir(path: str) -> None:
    """Syncs a directory so renames into it and removals from it are
    durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def place(store: "Store", items: list[tuple[str, FileMeta]],
          reserved: Reserved) -> list[FileMeta]:
    """Moves each item's content (a staging path) into place and writes its
    metadata; syncs the directories; then indexes them all at once, turning
    the reservation of their staging bytes into stored bytes, and evicts
    what the quota asks. A failure removes what was already moved and every
    staging file."""
    try:
        return _place(store, items, reserved)
    except SimulatedCrash:
        raise
    except BaseException:
        for content, _ in items:
            remove_quietly(content)
        raise
    finally:
        reserved.release()


def _place(store: "Store", items: list[tuple[str, FileMeta]],
           reserved: Reserved) -> list[FileMeta]:
    intent = _write_intent(store, items) if len(items) > 1 else None
    moved: list[FileMeta] = []
    renames = 0
    try:
        for content, meta in items:
            renames = _move_into_place(store, content, meta, renames)
            moved.append(meta)
        store.sync_dirs()
        if intent is not None:
            if store.crash_at(renames):
                raise SimulatedCrash()
            _close_intent(store, intent)
    except SimulatedCrash:
        raise
    except BaseException:
        _undo(store, moved, intent)
        raise
    with store._lock:
        index = store._index
        # A source deleted while its output was being made takes the output
        # with it (outputs are single files: no intent).
        orphan = next((m.derived_from for m in moved
                       if m.derived_from is not None and m.derived_from not in index.files),
                      None)
        if orphan is None:
            for m in moved:
                index.insert(m)
            reserved.release()
            evicted = store.over_quota(moved)
    if orphan is not None:
        _undo(store, moved, None)
        raise errors.not_found(f"no file with id {orphan!r}")
    store.evicted(evicted)
    return moved


def _undo(store: "Store", moved: list[FileMeta], intent: str | None) -> None:
    store.remove_from_disk(moved)
    if intent is not None:
        remove_quietly(intent)


def _move_into_place(store: "Store", content: str, meta: FileMeta, renames: int) -> int:
    """Writes `meta` (synced) and renames `content`, then it, into place;
    the renames done so far."""
    target = os.path.join(store.files_dir, meta.id)
    meta_temp = _write_synced(store, "meta", meta.to_json())
    try:
        if store.crash_at(renames):
            raise SimulatedCrash()
        os.rename(content, target)
    except SimulatedCrash:
        raise
    except BaseException:
        remove_quietly(meta_temp)
        raise
    renames += 1
    if store.crash_at(renames):
        raise SimulatedCrash()
    try:
        os.rename(meta_temp, store.meta_path(meta.id))
    except BaseException:
        remove_quietly(target)
        remove_quietly(meta_temp)
        raise
    return renames + 1


def _write_intent(store: "Store", items: list[tuple[str, FileMeta]]) -> str:
    """Records the ids of a batch about to be placed, durably."""
    ids = [meta.id for _, meta in items]
    temp = _write_synced(store, "batch", json.dumps(ids, separators=(",", ":")).encode())
    path = os.path.join(store.batches_dir, f"{os.path.basename(temp)}.json")
    try:
        os.rename(temp, path)
    except BaseException:
        remove_quietly(temp)
        raise
    _sync_batches_dir(store)
    return path


def _close_intent(store: "Store", intent: str) -> None:
    """The batch's last step: its files are in place and synced."""
    os.unlink(intent)
    _sync_batches_dir(store)


def _sync_batches_dir(store: "Store") -> None:
    """Syncs `batches/` (when fsync is on), so an intent's creation or
    removal is durable."""
    if store.opts.fsync:
        sync_dir(store.batches_dir)


def _write_synced(store: "Store", what: str, data: bytes) -> str:
    """A staging file holding `data`, synced when fsync is on."""
    temp = store.temp_file(what)
    try:
        with open(temp, "xb") as f:
            f.write(data)
            if store.opts.fsync:
                f.flush()
                os.fsync(f.fileno())
    except BaseException:
        remove_quietly(temp)
        raise
    return temp


def _intent_ids(path: str) -> list[str]:
    """The ids an intent names; none when it cannot be read."""
    try:
        with open(path, "rb") as f:
            ids = json.loads(f.read())
    except (OSError, ValueError):
        return []
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        return []
    return ids


def roll_back_batches(store: "Store") -> None:
    """At open: removes the files of batches a crash interrupted (both
    halves), then their intents."""
    os.makedirs(store.batches_dir, exist_ok=True)
    intents = [entry.path for entry in os.scandir(store.batches_dir)]
    if not intents:
        return
    for path in intents:
        ids = _intent_ids(path)
        log.warning("rolling back an interrupted batch of %d file(s)", len(ids))
        for id_ in ids:
            if names.is_valid_id(id_):
                store.remove_pair(id_)
    store.sync_dirs()
    for path in intents:
        os.unlink(path)
    _sync_batches_dir(store)
