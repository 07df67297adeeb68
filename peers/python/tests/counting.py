"""A mapping that counts the records read from it, for tests that hold a
listing to reading only its page (as the reference's indexes do): a
lookup counts one, a walk over the whole mapping counts every record."""

from __future__ import annotations


class CountingMap(dict):
    """A dict counting the records read through it (`lookups`)."""

    lookups = 0

    def get(self, k, default=None):
        self.lookups += 1
        return super().get(k, default)

    def __getitem__(self, k):
        self.lookups += 1
        return super().__getitem__(k)

    def __contains__(self, k):
        self.lookups += 1
        return super().__contains__(k)

    def __iter__(self):
        self.lookups += len(self)
        return super().__iter__()

    def keys(self):
        self.lookups += len(self)
        return super().keys()

    def values(self):
        self.lookups += len(self)
        return super().values()

    def items(self):
        self.lookups += len(self)
        return super().items()
