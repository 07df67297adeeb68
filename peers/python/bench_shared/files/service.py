"""The whole `file_operations` category behind any framework, the twin of
the reference's `files/service.rs`: a storage directory (a fresh temporary
one, removed when the server stops), the store, the processing gate with
its records, the flags' limits, and the non-HTTP half of every endpoint. A
framework hands an upload's body to `receive` (or `receive_async`),
validates the form's text fields with its own models and passes the
outcome to `fields`, calls the other methods (blocking ones on a thread)
and writes the answer."""

from __future__ import annotations

import asyncio
import atexit
import dataclasses
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Iterable, Mapping

from .. import errors, http
from ..errors import FieldError
from ..gate import cores
from ..reaper import remove_when_gone
from ..room import room
from . import names, receive, views
from .form import FormReader, FormSpec, Received, UploadFields
from .jobs import Processor
from .meta import FileMeta
from .store import MIB, Store, StoreOptions, not_found

#: Largest `limit` of a listing.
MAX_LIMIT = 100


@dataclass(slots=True)
class Limits:
    """The reference server's flags and their defaults."""

    max_file_bytes: int = 128 * MIB
    max_request_bytes: int = 256 * MIB
    max_files_per_request: int = 20
    max_stored_bytes: int = 4 * 1024 * MIB
    max_stored_files: int = 100_000
    fsync: bool = True
    #: Processing threads [default: the CPUs this process may run on].
    process_workers: int = field(default_factory=cores)
    #: Processing jobs allowed to wait; beyond it requests get 503.
    process_queue: int = 256


class FileService:
    """The category's state and the work of its endpoints."""

    def __init__(self, limits: Limits | None = None, storage_dir: str | None = None,
                 reaper: bool = False) -> None:
        """Opens the store in `storage_dir`, or in a new temporary directory
        that `close` (or the interpreter's exit) removes. With `reaper`, a
        temporary directory is also removed when the process ends without
        running exit handlers (`os._exit`, a crash, SIGKILL)."""
        self.limits = limits or Limits()
        if room() > self.limits.max_stored_files:
            self.limits = dataclasses.replace(self.limits, max_stored_files=room())
        self._temporary = storage_dir is None
        self.dir = tempfile.mkdtemp(prefix="file-operations-") if storage_dir is None \
            else storage_dir
        atexit.register(self.close)
        self._reaper = remove_when_gone(self.dir) if reaper and self._temporary else None
        try:
            self.store = Store(StoreOptions(
                self.dir, fsync=self.limits.fsync, max_file_bytes=self.limits.max_file_bytes,
                max_stored_bytes=self.limits.max_stored_bytes,
                max_stored_files=self.limits.max_stored_files))
        except BaseException:
            self.close()
            raise
        self.processor = Processor(self.store, self.limits.process_workers,
                                   self.limits.process_queue)
        self.single_form = FormSpec("file", "auto_process", 1)
        self.multiple_form = FormSpec("files", "batch_process",
                                      max(self.limits.max_files_per_request, 1))
        self.started = time.monotonic()

    def close(self) -> None:
        """Removes a temporary storage directory (idempotent)."""
        if self._temporary:
            self._temporary = False
            shutil.rmtree(self.dir, ignore_errors=True)
        if self._reaper is not None:
            self._reaper.stdin.close()  # it removes what is left, then exits
            self._reaper = None

    def uptime(self) -> int:
        """Whole seconds since the service opened."""
        return int(time.monotonic() - self.started)

    # -- uploads -------------------------------------------------------------

    def form_reader(self, spec: FormSpec, content_type: str | None,
                    content_length: str | None) -> FormReader:
        """A reader for one upload request (415/400/413 when it cannot be one)."""
        return FormReader(self.store, spec, content_type, content_length,
                          self.limits.max_request_bytes)

    def rejected(self) -> None:
        """Counts a refused or broken upload request."""
        self.store.stats.bump("rejected_uploads")

    def receive(self, spec: FormSpec, content_type: str | None, content_length: str | None,
                chunks: Iterable[bytes],
                disconnect: tuple[type[BaseException], ...]) -> Received:
        """The whole form of a blocking request, staged (`receive.receive`):
        on failure nothing is left, the refusal is counted, a refused body is
        drained and a broken one (`disconnect` raised while reading it) is a
        400 `body_read_error`."""
        return receive.receive(self, spec, content_type, content_length, chunks, disconnect)

    async def receive_async(self, spec: FormSpec, content_type: str | None,
                            content_length: str | None, chunks: AsyncIterator[bytes],
                            disconnect: tuple[type[BaseException], ...],
                            run_blocking: receive.RunBlocking = asyncio.to_thread) -> Received:
        """`receive` for an event loop: file writes run through
        `run_blocking`."""
        return await receive.receive_async(self, spec, content_type, content_length, chunks,
                                           disconnect, run_blocking)

    def fields(self, received: Received,
               validate: Callable[[], tuple[list[FieldError], Mapping[str, Any] | None]]
               ) -> UploadFields:
        """The form's fields, its text validated by the framework's
        `validate()` into `(failures, values)` (values keyed by field name):
        422 naming every failing field, a missing file part first. Any
        refusal, or anything `validate` raises, discards the staged files
        and counts the refusal."""
        try:
            failures, values = validate()
        except BaseException:
            received.discard()
            self.rejected()
            raise
        missing = received.missing_file()
        if missing is not None or failures or values is None:
            received.discard()
            self.rejected()
            raise errors.validation(([missing] if missing is not None else []) + failures)
        return UploadFields(values["category"], values["description"],
                            bool(values[received.spec.flag_field]))

    def commit(self, received: Received, category: str, description: str) -> list[FileMeta]:
        """Writes, syncs and commits a validated form's files (blocking)."""
        return received.commit(self.store, category, description)

    def single_uploaded(self, file: FileMeta, process: bool) -> dict:
        """The 201 body of `/upload/single`, queueing its analysis if asked."""
        processing = self.processor.analyze_later(file.id) if process else None
        return views.single_upload(file, processing)

    def multiple_uploaded(self, files: list[FileMeta], process: bool) -> dict:
        """The 201 body of `/upload/multiple`, queueing analyses if asked."""
        processing = [{"file_id": f.id, "job": self.processor.analyze_later(f.id)}
                      for f in files] if process else None
        return views.multiple_upload(files, processing)

    # -- management ----------------------------------------------------------

    def lookup(self, id_: str) -> FileMeta:
        """The file called `id_`, or 404. Ids are only looked up in the
        index; nothing a client sends reaches the file system."""
        return self.store.require(id_)

    def listing(self, query: Mapping[str, str]) -> dict:
        """`GET /files?category=&limit=&offset=`, newest first."""
        limit = http.query_uint(query, "limit", 20)
        offset = http.query_uint(query, "offset", 0)
        category = query.get("category") or None
        if not 1 <= limit <= MAX_LIMIT:
            raise errors.single("limit", "range", f"must be from 1 to {MAX_LIMIT}")
        if category is not None and not names.is_valid_category(category):
            raise errors.single("category", "pattern",
                                f"{category!r} is not a category (1-32 of a-z, 0-9, - and _)")
        total, page = self.store.list(category, limit, offset)
        return views.listing(total, page, limit, offset, category)

    def info(self, id_: str) -> dict:
        """`GET /files/{id}/info`."""
        meta = self.lookup(id_)
        return views.info(meta, self.store.derived_of(meta.id), self.processor.job(meta.id))

    def delete(self, id_: str) -> dict:
        """`DELETE /files/{id}`: the file and everything derived from it
        (blocking: unlinks)."""
        if not names.is_valid_id(id_):
            raise not_found(id_)
        removed = self.store.delete(id_)
        self.processor.forget(removed)
        return {"deleted": id_, "removed": removed}

    def stats(self) -> dict:
        """`GET /stats`."""
        lim = self.limits
        return {
            "files": self.store.snapshot(),
            "processing": self.processor.load(),
            "limits": {
                "max_file_bytes": lim.max_file_bytes,
                "max_request_bytes": lim.max_request_bytes,
                "max_files_per_request": self.multiple_form.max_files,
                "max_stored_bytes": lim.max_stored_bytes,
                "max_stored_files": lim.max_stored_files,
                "fsync": lim.fsync,
            },
            "uptime_seconds": self.uptime(),
        }

    def health(self) -> dict:
        """`GET /health`."""
        return {"status": "ok", "category": "file_operations",
                "files": self.store.snapshot()["files"], "uptime_seconds": self.uptime()}
