"""The storage quota's handles, the twin of the reference's `files/quota.rs`:
staging bytes reserved as uploads write them (given back on commit or
abort), and pins, which keep the files running jobs read (and their
ancestors) from eviction. The store does the counting and the evicting
(`Store.reserve`, `Store.pin`); these give back what they hold when
released; a reservation dropped unreleased gives its bytes back too (the
reference's `Drop`), so a forgotten one cannot fill the quota for good."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .meta import FileMeta

if TYPE_CHECKING:
    from .store import Store


class Reserved:
    """Staging bytes counted toward the quota until `release`."""

    __slots__ = ("_store", "bytes")

    def __init__(self, store: "Store") -> None:
        self._store = store
        self.bytes = 0

    def grow(self, n: int) -> None:
        """Reserves `n` more bytes (see `Store.reserve`: may evict older
        files, or refuse with a 507)."""
        self._store.reserve(n)
        self.bytes += n

    def absorb(self, other: "Reserved | None") -> None:
        """Takes over the bytes of `other`."""
        if other is not None:
            self.bytes += other.bytes
            other.bytes = 0

    def release(self) -> None:
        """Gives the bytes back (once)."""
        n = self.bytes
        if n:
            self.bytes = 0
            self._store.unstage(n)

    def __del__(self) -> None:
        try:
            self.release()
        except Exception:  # interpreter shutdown: nothing left to count
            pass


class Pinned:
    """The file `meta`, pinned against eviction until `release` (or the end
    of a `with` block)."""

    __slots__ = ("_store", "meta", "_held")

    def __init__(self, store: "Store", meta: FileMeta) -> None:
        self._store = store
        self.meta = meta
        self._held = True

    def release(self) -> None:
        """Unpins the file (once)."""
        if self._held:
            self._held = False
            self._store.unpin(self.meta.id)

    def __enter__(self) -> FileMeta:
        return self.meta

    def __exit__(self, *_exc: object) -> None:
        self.release()
