"""The product catalog: fixed product data with precomputed orderings and
filter sets, live stock behind one lock per product (taken in id order, all
items or none), and view and sales counts with a popularity ordering updated
in place as they change (a sorted set, as the reference's `BTreeSet`)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from itertools import islice
from typing import Iterable, Iterator

from sortedcontainers import SortedList

from ..errors import FieldError
from . import seed
from .search import WordIndex
from .seed import ProductSeed
from .wire import format_time, money

# Units sold count ten times a view in the popularity.
SALE_WEIGHT = 10
SORT_KEYS = ("name", "price", "created_at", "popularity")


@dataclass(frozen=True, slots=True)
class ProductQuery:
    """A product listing request, already validated."""

    page: int
    limit: int
    category_id: int | None
    search: str | None
    sort_by: str  # one of SORT_KEYS
    descending: bool


@dataclass(frozen=True, slots=True)
class Shortage:
    """A line that could not be served in full."""

    item: int  # index of the item in the order
    product_id: int
    requested: int
    available: int

    def field_error(self) -> FieldError:
        """As a detail on `items[i].quantity`."""
        return FieldError(
            f"items[{self.item}].quantity",
            "insufficient_stock",
            f"product {self.product_id} has {self.available} in stock, "
            f"{self.requested} requested",
        )


class Catalog:
    """The seeded catalog with its indexes and live counters."""

    def __init__(self) -> None:
        products = [seed.product(i) for i in range(1, seed.PRODUCTS + 1)]
        self.products = products
        n = len(products)
        self._static = [self._static_fields(p) for p in products]
        self._created = [format_time(p.created_at) for p in products]
        self._stock = [p.stock for p in products]
        self._stock_locks = [threading.Lock() for _ in products]
        self._live = threading.Lock()
        self._views = [p.views for p in products]
        self._sold = [0] * n
        # (popularity, id), ascending.
        self._by_popularity = SortedList((p.views, p.id) for p in products)
        self._orders = {
            "name": self._ordering(lambda p: p.name.encode()),
            "price": self._ordering(lambda p: p.price_cents),
            "created_at": self._ordering(lambda p: p.created_at),
        }
        self._categories = [
            frozenset(i for i, p in enumerate(products) if p.category_id == c + 1)
            for c in range(len(seed.CATEGORIES))
        ]
        self._words = WordIndex((p.name, p.brand, p.tags[0], p.tags[1]) for p in products)

    def _ordering(self, key) -> list[int]:
        """Positions sorted by `key`, ties by id."""
        return sorted(range(len(self.products)), key=lambda i: (key(self.products[i]), i))

    @staticmethod
    def _static_fields(p: ProductSeed) -> tuple[dict, dict]:
        head = {
            "id": p.id,
            "name": p.name,
            "description": p.description,
            "price": money(p.price_cents),
            "category_id": p.category_id,
            "category": seed.CATEGORIES[p.category_id - 1],
            "brand": p.brand,
            "sku": p.sku,
        }
        tail = {
            "is_featured": p.is_featured,
            "tags": list(p.tags),
            "images": [p.image],
        }
        return head, tail

    def __len__(self) -> int:
        return len(self.products)

    def seed(self, id: int) -> ProductSeed | None:
        """The fixed data of product `id`."""
        return self.products[id - 1] if 1 <= id <= len(self.products) else None

    def _view(self, i: int) -> dict:
        head, tail = self._static[i]
        views, sold = self._views[i], self._sold[i]
        return {
            **head,
            "stock_quantity": self._stock[i],
            **tail,
            "views": views,
            "sold": sold,
            "popularity": views + SALE_WEIGHT * sold,
            "created_at": self._created[i],
        }

    def get(self, id: int) -> dict | None:
        """Product `id` as it is now."""
        if self.seed(id) is None:
            return None
        with self._live:
            return self._view(id - 1)

    def _change(self, i: int, views: int = 0, sold: int = 0) -> None:
        """Moves the counters of position `i`, keeping the popularity order
        (the live lock is held)."""
        old = (self._views[i] + SALE_WEIGHT * self._sold[i], i + 1)
        self._views[i] += views
        self._sold[i] += sold
        self._by_popularity.remove(old)
        self._by_popularity.add((old[0] + views + SALE_WEIGHT * sold, i + 1))

    def view_once(self, id: int) -> dict | None:
        """Records one view of product `id` and returns it with the new count."""
        if self.seed(id) is None:
            return None
        with self._live:
            self._change(id - 1, views=1)
            return self._view(id - 1)

    def _matching(self, q: ProductQuery) -> frozenset[int] | None:
        """Positions matching the filters; None for all of them."""
        matching: frozenset[int] | None = None
        if q.category_id is not None:
            c = q.category_id - 1
            matching = self._categories[c] if 0 <= c < len(self._categories) else frozenset()
        if q.search is not None:
            found = self._words.search(q.search)
            if found is None:
                return frozenset()
            matching = found if matching is None else matching & found
        return matching

    def _ordered(self, q: ProductQuery) -> Iterable[int]:
        """Every position in the order asked for (the live lock is held)."""
        if q.sort_by == "popularity":
            ranked = reversed(self._by_popularity) if q.descending else self._by_popularity
            return (id - 1 for _, id in ranked)
        order = self._orders[q.sort_by]
        return reversed(order) if q.descending else order

    def list(self, q: ProductQuery) -> tuple[list[dict], int]:
        """One page of products matching `q`, and how many match."""
        matching = self._matching(q)
        total = len(self.products) if matching is None else len(matching)
        skip = (q.page - 1) * q.limit
        with self._live:
            ordered: Iterator[int] = iter(self._ordered(q))
            if matching is not None:
                ordered = (i for i in ordered if i in matching)
            return [self._view(i) for i in islice(ordered, skip, skip + q.limit)], total

    def reserve(self, lines: list[tuple[int, int]]) -> list[Shortage]:
        """Takes every `(product_id, quantity)` from stock, or nothing: the
        product locks are taken in id order, so concurrent orders cannot
        deadlock and stock never goes below zero. Ids must exist and be
        distinct. Returns the shortages (nothing taken) or [] once taken; the
        units then count as sold."""
        order = sorted(range(len(lines)), key=lambda k: lines[k][0])
        held: list[tuple[int, threading.Lock]] = []
        try:
            for k in order:
                i = lines[k][0] - 1
                lock = self._stock_locks[i]
                lock.acquire()
                held.append((k, lock))
            short = [
                Shortage(k, lines[k][0], lines[k][1], self._stock[lines[k][0] - 1])
                for k, _ in held
                if self._stock[lines[k][0] - 1] < lines[k][1]
            ]
            if short:
                return sorted(short, key=lambda s: s.item)
            for k, _ in held:
                self._stock[lines[k][0] - 1] -= lines[k][1]
        finally:
            for _, lock in reversed(held):
                lock.release()
        with self._live:
            for id, quantity in lines:
                self._change(id - 1, sold=quantity)
        return []
