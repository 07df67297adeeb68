"""The commit protocol: a crash at every rename position leaves, after the
store is opened again, the whole batch or nothing, no orphans, an empty
staging directory and no intent; the syncs are the reference's, counted by
replacing `os.fsync` (11 for a 3-file upload, 4 for one file, 2 directory
syncs per delete and per eviction); a failing batch leaves nothing."""

from __future__ import annotations

import os
import stat

import pytest

from bench_shared.files import store as store_module
from bench_shared.files.commit import SimulatedCrash
from test_files_helpers import is_empty, names, new_file, open_store, put, staged


def batch(store, n: int):
    return [(staged(store, bytes([i]) * 100), new_file("batch", f"{i}.bin")) for i in range(n)]


def reopened_cleanly(path) -> int:
    """Opens the store again; checks what a crash may not leave; the number
    of the batch's files visible."""
    store = open_store(path)
    assert names(path, "files") == names(path, "meta"), "orphan content or metadata"
    assert is_empty(path, "tmp"), "staging leftovers"
    assert is_empty(path, "batches"), "an intent survived"
    return store.list("batch", 100, 0)[0]


@pytest.mark.parametrize("k", range(8))
def test_a_batch_cut_by_a_crash_is_whole_or_nothing_after_a_restart(tmp_path, k):
    store = open_store(tmp_path)
    store._crash_after_renames = k
    files = batch(store, 3)
    if k <= 6:  # 6 renames, then closing the intent counts as one more
        with pytest.raises(SimulatedCrash):
            store.commit_all(files)
        assert reopened_cleanly(tmp_path) == 0, f"crash after {k} renames"
    else:
        assert len(store.commit_all(files)) == 3
        assert reopened_cleanly(tmp_path) == 3


@pytest.mark.parametrize("k", range(3))
def test_a_single_file_cut_by_a_crash_leaves_nothing(tmp_path, k):
    store = open_store(tmp_path)
    store._crash_after_renames = k
    files = batch(store, 1)
    if k < 2:
        with pytest.raises(SimulatedCrash):
            store.commit_all(files)
        assert reopened_cleanly(tmp_path) == 0
    else:  # both renames done: the file is there (a single file has no intent)
        store.commit_all(files)
        assert reopened_cleanly(tmp_path) == 1


def test_an_unreadable_intent_is_removed_at_open(tmp_path):
    store = open_store(tmp_path)
    kept = put(store, b"kept", "batch")
    with open(os.path.join(tmp_path, "batches", "1-1.batch.json"), "wb") as f:
        f.write(b"{not json")
    with open(os.path.join(tmp_path, "batches", "1-2.batch.json"), "wb") as f:
        f.write(b'["../../etc/passwd", 7]')
    assert reopened_cleanly(tmp_path) == 1
    assert open_store(tmp_path).get(kept.id) == kept


class Syncs:
    """`os.fsync`, counted by kind of file."""

    def __init__(self, monkeypatch) -> None:
        self.files = self.dirs = 0
        real = os.fsync

        def fsync(fd) -> None:
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                self.dirs += 1
            else:
                self.files += 1
            real(fd)

        monkeypatch.setattr(store_module.os, "fsync", fsync)

    def take(self) -> tuple[int, int]:
        counts = (self.files, self.dirs)
        self.files = self.dirs = 0
        return counts


def test_syncs_are_the_references(tmp_path, monkeypatch):
    store = open_store(tmp_path, fsync=True, max_stored_files=4)
    syncs = Syncs(monkeypatch)
    # upload_multiple of 3: 3 staging contents, 3 metadata, the intent;
    # batches/ twice, files/ and meta/.
    three = store.commit_all(batch(store, 3))
    assert syncs.take() == (7, 4)
    one = put(store, b"one")
    assert syncs.take() == (2, 2)
    # A delete syncs files/ and meta/.
    store.delete(one.id)
    assert syncs.take() == (0, 2)
    # An eviction too, after the commit's own.
    put(store, b"two")
    assert syncs.take() == (2, 2)
    put(store, b"three")
    assert syncs.take() == (2, 4)
    assert store.snapshot()["evicted"] == 1
    assert store.get(three[0].id) is None
    # Nothing syncs without fsync.
    quiet = open_store(tmp_path / "quiet")
    put(quiet, b"x")
    quiet.commit_all(batch(quiet, 2))
    assert syncs.take() == (0, 0)


def test_a_failing_batch_leaves_nothing(tmp_path):
    store = open_store(tmp_path)
    files_before = names(tmp_path, "files")
    good, broken = batch(store, 2)
    # The second staging file vanishes before the commit (a disk fault).
    os.unlink(broken[0].path)
    with pytest.raises(FileNotFoundError):
        store.commit_all([good, broken])
    assert store.list("batch", 10, 0)[0] == 0
    assert names(tmp_path, "files") == files_before, "the first file was moved back out"
    assert names(tmp_path, "files") == names(tmp_path, "meta")
    assert is_empty(tmp_path, "tmp") and is_empty(tmp_path, "batches")
    assert store.snapshot()["uploads"] == 0
    assert store._staged == 0, "the batch's staging bytes were not given back"
    assert len(store.commit_all(batch(store, 2))) == 2
    assert is_empty(tmp_path, "tmp")
