"""An upload in progress: bytes go to a staging file as they arrive, the
sha256 is computed on the way, and the size limit is enforced per chunk.
An unfinished upload (error, limit, broken connection) is discarded, which
removes its staging file, so nothing partial is ever left behind.

Taking bytes (`accept`, cheap, checks the limit) is split from writing them
(`flush`, blocking: hashing and file writes) so an event loop can take
bytes as they arrive and hand the writing to a thread in batches."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from .. import errors
from . import IO_BUFFER


def remove_quietly(path: str) -> None:
    """Removes `path`, ignoring a file that is already gone."""
    try:
        os.unlink(path)
    except OSError:
        pass


@dataclass(slots=True)
class Staged:
    """A complete, durable upload waiting to be committed to the store."""

    path: str
    size: int
    sha256: str

    def discard(self) -> None:
        """Removes the staging file (the upload was refused)."""
        remove_quietly(self.path)


class Upload:
    """An upload being written to its staging file."""

    def __init__(self, path: str, limit: int, fsync: bool) -> None:
        # `x`: a staging name is never reused; an existing file is an error.
        self._file = open(path, "xb", buffering=IO_BUFFER)
        self.path = path
        self.limit = limit
        self._fsync = fsync
        self._hasher = hashlib.sha256()
        self._pending: list[bytes | memoryview] = []
        self.pending_bytes = 0
        #: Bytes taken so far (written or pending).
        self.size = 0

    def accept(self, chunk: bytes | memoryview) -> None:
        """Takes a chunk to write later; past the per-file limit the upload
        is refused with a 413. The chunk must stay unchanged until flushed."""
        size = self.size + len(chunk)
        if size > self.limit:
            raise errors.payload_too_large(self.limit)
        self.size = size
        if chunk:
            self._pending.append(chunk)
            self.pending_bytes += len(chunk)

    def flush(self) -> None:
        """Hashes and writes every pending chunk (blocking)."""
        pending, self._pending, self.pending_bytes = self._pending, [], 0
        for chunk in pending:
            self._hasher.update(chunk)
            self._file.write(chunk)

    def write(self, chunk: bytes | memoryview) -> None:
        """Takes and writes a chunk at once (blocking)."""
        self.accept(chunk)
        self.flush()

    def finish(self) -> Staged:
        """Writes what is pending, flushes and (unless the store runs without
        fsync) syncs the staging file: after this its bytes are on disk."""
        try:
            self.flush()
            self._file.flush()
            if self._fsync:
                os.fsync(self._file.fileno())
        except BaseException:
            self.discard()
            raise
        self._file.close()
        return Staged(self.path, self.size, self._hasher.hexdigest())

    def discard(self) -> None:
        """Drops the upload and its staging file."""
        self._pending, self.pending_bytes = [], 0
        try:
            self._file.close()
        except OSError:
            pass
        remove_quietly(self.path)


class HashingWriter:
    """A binary writer that hashes and counts what passes through it."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.hasher = hashlib.sha256()
        self.size = 0

    def write(self, data) -> int:
        """Writes all of `data` (a blocking buffered writer writes it whole)."""
        self.inner.write(data)
        self.hasher.update(data)
        n = memoryview(data).nbytes
        self.size += n
        return n

    def flush(self) -> None:
        self.inner.flush()
