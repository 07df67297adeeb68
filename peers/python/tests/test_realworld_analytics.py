"""The analytics store against a brute-force recount of the events it was
given: random event and order sequences with dashboards in between (so the
days' maps are frozen, layered and compacted as they are under load), random
ranges, several threads at once; the dashboard's merge happens outside the
lock; memory bounds still summarize and count."""

from __future__ import annotations

import random
import threading

import pytest

from bench_shared.realworld import analytics
from bench_shared.realworld.analytics import EVENT_TYPES, Analytics, AnalyticsLimits, Event
from bench_shared.realworld.wire import money

DAY = 86_400


def event(kind: int, session: str, page: str, at: analytics.Instant) -> Event:
    return Event(kind=kind, user_id=None, session_id=session, page_url=page, referrer=None,
                 user_agent="test", ip_address="127.0.0.1", properties={},
                 properties_bytes=2, at=at)


class Recount:
    """What was sent, and the dashboard it must give (brute force)."""

    def __init__(self) -> None:
        self.events: list[tuple[int, int, str, str]] = []  # day, kind, session, page
        self.orders: list[tuple[int, int]] = []  # day, cents

    def dashboard(self, lo: int | None, hi: int | None) -> dict:
        def inside(day: int) -> bool:
            return (lo is None or day >= lo) and (hi is None or day <= hi)

        events = [e for e in self.events if inside(e[0])]
        orders = [o for o in self.orders if inside(o[0])]
        pages: dict[str, int] = {}
        for _, kind, _, page in events:
            if kind == 0:
                pages[page] = pages.get(page, 0) + 1
        top = sorted(pages.items(), key=lambda kv: (-kv[1], kv[0]))[:analytics.TOP_PAGES]
        return {
            "total_events": len(events),
            "events_by_type": {t: sum(1 for e in events if e[1] == k)
                               for k, t in enumerate(EVENT_TYPES)},
            "top_pages": [{"page_url": p, "views": n} for p, n in top],
            "unique_sessions": len({e[2] for e in events}),
            "orders": len(orders),
            "revenue": money(sum(c for _, c in orders)),
            "active_days": len({e[0] for e in events} | {o[0] for o in orders}),
            "exact": True,
        }

    def distinct_keys(self) -> int:
        pages = {(d, p) for d, k, _, p in self.events if k == 0}
        sessions = {(d, s) for d, _, s, _ in self.events}
        return len(pages) + len(sessions)


def compared(got: dict, want: dict) -> dict:
    return {k: got[k] for k in want}


def today() -> int:
    return analytics.day_of(analytics.now())


def random_range(rng: random.Random, first: int, last: int):
    lo = rng.choice([None, rng.randint(first - 1, last + 1)])
    hi = rng.choice([None, rng.randint(first - 1, last + 1)])
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo
    return lo, hi


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_dashboards_between_events_equal_a_recount(seed: int) -> None:
    rng = random.Random(seed)
    store, sent = Analytics(AnalyticsLimits()), Recount()
    now, first = today(), today() - 6
    for step in range(1500):
        roll = rng.random()
        if roll < 0.85:
            day = rng.randint(first, now)
            kind = rng.randrange(len(EVENT_TYPES))
            session, page = f"s{rng.randrange(120)}", f"/p/{rng.randrange(30)}"
            store.track(event(kind, session, page, (day * DAY + rng.randrange(DAY), 0)))
            sent.events.append((day, kind, session, page))
        elif roll < 0.9:
            day, cents = rng.randint(first, now), rng.randrange(1, 100_000)
            store.record_order((day * DAY + 5, 0), cents)
            sent.orders.append((day, cents))
        else:
            lo, hi = random_range(rng, first, now)
            want = sent.dashboard(lo, hi)
            assert compared(store.dashboard(lo, hi), want) == want, (step, lo, hi)
    want = sent.dashboard(None, None)
    assert compared(store.dashboard(None, None), want) == want
    assert store.retention()["distinct_keys"] == sent.distinct_keys()
    # Each dashboard folded the layers it merged: one frozen layer per day.
    for day in store._days.values():
        for layers in (day.page_views, day.sessions):
            assert len(layers.frozen) <= 1 and len(layers.merged()) == layers.size


def test_a_dashboard_merges_outside_the_lock() -> None:
    store = Analytics(AnalyticsLimits())
    at = analytics.now()
    for i in range(2000):
        store.track(event(0, f"s{i}", f"/p/{i % 500}", at))
    seen = []

    def meanwhile() -> None:
        assert store._lock.acquire(blocking=False), "the lock is held while merging"
        store._lock.release()
        seen.append(store.track(event(0, "late", "/late", at)).id)

    d = store._dashboard_then(None, None, meanwhile)
    assert seen == [2001]
    assert (d["total_events"], d["unique_sessions"], d["top_pages"][0]["views"]) == (2000, 2000, 4)
    after = store.dashboard(None, None)
    assert (after["total_events"], after["unique_sessions"]) == (2001, 2001)
    assert after["recent_events"][0]["session_id"] == "late"


def test_overlapping_dashboards_fold_only_the_layers_they_merged() -> None:
    """A dashboard that starts and ends while another merges: each hands
    back only what it merged, so nothing tracked in between is lost."""
    store, sent = Analytics(AnalyticsLimits()), Recount()
    now = today()
    counter = iter(range(10_000))

    def track(n: int) -> None:
        for _ in range(n):
            i = next(counter)
            store.track(event(0, f"s{i}", f"/p/{i % 50}", (now * DAY + 1, 0)))
            sent.events.append((now, 0, f"s{i}", f"/p/{i % 50}"))

    def want() -> dict:
        return sent.dashboard(None, None)

    for _ in range(3):
        track(20)
        store.dashboard(None, None)  # one frozen layer
        track(20)  # and a live one

        def inner() -> None:
            track(20)
            expected = want()
            assert compared(store.dashboard(None, None), expected) == expected
            track(20)

        store._dashboard_then(None, None, inner)
        expected = want()
        assert compared(store.dashboard(None, None), expected) == expected
        assert store.retention()["distinct_keys"] == sent.distinct_keys()
        day = store._days[now]
        assert len(day.page_views.merged()) == day.page_views.size
        assert len(day.sessions.merged()) == day.sessions.size


def test_threads_tracking_while_others_read_dashboards_lose_nothing() -> None:
    store = Analytics(AnalyticsLimits())
    now = today()
    sent: list[Recount] = [Recount() for _ in range(4)]
    failures: list[BaseException] = []

    def tracker(k: int) -> None:
        rng = random.Random(k)
        try:
            for _ in range(800):
                day = now - rng.randrange(3)
                kind = rng.randrange(5)
                session, page = f"s{rng.randrange(200)}", f"/{rng.randrange(50)}"
                store.track(event(kind, session, page, (day * DAY + 1, 0)))
                sent[k].events.append((day, kind, session, page))
        except BaseException as e:  # noqa: BLE001 (reported below)
            failures.append(e)

    def reader() -> None:
        try:
            for _ in range(60):
                d = store.dashboard(None, None)
                assert sum(d["events_by_type"].values()) == d["total_events"]
                assert sum(p["views"] for p in d["top_pages"]) <= d["events_by_type"]["page_view"]
        except BaseException as e:  # noqa: BLE001 (reported below)
            failures.append(e)

    threads = [threading.Thread(target=tracker, args=(k,)) for k in range(4)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures
    everything = Recount()
    for part in sent:
        everything.events += part.events
    want = everything.dashboard(None, None)
    assert compared(store.dashboard(None, None), want) == want
    assert store.retention()["distinct_keys"] == everything.distinct_keys()


def test_a_full_key_budget_summarizes_the_oldest_days_and_keeps_counts() -> None:
    limits = AnalyticsLimits(window_days=30, retained_events=50, retained_event_bytes=1 << 20,
                             key_bytes=60 * 80)
    store, sent = Analytics(limits), Recount()
    now = today()
    rng = random.Random(9)
    for i in range(600):
        day = now - 5 + i // 120
        kind, session, page = rng.randrange(5), f"s{i}", f"/p/{rng.randrange(15)}"
        store.track(event(kind, session, page, (day * DAY + 7, 0)))
        sent.events.append((day, kind, session, page))
        if i % 97 == 0:
            store.dashboard(None, None)
    r = store.retention()
    assert r["key_bytes"] <= limits.key_bytes
    assert r["days_summarized"] > 0
    assert (r["events_tracked"], r["events_retained"], r["events_evicted"]) == (600, 50, 550)
    d = store.dashboard(None, None)
    want = sent.dashboard(None, None)
    assert d["exact"] is False
    assert (d["total_events"], d["events_by_type"]) == (want["total_events"],
                                                        want["events_by_type"])
    # Today keeps its detail: a range of today alone is exact.
    last = now - 5 + 599 // 120
    today_only = store.dashboard(last, last)
    want = sent.dashboard(last, last)
    assert today_only["exact"] is True
    assert today_only["total_events"] == want["total_events"]


def test_days_leave_the_window_oldest_first() -> None:
    store = Analytics(AnalyticsLimits(window_days=3))
    now = today()
    for back in (2, 1, 0):
        store.track(event(0, "s", "/p", ((now - back) * DAY, 0)))
    assert store.dashboard(None, None)["active_days"] == 3
    store.record_order(((now + 2) * DAY, 0), 100)  # its day's window starts at now
    d = store.dashboard(None, None)
    assert (d["active_days"], d["total_events"], d["retention"]["days_expired"]) == (2, 1, 2)
    assert list(store._day_keys) == [now, now + 2]
