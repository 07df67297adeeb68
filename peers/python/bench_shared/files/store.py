"""The store, the twin of the reference's `files/store.rs` and `quota.rs`: a
directory with `files/<id>` (content), `meta/<id>.json` (metadata), `tmp/`
(staging) and `batches/` (intents of batch commits), an in-memory index over
them (`index.Index`), and a storage quota of stored plus staging bytes that
evicts the oldest unprotected non-fixture files.

A file becomes visible only once its content and metadata are on disk and
renamed into place (see `commit`); at open the store rolls back interrupted
batches, keeps every file whose metadata and content agree, and removes
staging leftovers and orphans. Deletes and evictions sync the directories."""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import islice

from .. import errors
from . import IO_BUFFER, commit, fixtures, names
from .commit import sync_dir
from .index import Index
from .meta import FileMeta, NewFile
from .quota import Pinned, Reserved
from .stats import Stats
from .upload import HashingWriter, Staged, Upload, remove_quietly

log = logging.getLogger(__name__)

MIB = 1024 * 1024


@dataclass(slots=True)
class StoreOptions:
    """Where and how files are kept; the defaults are the reference's."""

    dir: str
    #: Sync content, metadata and directories before a file is visible.
    fsync: bool = True
    #: Largest accepted file.
    max_file_bytes: int = 128 * MIB
    #: Quota of non-fixture bytes (stored and being uploaded); the oldest
    #: are evicted past it.
    max_stored_bytes: int = 4 * 1024 * MIB
    #: Quota of non-fixture files; the oldest are evicted past it.
    max_stored_files: int = 100_000


@dataclass(slots=True)
class DerivedOutput:
    """A processing output, written and synced in staging."""

    path: str
    size: int
    sha256: str
    content_type: str
    filename: str


def not_found(id_: str) -> errors.ApiError:
    """404 for a file id that is not in the store."""
    return errors.not_found(f"no file with id {id_!r}")


def full(limit: int) -> errors.ApiError:
    """507 when uploads in progress alone would pass the storage quota."""
    return errors.ApiError(507, "insufficient_storage",
                           f"uploads in progress fill the storage quota of {limit} bytes")


def now_ms() -> int:
    """Milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


def rfc3339(ms: int) -> str:
    """`ms` since the epoch as RFC 3339 UTC with milliseconds."""
    secs, rest = divmod(ms, 1000)
    when = datetime.fromtimestamp(secs, tz=timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S") + f".{rest:03d}Z"


class Store:
    """The file store. Every method may block on the file system except
    `get`, `derived_of`, `list` and `snapshot` (index reads)."""

    def __init__(self, opts: StoreOptions) -> None:
        """Opens (or creates) the store in `opts.dir`: clears staging
        leftovers, rolls back interrupted batches, seeds missing fixtures,
        and loads every file whose metadata and content agree (orphans of an
        interrupted commit go)."""
        self.opts = opts
        self.stats = Stats()
        self._index = Index()
        self._lock = threading.Lock()
        #: Bytes of uploads in progress, counted toward the quota; their lock
        #: is held for arithmetic only, and reentrant: a reservation dropped
        #: unreleased takes it from a finalizer, which may run on a thread
        #: that holds it.
        self._staged = 0
        self._staged_lock = threading.RLock()
        self._staging = itertools.count()
        #: Test hook: stop a commit after this many renames (closing a
        #: batch's intent counts as one), as a crash would.
        self._crash_after_renames: int | None = None
        self.files_dir = os.path.join(opts.dir, "files")
        self.meta_dir = os.path.join(opts.dir, "meta")
        self.tmp_dir = os.path.join(opts.dir, "tmp")
        self.batches_dir = os.path.join(opts.dir, "batches")
        for d in (self.files_dir, self.meta_dir, self.tmp_dir):
            os.makedirs(d, exist_ok=True)
        for entry in os.scandir(self.tmp_dir):
            remove_quietly(entry.path)
        commit.roll_back_batches(self)
        self._seed_fixtures()
        self._load_metadata()

    # -- paths -------------------------------------------------------------

    def content_path(self, meta: FileMeta) -> str:
        """Path of a stored file's content. Only metadata from the index
        names paths, so ids from clients never reach the file system."""
        return os.path.join(self.files_dir, meta.id)

    def meta_path(self, id_: str) -> str:
        """Path of a stored file's metadata."""
        return os.path.join(self.meta_dir, f"{id_}.json")

    def temp_file(self, what: str) -> str:
        """A fresh staging path in `tmp/`."""
        return os.path.join(self.tmp_dir, f"{os.getpid()}-{next(self._staging)}.{what}")

    def remove_pair(self, id_: str) -> None:
        """Removes a file's metadata, then its content (so a crash between the
        two leaves only orphan content, removed at the next open)."""
        remove_quietly(self.meta_path(id_))
        remove_quietly(os.path.join(self.files_dir, id_))

    # -- opening -----------------------------------------------------------

    def _read_meta(self, path: str) -> FileMeta | None:
        try:
            with open(path, "rb") as f:
                return FileMeta.from_json(f.read())
        except OSError:
            return None

    def _content_size(self, id_: str) -> int | None:
        try:
            return os.stat(os.path.join(self.files_dir, id_)).st_size
        except OSError:
            return None

    def _seed_fixtures(self) -> None:
        """Seeds every fixture whose content is missing or the wrong size; an
        intact fixture keeps its recorded metadata (no re-hash at restart)."""
        for f in fixtures.FIXTURES:
            recorded = self._read_meta(self.meta_path(f.id))
            if (recorded is None or not recorded.fixture or recorded.id != f.id
                    or self._content_size(f.id) != recorded.size):
                recorded = self._seed(f)
            with self._lock:
                self._index.insert(recorded)

    def _seed(self, f: fixtures.Fixture) -> FileMeta:
        temp = self.temp_file("fixture")
        try:
            with open(temp, "wb", buffering=IO_BUFFER) as raw:
                out = HashingWriter(raw)
                fixtures.write_content(f, out)
            os.rename(temp, os.path.join(self.files_dir, f.id))
        except BaseException:
            remove_quietly(temp)
            raise
        meta = FileMeta(
            id=f.id, filename=f.filename, content_type=f.content_type, category=f.category,
            description=f"seeded fixture ({f.filename})", size=out.size,
            sha256=out.hasher.hexdigest(), created_at=rfc3339(0), created_ms=0, fixture=True,
        )
        temp = self.temp_file("meta")
        with open(temp, "wb") as m:
            m.write(meta.to_json())
        os.rename(temp, self.meta_path(f.id))
        return meta

    def _load_metadata(self) -> None:
        loaded: list[FileMeta] = []
        for entry in os.scandir(self.meta_dir):
            stem = entry.name[:-5] if entry.name.endswith(".json") else entry.name
            if fixtures.find(stem) is not None:
                continue
            meta = self._read_meta(entry.path)
            if (meta is None or not names.is_valid_id(meta.id) or meta.fixture
                    or entry.name != f"{meta.id}.json"
                    or self._content_size(meta.id) != meta.size):
                log.warning("dropping unreadable or orphaned metadata %s", entry.path)
                remove_quietly(entry.path)
                continue
            loaded.append(meta)
        keep = {m.id for m in loaded}
        # Derived files whose source is gone are dropped with it.
        loaded = [m for m in loaded if m.derived_from is None or m.derived_from in keep
                  or fixtures.find(m.derived_from) is not None]
        kept = {m.id for m in loaded}
        with self._lock:
            for m in loaded:
                self._index.insert(m)
        for entry in os.scandir(self.files_dir):
            if entry.name not in kept and fixtures.find(entry.name) is None:
                remove_quietly(entry.path)
                remove_quietly(self.meta_path(entry.name))

    # -- reading -----------------------------------------------------------

    def get(self, id_: str) -> FileMeta | None:
        """The file called `id_`, if it exists (malformed ids never match)."""
        if not names.is_valid_id(id_):
            return None
        with self._lock:
            return self._index.files.get(id_)

    def require(self, id_: str) -> FileMeta:
        """The file called `id_`, or a 404."""
        meta = self.get(id_)
        if meta is None:
            raise not_found(id_)
        return meta

    def derived_of(self, id_: str) -> list[FileMeta]:
        """Files derived from `id_`, by id."""
        with self._lock:
            index = self._index
            return [index.files[d] for d in index.derived.get(id_, ()) if d in index.files]

    def list(self, category: str | None, limit: int, offset: int) -> tuple[int, list[FileMeta]]:
        """Newest first: the number of files in `category` (or all), and
        `limit` of them after skipping `offset`. A category's page walks its
        own age order only; the offset is walked, as the reference's
        `BTreeSet` does."""
        with self._lock:
            index = self._index
            keys = index.order if category is None else index.by_category.get(category)
            if keys is None:
                return 0, []
            files = index.files
            page = [files[id_] for _, _, id_ in islice(reversed(keys), offset, offset + limit)]
            return len(keys), page

    def snapshot(self) -> dict[str, int]:
        """The counters with the current file count and size."""
        with self._lock:
            files, stored = len(self._index.files), self._index.total_bytes
        return self.stats.snapshot(files, stored)

    # -- writing -----------------------------------------------------------

    def begin_upload(self) -> Upload:
        """Starts an upload in the staging directory (its file is created by
        its first write), limited to `max_file_bytes`; its bytes count toward
        the quota as they are written."""
        return Upload(self.temp_file("part"), self.opts.max_file_bytes, self.opts.fsync,
                      Reserved(self))

    def commit_all(self, uploads: list[tuple[Staged, NewFile]]) -> list[FileMeta]:
        """Commits staged uploads with fresh ids: all become visible
        together, or none does, even across a crash (see `commit`); a failure
        removes what was already moved, and every staging file. The
        directories are synced once for the batch; older files may be
        evicted to respect the quota."""
        created_ms = now_ms()
        reserved = Reserved(self)
        items = []
        for staged, new in uploads:
            reserved.absorb(staged.reserved)
            staged.reserved = None
            items.append((staged.path, FileMeta(
                id=names.new_id(), filename=names.sanitize_filename(new.filename),
                content_type=names.normalize_content_type(new.content_type),
                category=new.category, description=new.description, size=staged.size,
                sha256=staged.sha256, created_at=rfc3339(created_ms), created_ms=created_ms,
            )))
        stored = commit.place(self, items, reserved)
        self.stats.bump("uploads", len(stored))
        self.stats.bump("upload_bytes", sum(m.size for m in stored))
        return stored

    def delete(self, id_: str) -> list[str]:
        """Deletes `id_` and the files derived from it; fixtures are
        read-only (409). Returns the deleted ids."""
        with self._lock:
            meta = self._index.files.get(id_)
            if meta is None:
                raise not_found(id_)
            if meta.fixture:
                raise errors.conflict(
                    "read_only", f"{id_!r} is a seeded fixture and cannot be deleted")
            removed = self._index.remove_tree(id_)
        self.remove_from_disk(removed)
        self.stats.bump("deletes")
        return [m.id for m in removed]

    def place_derived(self, source: FileMeta, operation: str, key: str,
                      output: DerivedOutput) -> FileMeta:
        """Stores the output of an operation on `source` as a derived file. Its
        id is fixed by source, operation and parameters, so repeating an
        operation replaces its earlier output instead of piling up copies."""
        digest = hashlib.sha256(f"{source.id}\n{operation}\n{key}".encode()).hexdigest()
        created_ms = now_ms()
        meta = FileMeta(
            id=f"d-{digest[:20]}", filename=output.filename, content_type=output.content_type,
            category="derived", description=f"{operation} of {source.id} ({key})",
            size=output.size, sha256=output.sha256, created_at=rfc3339(created_ms),
            created_ms=created_ms, fixture=False, derived_from=source.id, operation=operation,
        )
        return commit.place(self, [(output.path, meta)], Reserved(self))[0]

    # -- quota ---------------------------------------------------------------

    def reserve(self, n: int) -> None:
        """Counts `n` more staging bytes toward the quota, evicting the
        oldest files for them; refused with a 507 (nothing evicted) when the
        uploads in progress alone would pass the quota."""
        limit = self.opts.max_stored_bytes
        with self._staged_lock:
            staged = self._staged + n
            refused = staged > limit
            if not refused:
                self._staged = staged
        if refused:
            raise full(limit)
        with self._lock:
            if self._index.quota_bytes + self._staged <= limit:
                return
            evicted = self.over_quota([])
        self.evicted(evicted)

    def unstage(self, n: int) -> None:
        """Gives back `n` staging bytes (committed or abandoned)."""
        with self._staged_lock:
            self._staged -= n

    def over_quota(self, keep: list[FileMeta]) -> list[FileMeta]:
        """Takes the oldest unprotected files (see `Index.victim`) out of the
        index until stored and staging bytes fit the quota. Called with the
        lock held."""
        index, opts = self._index, self.opts
        out: list[FileMeta] = []
        while (index.quota_bytes + self._staged > opts.max_stored_bytes
               or index.quota_files > opts.max_stored_files):
            victim = index.victim(keep)
            if victim is None:
                break
            out.extend(index.remove_tree(victim))
        return out

    def evicted(self, files: list[FileMeta]) -> None:
        """Counts and removes evicted files."""
        if files:
            self.stats.bump("evicted", len(files))
            self.remove_from_disk(files)

    def remove_from_disk(self, files: list[FileMeta]) -> None:
        """Removes files (each as `remove_pair`) and syncs the directories."""
        for m in files:
            self.remove_pair(m.id)
        if files:
            try:
                self.sync_dirs()
            except OSError as e:
                log.warning("cannot sync the store's directories: %s", e)

    def sync_dirs(self) -> None:
        """Syncs `files/` and `meta/` (when fsync is on), so renames into and
        removals from them are durable."""
        if self.opts.fsync:
            sync_dir(self.files_dir)
            sync_dir(self.meta_dir)

    def pin(self, id_: str) -> Pinned | None:
        """The file `id_`, pinned against eviction until the pin is released;
        None when there is no such file."""
        with self._lock:
            meta = self._index.files.get(id_)
            if meta is None:
                return None
            pins = self._index.pins
            pins[meta.id] = pins.get(meta.id, 0) + 1
        return Pinned(self, meta)

    def unpin(self, id_: str) -> None:
        """Drops one pin of `id_`."""
        with self._lock:
            pins = self._index.pins
            left = pins.get(id_, 0) - 1
            if left > 0:
                pins[id_] = left
            else:
                pins.pop(id_, None)

    def crash_at(self, renames: int) -> bool:
        """Whether a test's simulated crash stops a commit after `renames`."""
        k = self._crash_after_renames
        return k is not None and renames >= k
