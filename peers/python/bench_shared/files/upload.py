"""An upload in progress, the twin of the reference's `files/upload.rs`:
bytes go to a staging file as they arrive (created by the first write), the
sha256 is computed on the way, the size limit is enforced per chunk and the
bytes count toward the store's quota as they are written. A discarded
upload (error, limit, broken connection) loses its staging file and gives
its bytes back, so nothing partial is left behind; one dropped unfinished
is discarded too. Blocking: an event loop writes from a thread (see
`form.FormReader`, which holds a request's first bytes in memory and hands
the rest to the writes)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from .. import errors
from . import IO_BUFFER
from .quota import Reserved


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
    #: Its bytes, counted toward the quota until committed or discarded.
    reserved: Reserved | None = None

    def discard(self) -> None:
        """Removes the staging file and gives its bytes back (the upload was
        refused)."""
        remove_quietly(self.path)
        if self.reserved is not None:
            self.reserved.release()


class Upload:
    """An upload being written to its staging file."""

    def __init__(self, path: str, limit: int, fsync: bool,
                 reserved: Reserved | None = None) -> None:
        self.path = path
        self.limit = limit
        self._fsync = fsync
        #: The quota's count of the bytes written (none without a store).
        self._reserved = reserved
        self._file = None
        self._hasher = hashlib.sha256()
        self._open = True
        #: Bytes written so far.
        self.size = 0

    def _out(self):
        """The staging file's writer, created by the first write (`x`: a
        staging name is never reused)."""
        if self._file is None:
            self._file = open(self.path, "xb", buffering=IO_BUFFER)
        return self._file

    def write(self, chunk: bytes | bytearray | memoryview) -> None:
        """Appends a chunk (blocking): past the per-file limit the upload is
        refused with a 413, and with a 507 when uploads in progress alone
        would pass the quota (older files may be evicted to make room)."""
        n = len(chunk)
        size = self.size + n
        if size > self.limit:
            raise errors.payload_too_large(self.limit)
        if not n:
            return
        if self._reserved is not None:
            self._reserved.grow(n)
        self._hasher.update(chunk)
        self._out().write(chunk)
        self.size = size

    def finish(self) -> Staged:
        """Flushes and (unless the store runs without fsync) syncs the staging
        file: after this its bytes are on disk."""
        try:
            out = self._out()
            out.flush()
            if self._fsync:
                os.fsync(out.fileno())
            out.close()
        except BaseException:
            self.discard()
            raise
        self._file, self._open = None, False
        reserved, self._reserved = self._reserved, None
        return Staged(self.path, self.size, self._hasher.hexdigest(), reserved)

    def discard(self) -> None:
        """Drops the upload: its staging file goes and its bytes are given
        back."""
        if not self._open:
            return
        self._open = False
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass
            self._file = None
        remove_quietly(self.path)
        if self._reserved is not None:
            self._reserved.release()
            self._reserved = None

    def __del__(self) -> None:
        try:
            self.discard()
        except Exception:  # interpreter shutdown
            pass


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
