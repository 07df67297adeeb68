"""Files every server seeds at start, with deterministic content so the
contract can name them and check their bytes."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO

#: Text lines `{k:06} the quick brown fox jumps over the lazy dog\n`, cut at the size.
TEXT = "text"
#: Byte i is `i mod 251`.
BINARY = "binary"
#: A PNG of `width × height` RGB pixels, pixel (x, y) =
#: `(4x mod 256, 5y mod 256, 2(x+y) mod 256)`.
PNG = "png"

_LINE_TAIL = b" the quick brown fox jumps over the lazy dog\n"
_BLOCK = 60 * 1024


@dataclass(frozen=True, slots=True)
class Fixture:
    """One seeded file."""

    id: str
    filename: str
    content_type: str
    category: str
    #: Size in bytes (for the PNG, whatever the encoder produces: 0 here).
    size: int
    #: How its bytes are made: `TEXT`, `BINARY` or `PNG`.
    content: str
    width: int = 0
    height: int = 0


#: Every fixture, in seeding order.
FIXTURES: tuple[Fixture, ...] = (
    Fixture("test-file-1", "test-file-1.txt", "text/plain", "documents", 1024, TEXT),
    Fixture("test-file-2", "test-file-2.txt", "text/plain", "documents", 100 * 1024, TEXT),
    Fixture("test-file-3", "test-file-3.txt", "text/plain", "documents", 1024 * 1024, TEXT),
    Fixture("test-file-4", "test-file-4.bin", "application/octet-stream", "media",
            100 * 1024 * 1024, BINARY),
    Fixture("test-image-1", "test-image-1.png", "image/png", "images", 0, PNG, 64, 48),
)

_BY_ID = {f.id: f for f in FIXTURES}


def find(id_: str) -> Fixture | None:
    """The fixture called `id_`."""
    return _BY_ID.get(id_)


def _write_text(size: int, out: BinaryIO) -> None:
    k = 0
    left = size
    while left > 0:
        lines = []
        length = 0
        while length < _BLOCK:
            line = b"%06d" % k + _LINE_TAIL
            lines.append(line)
            length += len(line)
            k += 1
        block = b"".join(lines)
        n = min(left, len(block))
        out.write(block[:n])
        left -= n


def _write_binary(size: int, out: BinaryIO) -> None:
    # 251 × 261 bytes: a whole number of periods per block.
    block = bytes(range(251)) * 261
    left = size
    while left > 0:
        n = min(left, len(block))
        out.write(block[:n])
        left -= n


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data)))


def png_bytes(width: int, height: int) -> bytes:
    """The PNG fixture's bytes, written alike in every language (no encoder's
    choices in them, so the seeded data is byte-identical to the
    reference's): 8-bit RGB, every row unfiltered, the image data in stored
    (uncompressed) deflate blocks of at most 65,535 bytes."""
    raw = bytearray()
    for y in range(height):
        raw.append(0)
        for x in range(width):
            raw += bytes(((4 * x) % 256, (5 * y) % 256, (2 * (x + y)) % 256))
    stream = bytearray(b"\x78\x01")
    blocks = [raw[at:at + 65_535] for at in range(0, len(raw), 65_535)] or [b""]
    for n, block in enumerate(blocks):
        stream.append(1 if n == len(blocks) - 1 else 0)
        stream += struct.pack("<HH", len(block), len(block) ^ 0xFFFF) + block
    stream += struct.pack(">I", zlib.adler32(raw))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", bytes(stream)) + _png_chunk(b"IEND", b""))


def write_content(fixture: Fixture, out: BinaryIO) -> None:
    """Writes the fixture's bytes to `out`, a block at a time."""
    if fixture.content == TEXT:
        _write_text(fixture.size, out)
    elif fixture.content == BINARY:
        _write_binary(fixture.size, out)
    else:
        out.write(png_bytes(fixture.width, fixture.height))
