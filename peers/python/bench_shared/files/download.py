"""What `GET /download/{id}` and `GET /stream/{id}` send, the twin of the
reference's `files/transfer.rs`: the status, the byte span and the headers
(ranges, `ETag`, disposition), and a reader that takes the content from
disk in blocks of whole chunks with positional reads, for the framework to
send chunk by chunk (reads are blocking: run `BlockReader.open` and
`next_block` on a thread). Downloads go in chunks of `DOWNLOAD_CHUNK`, one
per block; `/stream` in chunks of exactly the asked size."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping

from .. import errors, http
from . import names
from . import range as byte_range
from .meta import FileMeta
from .store import Store, not_found

#: Most bytes read from disk per blocking call.
READ_BLOCK = 256 * 1024
#: Chunk size of downloads.
DOWNLOAD_CHUNK = READ_BLOCK
#: Smallest, largest and default `chunk_size` of `/stream`.
MIN_CHUNK_SIZE = 1024
MAX_CHUNK_SIZE = 1024 * 1024
DEFAULT_CHUNK_SIZE = 64 * 1024


@dataclass(slots=True)
class Plan:
    """A response to send: status, the bytes `start .. start + length`, the
    chunk size and the headers besides `Content-Length`."""

    meta: FileMeta
    status: int
    start: int
    length: int
    chunk: int
    headers: dict[str, str] = field(default_factory=dict)


def _base_headers(meta: FileMeta) -> dict[str, str]:
    return {"content-type": meta.content_type, "etag": meta.etag,
            "x-content-type-options": "nosniff"}


def download_plan(meta: FileMeta, range_header: str | None,
                  query: Mapping[str, str]) -> Plan:
    """The whole file (200) or one range of it (206), with `ETag`,
    `Accept-Ranges` and, when `as_attachment=true`, a `Content-Disposition`.
    400 for a bad flag; 416 with `Content-Range: bytes */N` for a range
    outside the file."""
    attachment = http.query_bool(query, "as_attachment", False)
    span = byte_range.parse(range_header, meta.size)
    if span == byte_range.UNSATISFIABLE:
        raise errors.ApiError(
            416, "range_not_satisfiable",
            f"the Range {range_header or ''!r} does not fit a file of {meta.size} bytes",
            headers={"Content-Range": f"bytes */{meta.size}"})
    headers = _base_headers(meta)
    headers["accept-ranges"] = "bytes"
    if span == byte_range.FULL:
        status, start, length = 200, 0, meta.size
    else:
        start, end = span
        status, length = 206, end - start + 1
        headers["content-range"] = f"bytes {start}-{end}/{meta.size}"
    if attachment:
        headers["content-disposition"] = names.content_disposition("attachment", meta.filename)
    return Plan(meta, status, start, length, DOWNLOAD_CHUNK, headers)


def stream_plan(meta: FileMeta, query: Mapping[str, str]) -> Plan:
    """The whole file in chunks of `chunk_size` (1 KiB – 1 MiB, default
    64 KiB): 400 when not a number, 422 out of range."""
    chunk = http.query_uint(query, "chunk_size", DEFAULT_CHUNK_SIZE)
    if not MIN_CHUNK_SIZE <= chunk <= MAX_CHUNK_SIZE:
        raise errors.single("chunk_size", "range",
                            f"must be from {MIN_CHUNK_SIZE} to {MAX_CHUNK_SIZE} bytes")
    headers = _base_headers(meta)
    headers["x-chunk-size"] = str(chunk)
    return Plan(meta, 200, 0, meta.size, chunk, headers)


class BlockReader:
    """`length` bytes of a stored file from `start`, read in blocks of whole
    chunks of about `READ_BLOCK` bytes with positional reads, and cut into
    chunks without copying where the framework takes slices (the
    reference's `transfer::read_chunks`). Stored files never change in place
    (a replacement is a new inode), so the metadata's length holds for the
    open file; a shorter file is an error, not a short body."""

    def __init__(self, fd: int, start: int, length: int, chunk: int) -> None:
        self._fd = fd
        self._pos = start
        self._left = length
        self.chunk = max(chunk, 1)
        self._block = max(READ_BLOCK, self.chunk) // self.chunk * self.chunk
        #: The first block, read by `open`.
        self.first = b""

    @classmethod
    def open(cls, store: Store, plan: Plan) -> "BlockReader":
        """Opens the file and reads its first block (blocking); 404 when it
        was deleted since the lookup."""
        try:
            fd = os.open(store.content_path(plan.meta), os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise not_found(plan.meta.id) from None
        reader = cls(fd, plan.start, plan.length, plan.chunk)
        try:
            reader.first = reader.next_block()
        except BaseException:
            reader.close()
            raise
        return reader

    @property
    def done(self) -> bool:
        """Whether every block has been read."""
        return self._left == 0

    def next_block(self) -> bytes:
        """The next block (blocking); empty at the end."""
        want = min(self._left, self._block)
        block = os.pread(self._fd, want, self._pos)
        if len(block) < want:
            # A short read (rare on a regular file): the rest, or an error.
            parts = [block]
            got = len(block)
            while got < want:
                more = os.pread(self._fd, want - got, self._pos + got)
                if not more:
                    raise OSError(f"file ended {want - got} bytes early")
                parts.append(more)
                got += len(more)
            block = b"".join(parts)
        self._pos += want
        self._left -= want
        return block

    def chunks(self, block: bytes) -> Iterator[bytes | memoryview]:
        """`block` cut into chunks of exactly the chunk size (the last of the
        file may be shorter) without copying: the block itself when it is
        one chunk (every download block), memoryview slices otherwise."""
        if len(block) <= self.chunk:
            if block:
                yield block
            return
        view = memoryview(block)
        for at in range(0, len(view), self.chunk):
            yield view[at:at + self.chunk]

    def pieces(self, on_piece: Callable[[int], None]) -> Iterator[bytes]:
        """Every chunk of the plan as `bytes`, for frameworks that send only
        that (WSGI servers, Catzilla): the block itself when it is one chunk
        (no copy), slices copied out of it otherwise. The blocks after the
        first are read as the iteration goes (blocking: for synchronous
        servers, or a loop thread that may block); `on_piece(n)` counts each.
        Closes the file at the end, also when the client goes away."""
        try:
            block = self.first
            chunk = self.chunk
            while True:
                if len(block) <= chunk:
                    if block:
                        on_piece(len(block))
                        yield block
                else:
                    for at in range(0, len(block), chunk):
                        piece = block[at:at + chunk]
                        on_piece(len(piece))
                        yield piece
                if self.done:
                    break
                block = self.next_block()
        finally:
            self.close()

    def close(self) -> None:
        """Closes the file."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    #: A response that was never sent (a client gone before its body) never
    #: runs the generator's `finally`: the file is closed when the reader goes.
    __del__ = close
