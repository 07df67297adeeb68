"""The store: a directory with `files/<id>` (content), `meta/<id>.json`
(metadata) and `tmp/` (staging), an in-memory index over them, and a
storage quota that evicts the oldest non-fixture files.

A file becomes visible only once its content and metadata are on disk and
renamed into place; at open the store keeps every file whose metadata and
content agree, and removes staging leftovers and orphans."""

from __future__ import annotations

import bisect
import hashlib
import itertools
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .. import errors
from . import IO_BUFFER, fixtures, names
from .meta import FileMeta, NewFile
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
    #: Quota of non-fixture bytes; the oldest are evicted past it.
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


def now_ms() -> int:
    """Milliseconds since the epoch."""
    return time.time_ns() // 1_000_000


def rfc3339(ms: int) -> str:
    """`ms` since the epoch as RFC 3339 UTC with milliseconds."""
    secs, rest = divmod(ms, 1000)
    when = datetime.fromtimestamp(secs, tz=timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S") + f".{rest:03d}Z"


def sync_dir(path: str) -> None:
    """Syncs a directory so renames into it are durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(slots=True)
class _Index:
    files: dict[str, FileMeta] = field(default_factory=dict)
    #: `(created_ms, id)`, oldest first.
    order: list[tuple[int, str]] = field(default_factory=list)
    #: Source id to the ids derived from it.
    derived: dict[str, set[str]] = field(default_factory=dict)
    per_category: dict[str, int] = field(default_factory=dict)
    #: Bytes and count of non-fixture files (the quota's measure).
    quota_bytes: int = 0
    quota_files: int = 0
    total_bytes: int = 0

    def insert(self, meta: FileMeta) -> FileMeta | None:
        old = self.remove(meta.id)
        bisect.insort(self.order, (meta.created_ms, meta.id))
        if meta.derived_from is not None:
            self.derived.setdefault(meta.derived_from, set()).add(meta.id)
        if not meta.fixture:
            self.quota_bytes += meta.size
            self.quota_files += 1
        self.total_bytes += meta.size
        self.per_category[meta.category] = self.per_category.get(meta.category, 0) + 1
        self.files[meta.id] = meta
        return old

    def remove(self, id_: str) -> FileMeta | None:
        meta = self.files.pop(id_, None)
        if meta is None:
            return None
        key = (meta.created_ms, meta.id)
        at = bisect.bisect_left(self.order, key)
        if at < len(self.order) and self.order[at] == key:
            del self.order[at]
        if meta.derived_from is not None:
            siblings = self.derived.get(meta.derived_from)
            if siblings is not None:
                siblings.discard(id_)
                if not siblings:
                    del self.derived[meta.derived_from]
        if not meta.fixture:
            self.quota_bytes -= meta.size
            self.quota_files -= 1
        self.total_bytes -= meta.size
        left = self.per_category.get(meta.category, 0) - 1
        if left > 0:
            self.per_category[meta.category] = left
        else:
            self.per_category.pop(meta.category, None)
        return meta

    def remove_tree(self, id_: str) -> list[FileMeta]:
        """Removes `id_` and everything derived from it, children first."""
        out: list[FileMeta] = []
        for child in sorted(self.derived.get(id_, ())):
            out.extend(self.remove_tree(child))
        meta = self.remove(id_)
        if meta is not None:
            out.append(meta)
        return out


class Store:
    """The file store. Every method may block on the file system except
    `get`, `derived_of`, `list` and `snapshot` (index reads)."""

    def __init__(self, opts: StoreOptions) -> None:
        """Opens (or creates) the store in `opts.dir`: clears staging
        leftovers, seeds missing fixtures, and loads every file whose
        metadata and content agree (orphans of an interrupted commit go)."""
        self.opts = opts
        self.stats = Stats()
        self._index = _Index()
        self._lock = threading.Lock()
        self._staging = itertools.count()
        self.files_dir = os.path.join(opts.dir, "files")
        self.meta_dir = os.path.join(opts.dir, "meta")
        self.tmp_dir = os.path.join(opts.dir, "tmp")
        for d in (self.files_dir, self.meta_dir, self.tmp_dir):
            os.makedirs(d, exist_ok=True)
        for entry in os.scandir(self.tmp_dir):
            remove_quietly(entry.path)
        self._seed_fixtures()
        self._load_metadata()

    # -- paths -------------------------------------------------------------

    def content_path(self, meta: FileMeta) -> str:
        """Path of a stored file's content. Only metadata from the index
        names paths, so ids from clients never reach the file system."""
        return os.path.join(self.files_dir, meta.id)

    def _meta_path(self, id_: str) -> str:
        return os.path.join(self.meta_dir, f"{id_}.json")

    def temp_file(self, what: str) -> str:
        """A fresh staging path in `tmp/`."""
        return os.path.join(self.tmp_dir, f"{os.getpid()}-{next(self._staging)}.{what}")

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
            recorded = self._read_meta(self._meta_path(f.id))
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
        os.rename(temp, self._meta_path(f.id))
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
                remove_quietly(self._meta_path(entry.name))

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
            return [index.files[d] for d in sorted(index.derived.get(id_, ()))
                    if d in index.files]

    def list(self, category: str | None, limit: int, offset: int) -> tuple[int, list[FileMeta]]:
        """Newest first: the number of files in `category` (or all), and
        `limit` of them after skipping `offset`."""
        with self._lock:
            index = self._index
            total = (index.per_category.get(category, 0) if category is not None
                     else len(index.files))
            page: list[FileMeta] = []
            skipped = 0
            for _, id_ in reversed(index.order):
                meta = index.files[id_]
                if category is not None and meta.category != category:
                    continue
                if skipped < offset:
                    skipped += 1
                    continue
                if len(page) == limit:
                    break
                page.append(meta)
            return total, page

    def snapshot(self) -> dict[str, int]:
        """The counters with the current file count and size."""
        with self._lock:
            files, stored = len(self._index.files), self._index.total_bytes
        return self.stats.snapshot(files, stored)

    # -- writing -----------------------------------------------------------

    def begin_upload(self) -> Upload:
        """Starts an upload in the staging directory, limited to
        `max_file_bytes`."""
        return Upload(self.temp_file("part"), self.opts.max_file_bytes, self.opts.fsync)

    def commit_all(self, uploads: list[tuple[Staged, NewFile]]) -> list[FileMeta]:
        """Commits staged uploads with fresh ids: all become visible
        together, or none does (a failure removes what was already moved, and
        every staging file). The directories are synced once for the batch;
        older files may be evicted to respect the quota."""
        created_ms = now_ms()
        items = [
            (staged.path, FileMeta(
                id=names.new_id(), filename=names.sanitize_filename(new.filename),
                content_type=names.normalize_content_type(new.content_type),
                category=new.category, description=new.description, size=staged.size,
                sha256=staged.sha256, created_at=rfc3339(created_ms), created_ms=created_ms,
            ))
            for staged, new in uploads
        ]
        stored = self._place(items)
        self.stats.bump("uploads", len(stored))
        self.stats.bump("upload_bytes", sum(m.size for m in stored))
        return stored

    def _place(self, items: list[tuple[str, FileMeta]]) -> list[FileMeta]:
        """Moves content into place and writes its metadata, for each item;
        syncs the directories; then indexes them all at once."""
        moved: list[FileMeta] = []
        try:
            for content, meta in items:
                self._move_into_place(content, meta)
                moved.append(meta)
            if self.opts.fsync:
                sync_dir(self.files_dir)
                sync_dir(self.meta_dir)
            with self._lock:
                # A source deleted while its output was being made takes the
                # output with it.
                for m in moved:
                    if m.derived_from is not None and m.derived_from not in self._index.files:
                        raise not_found(m.derived_from)
                for m in moved:
                    self._index.insert(m)
                evicted = self._over_quota(moved)
        except BaseException:
            self._remove_from_disk(moved)
            for content, _ in items[len(moved):]:
                remove_quietly(content)
            raise
        self.stats.bump("evicted", len(evicted))
        self._remove_from_disk(evicted)
        return moved

    def _move_into_place(self, content: str, meta: FileMeta) -> None:
        """Writes `meta` (synced) and renames it and `content` into place."""
        target = os.path.join(self.files_dir, meta.id)
        meta_temp = self.temp_file("meta")
        try:
            with open(meta_temp, "xb") as f:
                f.write(meta.to_json())
                if self.opts.fsync:
                    f.flush()
                    os.fsync(f.fileno())
            os.rename(content, target)
        except BaseException:
            remove_quietly(meta_temp)
            raise
        try:
            os.rename(meta_temp, self._meta_path(meta.id))
        except BaseException:
            remove_quietly(target)
            remove_quietly(meta_temp)
            raise

    def _over_quota(self, keep: list[FileMeta]) -> list[FileMeta]:
        """Takes the oldest non-fixture files (never those in `keep` or
        derived from them) out of the index until the quota holds. Called
        with the lock held."""
        index, opts = self._index, self.opts
        kept = {m.id for m in keep}
        out: list[FileMeta] = []
        while (index.quota_bytes > opts.max_stored_bytes
               or index.quota_files > opts.max_stored_files):
            victim = next(
                (id_ for _, id_ in index.order
                 if id_ not in kept and not index.files[id_].fixture
                 and index.files[id_].derived_from not in kept),
                None,
            )
            if victim is None:
                break
            out.extend(index.remove_tree(victim))
        return out

    def _remove_from_disk(self, files: list[FileMeta]) -> None:
        for m in files:
            remove_quietly(self._meta_path(m.id))
            remove_quietly(os.path.join(self.files_dir, m.id))

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
        self._remove_from_disk(removed)
        self.stats.bump("deletes")
        return [m.id for m in removed]

    def place_derived(self, source: FileMeta, operation: str, key: str,
                      output: DerivedOutput) -> FileMeta:
        """Stores the output of an operation on `source` as a derived file.
        Its id is fixed by source, operation and parameters, so repeating an
        operation replaces its earlier output instead of piling up copies."""
        digest = hashlib.sha256(f"{source.id}\n{operation}\n{key}".encode()).hexdigest()
        created_ms = now_ms()
        meta = FileMeta(
            id=f"d-{digest[:20]}", filename=output.filename, content_type=output.content_type,
            category="derived", description=f"{operation} of {source.id} ({key})",
            size=output.size, sha256=output.sha256, created_at=rfc3339(created_ms),
            created_ms=created_ms, fixture=False, derived_from=source.id, operation=operation,
        )
        return self._place([(output.path, meta)])[0]
