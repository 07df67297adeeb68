"""Analytics: tracked events fold into per-day aggregates as they arrive
(counts by type, page views per page, distinct sessions, orders and
revenue), so a dashboard never replays raw events. Memory stays bounded
under an endless track load: days leave a sliding window, distinct
(day, page) and (day, session) entries share a byte budget (past it the
oldest days are summarized; what still does not fit is counted as
untracked), and only the newest raw events are kept, by count and bytes.

A dashboard holds the store's lock only for an O(days in range) snapshot and
merges outside it, so `/track` never waits for a merge of the whole key
budget (see `_Layers` for how a day's maps are shared with it)."""

from __future__ import annotations

import ipaddress
import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from sortedcontainers import SortedList

from .. import errors
from ..errors import FieldError
from .wire import (NANOS, SECONDS_PER_DAY, days_from_civil, days_in_month, format_date,
                   format_time, format_time_millis, is_blank, json_size, money)

EVENT_TYPES = ("page_view", "click", "purchase", "signup", "login")
MAX_PROPERTIES = 32
MAX_PROPERTIES_BYTES = 2048
TOP_PAGES = 10
KEY_OVERHEAD = 64  # what a distinct (day, page) or (day, session) entry costs beyond its text
EVENT_OVERHEAD = 160  # what a retained raw event costs beyond its texts

Instant = tuple[int, int]  # (unix seconds, nanoseconds; 10⁹ or more in a leap second)


@dataclass(frozen=True, slots=True)
class AnalyticsLimits:
    """Memory bounds (the reference's defaults)."""

    window_days: int = 3650
    retained_events: int = 10_000
    retained_event_bytes: int = 16 << 20
    key_bytes: int = 32 << 20


# Field rules, for every framework's validation layer to call.

def byte_len_ok(value: str, lo: int, hi: int) -> bool:
    """`lo..=hi` bytes of UTF-8 (lengths bound memory), not blank when `lo` > 0."""
    n = len(value.encode("utf-8", "surrogatepass"))
    return lo <= n <= hi and not (lo > 0 and is_blank(value))


def parse_ip(text: str) -> str | None:
    """An IPv4 or IPv6 address as Rust parses it, written as Rust writes it
    (`::ffff:1.2.3.4` for IPv4-mapped ones); None when it is not one."""
    if "%" in text or not text.isascii():
        return None  # no zone ids
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return f"::ffff:{ip.ipv4_mapped}"
    return str(ip)


def _normalize(value: Any) -> Any:
    """A JSON value as the reference holds it: object keys sorted, integers
    beyond 64 bits as floats; non-finite numbers are unparseable (400)."""
    if isinstance(value, dict):
        return {k: _normalize(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        if -(1 << 63) <= value < (1 << 64):
            return value
        try:
            return float(value)
        except OverflowError:
            raise errors.malformed_json("malformed JSON: number out of range") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise errors.malformed_json("malformed JSON: number out of range")
    return value


def normalize_properties(properties: dict[str, Any] | None) -> tuple[dict[str, Any], int]:
    """The properties (empty when absent) as held, and their bytes as JSON."""
    normalized = _normalize(properties or {})
    return normalized, json_size(normalized)


@dataclass(frozen=True, slots=True)
class Properties:
    """An event's properties as held (normalized once per request) and
    their size as compact JSON: what a framework's validation hands on."""

    value: dict[str, Any]
    size: int

    def fits(self) -> bool:
        """At most `MAX_PROPERTIES` keys and `MAX_PROPERTIES_BYTES` bytes."""
        return len(self.value) <= MAX_PROPERTIES and self.size <= MAX_PROPERTIES_BYTES


def properties(raw: dict[str, Any] | None) -> Properties:
    """`raw` (empty when absent) normalized and measured; check `fits()`."""
    return Properties(*normalize_properties(raw))


#: The failure of properties that do not fit: field, code, message.
PROPERTIES_TOO_LARGE = FieldError(
    "properties", "size", f"at most {MAX_PROPERTIES} keys and {MAX_PROPERTIES_BYTES} bytes")


_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:[Zz]|([+\-\u2212])(\d{2}):([0-5]\d))\Z",
    re.ASCII,
)


def parse_rfc3339(text: str) -> Instant | None:
    """An RFC 3339 date-time as chrono reads it (`t`, `T` or a space between
    date and time, leap second 60, any number of fraction digits, `Z` or
    `±hh:mm` within a day); None when it is not one."""
    m = _RFC3339.match(text)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    if not (1 <= month <= 12 and 1 <= day <= days_in_month(year, month)
            and hour < 24 and minute < 60 and second <= 60):
        return None
    fraction = (m.group(7) or "")[:9]
    nanos = int(fraction.ljust(9, "0")) if fraction else 0
    if second == 60:
        second, nanos = 59, nanos + NANOS
    offset = 0
    if m.group(8):
        offset = int(m.group(9)) * 3600 + int(m.group(10)) * 60
        if offset >= SECONDS_PER_DAY:
            return None
        if m.group(8) != "+":
            offset = -offset
    seconds = (days_from_civil(year, month, day) * SECONDS_PER_DAY + hour * 3600 + minute * 60
               + second - offset)
    return seconds, nanos


def now() -> Instant:
    """The current time."""
    ns = time.time_ns()
    return ns // NANOS, ns % NANOS


def day_of(at: Instant) -> int:
    """The UTC day (days since 1970-01-01) of an instant."""
    return at[0] // SECONDS_PER_DAY


def oldest_day(current: Instant, window_days: int) -> int:
    """The first day a window of `window_days` ending at `current` holds."""
    return day_of(current) - window_days + 1


def timestamp_in_window(at: Instant, current: Instant, window_days: int) -> bool:
    """Within the window and at most a day ahead of `current`."""
    return (day_of(at) >= oldest_day(current, window_days)
            and at <= (current[0] + SECONDS_PER_DAY, current[1]))


def timestamp_error(at: Instant, current: Instant, window_days: int) -> FieldError | None:
    """The error of a timestamp outside the window, if it is."""
    if timestamp_in_window(at, current, window_days):
        return None
    return FieldError("timestamp", "range",
                      f"must be from {format_date(oldest_day(current, window_days))} "
                      "to one day ahead")


@dataclass(slots=True)
class Event:
    """A recorded event."""

    kind: int  # index into EVENT_TYPES
    user_id: int | None
    session_id: str
    page_url: str
    referrer: str | None
    user_agent: str
    ip_address: str  # as written back
    properties: dict[str, Any]
    properties_bytes: int
    at: Instant
    id: int = 0

    def cost(self) -> int:
        """Estimated bytes it holds."""
        n = EVENT_OVERHEAD + self.properties_bytes
        for text in (self.session_id, self.page_url, self.referrer or "", self.user_agent):
            n += len(text.encode("utf-8", "surrogatepass"))
        return n

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "event_type": EVENT_TYPES[self.kind],
            "user_id": self.user_id,
            "session_id": self.session_id,
            "page_url": self.page_url,
            "referrer": self.referrer,
            "user_agent": self.user_agent,
            "ip_address": self.ip_address,
            "properties": self.properties,
            "timestamp": format_time(*self.at),
        }


@dataclass(slots=True)
class _Summary:
    """What stays of a day whose distinct entries were dropped for room."""

    sessions: int = 0
    top_pages: list[tuple[str, int]] = field(default_factory=list)


def _top_n(counts: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """The TOP_PAGES largest counts: count descending, then key."""
    return sorted(counts, key=lambda kv: (-kv[1], kv[0]))[:TOP_PAGES]


_ABSENT = object()


class _Layers:
    """A day's distinct pages (with their counts) or sessions, shared with
    dashboards without copying: a live dict over a short tuple of frozen
    ones, later layers winning.

    The reference keeps these as persistent maps (`imbl`) that a dashboard
    clones in O(1) under the lock and merges outside it. The standard
    library has no persistent map, and a pure-Python one would make every
    `/track` walk a trie; this gives the same bounds with plain dicts:

    - a snapshot (under the lock) freezes the live dict (never written
      again) and takes the tuple of layers: O(1) per day;
    - tracking writes only the live dict; a lookup tries it, then the
      frozen layers, newest first: O(layers);
    - the dashboard merges a day's layers outside the lock (it reads them
      all anyway) and hands the merged dict back, which replaces the layers
      it merged if they are still the oldest (an O(1) swap under the lock).
      So a day holds one frozen layer plus one per dashboard still in
      flight, and a key that changed since the last dashboard is held at
      most twice (memory stays within 2× the key budget's entries).
    """

    __slots__ = ("frozen", "live", "size")

    def __init__(self) -> None:
        self.frozen: tuple[dict[str, Any], ...] = ()
        self.live: dict[str, Any] = {}
        self.size = 0  # distinct keys over all layers

    def get(self, key: str) -> Any:
        """The value of `key` (newest layer first), or `_ABSENT`."""
        value = self.live.get(key, _ABSENT)
        if value is _ABSENT:
            for layer in reversed(self.frozen):
                value = layer.get(key, _ABSENT)
                if value is not _ABSENT:
                    break
        return value

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not _ABSENT

    def __len__(self) -> int:
        return self.size

    def set(self, key: str, value: Any) -> None:
        """Sets a key it holds."""
        self.live[key] = value

    def add(self, key: str, value: Any) -> None:
        """Adds a key it does not hold."""
        self.live[key] = value
        self.size += 1

    def snapshot(self) -> tuple[dict[str, Any], ...]:
        """Every layer, oldest first, none of which will change again (the
        live dict is frozen when it holds anything)."""
        if self.live:
            self.frozen = (*self.frozen, self.live)
            self.live = {}
        return self.frozen

    def compact(self, layers: tuple[dict[str, Any], ...], merged: dict[str, Any]) -> None:
        """Replaces `layers` (a snapshot's) by `merged`, their merge, if they
        are still the oldest layers; otherwise a later dashboard merges."""
        n = len(layers)
        if n > 1 and len(self.frozen) >= n and all(
                a is b for a, b in zip(self.frozen, layers)):
            self.frozen = (merged, *self.frozen[n:])

    def merged(self) -> dict[str, Any]:
        """All layers as one dict (read it only)."""
        return _merge((*self.frozen, self.live))


def _merge(layers: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    """One dict of `layers` (oldest first, later ones winning); the only
    non-empty layer itself when there is one (read it only)."""
    full = [layer for layer in layers if layer]
    if not full:
        return {}
    if len(full) == 1:
        return full[0]
    merged = dict(full[0])
    for layer in full[1:]:
        merged.update(layer)
    return merged


@dataclass(slots=True)
class _Day:
    by_type: list[int] = field(default_factory=lambda: [0] * len(EVENT_TYPES))
    page_views: _Layers = field(default_factory=_Layers)  # page -> views
    sessions: _Layers = field(default_factory=_Layers)  # session -> None
    key_bytes: int = 0
    summary: _Summary | None = None
    orders: int = 0
    revenue_cents: int = 0

    def summarize(self) -> int:
        """Drops the distinct entries (fresh maps: snapshots keep theirs),
        keeping the top pages and the session count; returns the bytes
        freed."""
        summary = self.summary or _Summary()
        sessions = summary.sessions + len(self.sessions)
        pages = dict(summary.top_pages)
        for page, n in _top_n(self.page_views.merged().items()):
            pages[page] = pages.get(page, 0) + n
        # A new summary rather than a changed one: snapshots may hold the old.
        self.summary = _Summary(sessions, _top_n(pages.items()))
        self.page_views = _Layers()
        self.sessions = _Layers()
        freed, self.key_bytes = self.key_bytes, 0
        return freed


@dataclass(frozen=True, slots=True)
class _DaySnapshot:
    """What a dashboard takes of one day under the lock: counters, and the
    layers of its maps (frozen: read outside the lock)."""

    by_type: tuple[int, ...]
    pages: _Layers
    page_layers: tuple[dict[str, Any], ...]
    sessions: _Layers
    session_layers: tuple[dict[str, Any], ...]
    summary: _Summary | None
    orders: int
    revenue_cents: int


def _key_cost(key: str) -> int:
    return len(key.encode("utf-8", "surrogatepass")) + KEY_OVERHEAD


def _union_size(days: list[dict[str, Any]]) -> int:
    """Distinct sessions over several days: the largest day counts whole and
    only the others are gathered, so the cost is linear in the smaller days."""
    if not days:
        return 0
    days = sorted(days, key=len, reverse=True)
    largest = days[0]
    others = {s for day in days[1:] for s in day if s not in largest}
    return len(largest) + len(others)


def _add_counts(total: dict[str, int], counts: Iterable[tuple[str, int]]) -> None:
    for key, n in counts:
        total[key] = total.get(key, 0) + n


class Analytics:
    """The incremental analytics store."""

    def __init__(self, limits: AnalyticsLimits):
        self.limits = limits
        self._lock = threading.Lock()
        self._days: dict[int, _Day] = {}
        self._day_keys: SortedList = SortedList()
        self._detailed: SortedList = SortedList()  # days that still hold distinct entries
        self._recent: deque[Event] = deque()
        self._recent_bytes = 0
        self._key_bytes = 0
        self._tracked = 0
        self._evicted_events = 0
        self._expired_days = 0
        self._summarized_days = 0
        self._untracked_pages = 0
        self._untracked_sessions = 0

    def _day(self, d: int) -> _Day:
        day = self._days.get(d)
        if day is None:
            day = self._days[d] = _Day()
            self._day_keys.add(d)
        return day

    def _expire(self, current: Instant) -> None:
        oldest = oldest_day(current, self.limits.window_days)
        while self._day_keys and self._day_keys[0] < oldest:
            d = self._day_keys.pop(0)
            day = self._days.pop(d)
            self._key_bytes -= day.key_bytes
            self._detailed.discard(d)
            self._expired_days += 1

    def _make_room(self, cost: int, keep: int) -> bool:
        """Frees room for `cost` more key bytes by summarizing the oldest
        detailed days other than `keep`; False when that is not enough."""
        while self._key_bytes + cost > self.limits.key_bytes:
            k = 0
            if self._detailed and self._detailed[0] == keep:
                k = 1
            if k >= len(self._detailed):
                return False
            oldest = self._detailed.pop(k)
            day = self._days.get(oldest)
            if day is not None:
                self._key_bytes -= day.summarize()
                self._summarized_days += 1
        return True

    def _add_key(self, d: int, key: str, page: bool) -> bool:
        """Adds a distinct entry to day `d` if it fits."""
        cost = _key_cost(key)
        if not self._make_room(cost, d):
            return False
        day = self._day(d)
        if page:
            day.page_views.add(key, 1)
        else:
            day.sessions.add(key, None)
        day.key_bytes += cost
        self._key_bytes += cost
        if d not in self._detailed:
            self._detailed.add(d)
        return True

    def track(self, event: Event) -> Event:
        """Folds a validated event into the aggregates; returns it with its id."""
        current = now()
        with self._lock:
            self._expire(current)
            self._tracked += 1
            event.id = self._tracked
            d = day_of(event.at)
            day = self._day(d)
            day.by_type[event.kind] += 1
            if event.kind == 0:
                views = day.page_views.get(event.page_url)
                if views is not _ABSENT:
                    day.page_views.set(event.page_url, views + 1)
                elif not self._add_key(d, event.page_url, True):
                    self._untracked_pages += 1
            # `_add_key` may have summarized other days, never day `d`.
            if (event.session_id not in day.sessions
                    and not self._add_key(d, event.session_id, False)):
                self._untracked_sessions += 1
            self._recent.append(event)
            self._recent_bytes += event.cost()
            while self._recent and (len(self._recent) > self.limits.retained_events
                                    or self._recent_bytes > self.limits.retained_event_bytes):
                self._recent_bytes -= self._recent.popleft().cost()
                self._evicted_events += 1
        return event

    def record_order(self, at: Instant, total_cents: int) -> None:
        """Adds a placed order to its day."""
        with self._lock:
            self._expire(at)
            day = self._day(day_of(at))
            day.orders += 1
            day.revenue_cents += total_cents

    def _retention(self) -> dict:
        return {
            "events_tracked": self._tracked,
            "events_retained": len(self._recent),
            "events_evicted": self._evicted_events,
            "days_expired": self._expired_days,
            "days_summarized": self._summarized_days,
            "untracked_page_views": self._untracked_pages,
            "untracked_sessions": self._untracked_sessions,
            "distinct_keys": sum(d.page_views.size + d.sessions.size
                                 for d in self._days.values()),
            "key_bytes": self._key_bytes,
        }

    def retention(self) -> dict:
        """What the memory bounds did."""
        with self._lock:
            return self._retention()

    def dashboard(self, date_from: int | None, date_to: int | None) -> dict:
        """Aggregates over the days `date_from..=date_to` (either end open)."""
        return self._dashboard_then(date_from, date_to, lambda: None)

    def _dashboard_then(self, date_from: int | None, date_to: int | None,
                        unlocked: Callable[[], None]) -> dict:
        """`dashboard`, calling `unlocked` once the lock is released and
        before the days are merged (tests check that tracking goes on)."""
        # Under the lock: O(days in range) snapshots of counters and layers.
        with self._lock:
            if date_from is None or date_to is None or date_from <= date_to:
                chosen = self._day_keys.irange(date_from, date_to)
            else:
                chosen = ()
            days = []
            for d in chosen:
                day = self._days[d]
                days.append(_DaySnapshot(
                    tuple(day.by_type), day.page_views, day.page_views.snapshot(),
                    day.sessions, day.sessions.snapshot(), day.summary, day.orders,
                    day.revenue_cents))
            recent = [e for e, _ in zip(reversed(self._recent), range(10))]
            retention = self._retention()
        unlocked()
        # Outside it: the merge, linear in the distinct keys of the range.
        by_type = [0] * len(EVENT_TYPES)
        pages: dict[str, int] = {}
        sessions: list[dict[str, Any]] = []
        compactions = []
        orders = revenue = 0
        # Sessions of summarized days cannot be told apart from others'.
        summarized, summarized_sessions = False, 0
        for day in days:
            by_type = [a + b for a, b in zip(by_type, day.by_type)]
            day_pages = _merge(day.page_layers)
            day_sessions = _merge(day.session_layers)
            if len(day.page_layers) > 1:
                compactions.append((day.pages, day.page_layers, day_pages))
            if len(day.session_layers) > 1:
                compactions.append((day.sessions, day.session_layers, day_sessions))
            if pages:
                _add_counts(pages, day_pages.items())
            else:
                pages.update(day_pages)
            if day.summary is not None:
                summarized = True
                summarized_sessions += day.summary.sessions
                _add_counts(pages, day.summary.top_pages)
            sessions.append(day_sessions)
            orders += day.orders
            revenue += day.revenue_cents
        unique = _union_size(sessions) + summarized_sessions
        if compactions:
            with self._lock:
                for layers, merged_from, merged in compactions:
                    layers.compact(merged_from, merged)
        return {
            "date_from": None if date_from is None else format_date(date_from),
            "date_to": None if date_to is None else format_date(date_to),
            "total_events": sum(by_type),
            "events_by_type": dict(sorted(zip(EVENT_TYPES, by_type))),
            "top_pages": [{"page_url": p, "views": n} for p, n in _top_n(pages.items())],
            "unique_sessions": unique,
            "orders": orders,
            "revenue": money(revenue),
            "active_days": len(days),
            "exact": not summarized,
            "recent_events": [e.as_json() for e in recent],
            "retention": retention,
        }


def accepted(event: Event) -> dict:
    """The answer to a tracked event."""
    return {
        "accepted": True,
        "event_id": event.id,
        "event_type": EVENT_TYPES[event.kind],
        "session_id": event.session_id,
        "timestamp": format_time_millis(*event.at),
    }
