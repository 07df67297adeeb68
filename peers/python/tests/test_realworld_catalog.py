"""The catalog's popularity order, updated in place per view and sale (a
sorted set, as the reference's `BTreeSet`), against a brute-force sort of
the live counters after random views and sales."""

from __future__ import annotations

import random

from bench_shared.realworld.catalog import SALE_WEIGHT, Catalog, ProductQuery


def test_popularity_listings_equal_a_brute_force_sort() -> None:
    catalog = Catalog()
    rng = random.Random(3)
    n = len(catalog)
    views = [p.views for p in catalog.products]
    sold = [0] * n
    for step in range(3000):
        if rng.random() < 0.7:
            i = rng.randrange(n) if rng.random() < 0.5 else rng.randrange(20)
            assert catalog.view_once(i + 1)["views"] == views[i] + 1
            views[i] += 1
        else:
            ids = rng.sample(range(1, n + 1), rng.randint(1, 3))
            lines = [(id, rng.randint(1, 5)) for id in ids]
            if not catalog.reserve(lines):
                for id, quantity in lines:
                    sold[id - 1] += quantity
        if step % 300 == 0 or step == 2999:
            ranked = sorted(range(n), key=lambda i: (views[i] + SALE_WEIGHT * sold[i], i + 1))
            for descending in (False, True):
                order = ranked[::-1] if descending else ranked
                page, limit = rng.randint(1, 50), rng.randint(1, 100)
                q = ProductQuery(page, limit, None, None, "popularity", descending)
                items, total = catalog.list(q)
                start = (page - 1) * limit
                assert total == n
                assert [p["id"] for p in items] == [i + 1 for i in order[start:start + limit]]
                for p in items:
                    i = p["id"] - 1
                    assert p["popularity"] == views[i] + SALE_WEIGHT * sold[i]
    assert len(catalog._by_popularity) == n
