"""The percentile window against a sorted window, and its buckets as the
reference's tests check them (`shared::tasks::stats`)."""

from __future__ import annotations

import random

from bench_shared.tasks.stats import (BUCKETS, MAX_MICROS, WINDOW, Window, bucket, midpoint,
                                      nearest_rank)

QUANTILES = {"p50_ms": 0.5, "p90_ms": 0.9, "p99_ms": 0.99, "max_ms": 1.0}


def test_buckets_are_ordered_and_hold_their_values():
    last = 0
    for us in [*range(5000), 1 << 20, 1 << 40, MAX_MICROS - 1, MAX_MICROS]:
        b = bucket(us)
        assert last <= b < BUCKETS, us
        last = b
        mid = midpoint(b)
        assert abs(mid - us) <= us / 32 + 0.5, (us, mid)


def test_buckets_and_midpoints_are_the_reference_values():
    # Exact below 32 µs, then 32 buckets per power of two.
    assert [bucket(us) for us in (0, 31, 32, 63, 64, 65, 66)] == [0, 31, 32, 63, 64, 64, 65]
    assert bucket(MAX_MICROS) == BUCKETS - 1
    assert (midpoint(31), midpoint(32), midpoint(64)) == (31.0, 32.0, 64.5)
    # The top bucket: [2^63 + 31 × 2^58, 2^64), its middle as the
    # reference's f64 arithmetic gives it.
    assert midpoint(BUCKETS - 1) == float((1 << 63) + 31 * (1 << 58)) + float((1 << 58) - 1) / 2.0
    for b in range(BUCKETS - 1):
        assert midpoint(b) < midpoint(b + 1)


def test_nearest_rank_rounds_half_away_from_zero():
    assert [nearest_rank(n, 0.5) for n in (1, 2, 3, 4, 5)] == [0, 1, 1, 2, 2]
    assert nearest_rank(1024, 0.99) == 1013  # 1023 × 0.99 = 1012.77
    assert nearest_rank(1024, 1.0) == 1023
    assert nearest_rank(11, 0.9) == 9


def _sorted_window(values: list[int]) -> list[int]:
    return sorted(values[-WINDOW:])


def test_percentiles_follow_a_sorted_window():
    """Within a bucket of the sorted window's value, and exactly the
    midpoint of the bucket holding it, as durations come and go."""
    rng = random.Random(19)
    w = Window()
    pushed: list[int] = []
    for i in range(5000):
        us = rng.randrange(40) if rng.random() < 0.1 else rng.randrange(5_000_000)
        w.push_micros(us)
        pushed.append(us)
        if i % 97 == 0:
            v = _sorted_window(pushed)
            p = w.percentiles()
            assert p["samples"] == len(v)
            for name, q in QUANTILES.items():
                want = v[nearest_rank(len(v), q)]
                assert abs(p[name] - want / 1e3) <= want / 1e3 / 32 + 0.001, (name, p, want)
                assert p[name] == midpoint(bucket(want)) / 1e3


def test_an_empty_window_and_clamped_durations():
    w = Window()
    assert w.percentiles() == {"samples": 0, "p50_ms": 0.0, "p90_ms": 0.0, "p99_ms": 0.0,
                               "max_ms": 0.0}
    w.push(0.0000019)  # truncated to 1 µs, as Rust's as_micros
    w.push(-1.0)
    w.push(float("nan"))
    w.push_micros(-5)
    w.push_micros(1 << 70)
    assert list(w._recent) == [1, 0, 0, 0, MAX_MICROS]
    p = w.percentiles()
    assert (p["samples"], p["p50_ms"], p["max_ms"]) == (5, 0.0, midpoint(BUCKETS - 1) / 1e3)


def test_the_histogram_forgets_what_leaves_the_window():
    w = Window()
    for _ in range(WINDOW):
        w.push_micros(5_000_000)
    for _ in range(WINDOW):
        w.push_micros(7)
    assert sum(w._counts) == WINDOW and w._counts[7] == WINDOW
    assert w.percentiles()["max_ms"] == 0.007
