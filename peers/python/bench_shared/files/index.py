"""The store's in-memory index, the twin of the reference's `files/index.rs`:
files by id, by age and by category and age (a category's page walks only
its own files), derivations, the quota's measure, and the files pinned by
running jobs. Sorted sets are `sortedcontainers`' (the reference's
`BTreeSet`s); the caller holds the store's lock."""

from __future__ import annotations

from sortedcontainers import SortedList, SortedSet

from .meta import FileMeta

#: An age key: `(created_ms, insertion number, id)`, oldest first (files of
#: the same millisecond, every batch among them, in the order they were
#: indexed).
Key = tuple[int, int, str]


class Index:
    """Files by id, age order overall and per category, derivations, quota
    measure and pins."""

    __slots__ = ("files", "order", "by_category", "derived", "pins", "quota_bytes",
                 "quota_files", "total_bytes", "_inserted", "_insertions")

    def __init__(self) -> None:
        self.files: dict[str, FileMeta] = {}
        #: Every file's key, oldest first.
        self.order: SortedList = SortedList()
        #: The same keys, per category.
        self.by_category: dict[str, SortedList] = {}
        #: Source id to the ids derived from it (in id order).
        self.derived: dict[str, SortedSet] = {}
        #: Files a processing job reads, with the number of such jobs.
        self.pins: dict[str, int] = {}
        #: Bytes and count of non-fixture files (the quota's measure).
        self.quota_bytes = 0
        self.quota_files = 0
        self.total_bytes = 0
        #: Insertion number of each file, and the last one given.
        self._inserted: dict[str, int] = {}
        self._insertions = 0

    def insert(self, meta: FileMeta) -> FileMeta | None:
        """Indexes `meta` (after the file of the same id, if any, which is
        returned)."""
        old = self.remove(meta.id)
        self._insertions += 1
        self._inserted[meta.id] = self._insertions
        key = (meta.created_ms, self._insertions, meta.id)
        per_category = self.by_category.get(meta.category)
        if per_category is None:
            per_category = self.by_category[meta.category] = SortedList()
        per_category.add(key)
        self.order.add(key)
        if meta.derived_from is not None:
            children = self.derived.get(meta.derived_from)
            if children is None:
                children = self.derived[meta.derived_from] = SortedSet()
            children.add(meta.id)
        if not meta.fixture:
            self.quota_bytes += meta.size
            self.quota_files += 1
        self.total_bytes += meta.size
        self.files[meta.id] = meta
        return old

    def remove(self, id_: str) -> FileMeta | None:
        """Takes `id_` out of the index; its metadata, if it was there."""
        meta = self.files.pop(id_, None)
        if meta is None:
            return None
        key = (meta.created_ms, self._inserted.pop(id_, 0), meta.id)
        per_category = self.by_category.get(meta.category)
        if per_category is not None:
            per_category.discard(key)
            if not per_category:
                del self.by_category[meta.category]
        self.order.discard(key)
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
        return meta

    def remove_tree(self, id_: str) -> list[FileMeta]:
        """Removes `id_` and everything derived from it, children first."""
        out: list[FileMeta] = []
        for child in list(self.derived.get(id_, ())):
            out.extend(self.remove_tree(child))
        meta = self.remove(id_)
        if meta is not None:
            out.append(meta)
        return out

    def protected(self, keep: list[FileMeta]) -> set[str]:
        """The files eviction must spare: `keep`, the pinned ones, and every
        ancestor of those (evicting a file takes its derived files along)."""
        out: set[str] = set()
        starts = [m.id for m in keep]
        starts.extend(self.pins)
        for start in starts:
            current: str | None = start
            while current is not None and current not in out:
                out.add(current)
                meta = self.files.get(current)
                current = meta.derived_from if meta is not None else None
        return out

    def victim(self, keep: list[FileMeta]) -> str | None:
        """The oldest file eviction may take (with its derived files): not a
        fixture, not protected, not derived from a file of `keep`."""
        protected = self.protected(keep)
        kept = {m.id for m in keep}
        files = self.files
        for _, _, id_ in self.order:
            if id_ in protected:
                continue
            meta = files.get(id_)
            if meta is not None and not meta.fixture and meta.derived_from not in kept:
                return id_
        return None
