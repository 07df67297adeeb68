"""Downloads and streams read from disk: chunks of exactly the asked size
across read blocks, no copy where a framework takes slices (the block
itself when it is one chunk, memoryviews otherwise), `bytes` for the
frameworks that send nothing else, and a short file an error."""

from __future__ import annotations

import os

import pytest

from bench_shared.files.download import DOWNLOAD_CHUNK, READ_BLOCK, BlockReader


def reader(path, start: int, length: int, chunk: int) -> BlockReader:
    r = BlockReader(os.open(path, os.O_RDONLY), start, length, chunk)
    r.first = r.next_block()
    return r


def all_chunks(r: BlockReader) -> list:
    out, block = [], r.first
    while True:
        out.extend(r.chunks(block))
        if r.done:
            break
        block = r.next_block()
    r.close()
    return out


@pytest.fixture
def data(tmp_path):
    def write(size: int):
        content = bytes(i % 251 for i in range(size))
        path = tmp_path / "f"
        path.write_bytes(content)
        return path, content

    return write


def test_chunks_have_exactly_the_asked_size(data):
    path, content = data(10_000)
    chunks = all_chunks(reader(path, 0, 10_000, 4096))
    assert [len(c) for c in chunks] == [4096, 4096, 1808]
    assert all(isinstance(c, memoryview) for c in chunks), "sliced without copying"
    assert b"".join(chunks) == content
    # Across read blocks too: 1000-byte chunks of a 600,000-byte file.
    path, content = data(600_000)
    chunks = all_chunks(reader(path, 0, 600_000, 1000))
    assert all(len(c) == 1000 for c in chunks)
    assert b"".join(chunks) == content
    assert b"".join(all_chunks(reader(path, 1000, 50, 4096))) == content[1000:1050]


def test_a_download_sends_each_block_as_it_was_read(data):
    path, content = data(3 * READ_BLOCK + 5)
    r = reader(path, 0, len(content), DOWNLOAD_CHUNK)
    first = r.first
    chunks = all_chunks(r)
    assert chunks[0] is first, "the block was copied"
    assert [len(c) for c in chunks] == [READ_BLOCK] * 3 + [5]
    assert all(type(c) is bytes for c in chunks)
    assert b"".join(chunks) == content


def test_pieces_are_bytes_for_frameworks_that_take_nothing_else(data):
    path, content = data(300_000)
    counted = []
    r = reader(path, 0, 300_000, 65_536)
    pieces = list(r.pieces(counted.append))
    assert all(type(p) is bytes for p in pieces)
    assert [len(p) for p in pieces] == counted == [65_536] * 4 + [300_000 - 4 * 65_536]
    assert b"".join(pieces) == content
    r = reader(path, 0, 300_000, DOWNLOAD_CHUNK)
    first = r.first
    assert next(r.pieces(lambda _n: None)) is first
    r.close()


def test_an_empty_span_sends_nothing(data):
    path, _ = data(100)
    assert all_chunks(reader(path, 0, 0, 4096)) == []
    assert list(reader(path, 0, 0, 4096).pieces(lambda _n: None)) == []


def test_a_file_shorter_than_its_metadata_is_an_error(data):
    path, _ = data(10_000)
    with pytest.raises(OSError):
        reader(path, 9_000, 2_000, 4096)
