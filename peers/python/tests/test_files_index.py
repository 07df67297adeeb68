"""The store's index against brute force: random uploads (single files and
batches sharing a millisecond), derived files, deletes and evictions (by
count and by bytes, staging bytes included) applied to the store and to a
plain model that sorts and scans; every listing (all and per category, at
several offsets and limits), count and counter must agree. And a category's
page reads only that category's metadata."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from bench_shared.files import fixtures, process
from bench_shared.files import store as store_module
from bench_shared.files.process import Operation
from counting import CountingMap
from test_files_helpers import new_file, open_store, staged

CATEGORIES = ("alpha", "beta", "gamma")


@dataclass
class Entry:
    id: str
    created_ms: int
    seq: int
    category: str
    size: int
    fixture: bool
    derived_from: str | None


class Model:
    """The store's rules done the slow, obvious way."""

    def __init__(self, store, max_bytes: int, max_files: int) -> None:
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.files: dict[str, Entry] = {}
        self.seq = 0
        self.staged = 0
        self.evicted = 0
        for f in fixtures.FIXTURES:
            self.add(f.id, 0, f.category, store.get(f.id).size, True, None)

    def add(self, id_, ms, category, size, fixture, derived_from) -> None:
        self.seq += 1
        self.files[id_] = Entry(id_, ms, self.seq, category, size, fixture, derived_from)

    def oldest_first(self) -> list[Entry]:
        return sorted(self.files.values(), key=lambda e: (e.created_ms, e.seq))

    def quota(self) -> tuple[int, int]:
        uploads = [e for e in self.files.values() if not e.fixture]
        return sum(e.size for e in uploads), len(uploads)

    def remove_tree(self, id_: str) -> int:
        gone = 1
        for child in [e.id for e in self.files.values() if e.derived_from == id_]:
            gone += self.remove_tree(child)
        del self.files[id_]
        return gone

    def reserve(self, n: int) -> None:
        """Staging bytes written: the oldest files make room for them."""
        self.staged += n
        if self.quota()[0] + self.staged > self.max_bytes:
            self.evict([], [])

    def evict(self, keep: list[str], pinned: list[str]) -> None:
        while True:
            stored_bytes, stored_files = self.quota()
            if stored_bytes + self.staged <= self.max_bytes and stored_files <= self.max_files:
                return
            protected = set()
            for start in keep + pinned:
                current = start
                while current is not None and current not in protected:
                    protected.add(current)
                    current = self.files[current].derived_from if current in self.files \
                        else None
            victim = next((e.id for e in self.oldest_first()
                           if e.id not in protected and not e.fixture
                           and e.derived_from not in keep), None)
            if victim is None:
                return
            self.evicted += self.remove_tree(victim)

    def page(self, category, limit, offset) -> tuple[int, list[str]]:
        newest = [e.id for e in reversed(self.oldest_first())
                  if category is None or e.category == category]
        return len(newest), newest[offset:offset + limit]


class Clock:
    """A millisecond clock the test moves (batches share a millisecond)."""

    def __init__(self) -> None:
        self.ms = 1_700_000_000_000

    def __call__(self) -> int:
        return self.ms


def check(store, model: Model, rng: random.Random) -> None:
    assert store.list(None, 10_000, 0) == (len(model.files),
                                           [store.get(i) for i in model.page(None, 10_000, 0)[1]])
    for category in (None, *CATEGORIES, "derived", "documents", "none"):
        total = model.page(category, 10_000, 0)[0]
        for offset, limit in [(0, 1), (0, 5), (2, 3), (rng.randrange(0, total + 2), 4),
                              (total, 10), (0, 100)]:
            got_total, page = store.list(category, limit, offset)
            assert (got_total, [m.id for m in page]) == model.page(category, limit, offset), \
                (category, offset, limit)
    snap = store.snapshot()
    assert snap["files"] == len(model.files)
    assert snap["stored_bytes"] == sum(e.size for e in model.files.values())
    assert snap["evicted"] == model.evicted
    assert store._staged == model.staged == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_listings_counts_and_evictions_equal_a_brute_force_model(tmp_path, monkeypatch, seed):
    rng = random.Random(seed)
    clock = Clock()
    monkeypatch.setattr(store_module, "now_ms", clock)
    max_bytes, max_files = 6_000, 14
    store = open_store(tmp_path, max_stored_bytes=max_bytes, max_stored_files=max_files)
    model = Model(store, max_bytes, max_files)
    derived_seen = 0
    for step in range(160):
        if rng.random() < 0.6:
            clock.ms += rng.choice((0, 0, 1, 2))
        op = rng.random()
        uploads = [e.id for e in model.files.values() if not e.fixture]
        if op < 0.55:
            # A batch of 1-4 files written one after another, then committed.
            batch = []
            for _ in range(rng.randint(1, 4)):
                data = bytes([step % 251]) * rng.randint(1, 700)
                upload = store.begin_upload()
                upload.write(data)
                model.reserve(len(data))
                batch.append((upload.finish(), new_file(rng.choice(CATEGORIES))))
            stored = store.commit_all(batch)
            for meta, (_, new) in zip(stored, batch):
                model.add(meta.id, clock.ms, new.category, meta.size, False, None)
            model.staged -= sum(m.size for m in stored)
            model.evict([m.id for m in stored], [])
        elif op < 0.7 and uploads:
            source = rng.choice(uploads)
            result = process.process(store, source, Operation("compress", level=1))
            derived = result.file
            model.files.pop(derived.id, None)
            model.add(derived.id, clock.ms, "derived", derived.size, False, source)
            model.evict([derived.id], [source])
        elif uploads:
            victim = rng.choice(uploads)
            assert sorted(store.delete(victim)) == sorted(
                e.id for e in model.files.values()
                if e.id == victim or _descends(model, e.id, victim))
            model.remove_tree(victim)
        check(store, model, rng)
        derived_seen += sum(1 for e in model.files.values() if e.derived_from)
    assert model.evicted > 0, "nothing was evicted"
    assert derived_seen > 0, "no derived file was listed"


def _descends(model: Model, id_: str, ancestor: str) -> bool:
    parent = model.files[id_].derived_from
    while parent is not None:
        if parent == ancestor:
            return True
        parent = model.files[parent].derived_from if parent in model.files else None
    return False


def test_files_of_one_millisecond_list_in_commit_order(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "now_ms", lambda: 42)
    store = open_store(tmp_path)
    stored = store.commit_all([(staged(store, bytes([n])), new_file("batch"))
                               for n in range(12)])
    later = store.commit_all([(staged(store, b"x"), new_file("batch"))])
    _, page = store.list("batch", 100, 0)
    assert [m.id for m in page] == [later[0].id] + [m.id for m in reversed(stored)]


def test_a_category_page_reads_only_that_categorys_files(tmp_path):
    store = open_store(tmp_path)
    store.commit_all([(staged(store, b"bulk %d" % n), new_file("bulk")) for n in range(300)])
    rare = store.commit_all([(staged(store, b"rare %d" % n), new_file("rare")) for n in range(3)])
    store._index.files = files = CountingMap(store._index.files)
    for category, limit, offset, want in [("rare", 10, 0, 3), ("bulk", 5, 0, 5),
                                          ("bulk", 5, 290, 5), ("images", 10, 0, 1),
                                          (None, 4, 0, 4), ("nothing", 10, 0, 0)]:
        files.lookups = 0
        total, page = store.list(category, limit, offset)
        assert len(page) == want
        assert files.lookups == want, (category, files.lookups)
    assert [m.id for m in store.list("rare", 10, 0)[1]] == [m.id for m in reversed(rare)]
