"""Analytics: tracked events fold into per-day aggregates as they arrive
(counts by type, page views per page, distinct sessions, orders and
revenue), so a dashboard never replays raw events. Memory stays bounded
under an endless track load: days leave a sliding window, distinct
(day, page) and (day, session) entries share a byte budget (past it the
oldest days are summarized; what still does not fit is counted as
untracked), and only the newest raw events are kept, by count and bytes."""

from __future__ import annotations

import ipaddress
import math
import re
import threading
import time
from bisect import bisect_left, bisect_right, insort
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterable

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


def properties_ok(properties: dict[str, Any], size: int) -> bool:
    """At most 32 keys and 2 KiB serialized."""
    return len(properties) <= MAX_PROPERTIES and size <= MAX_PROPERTIES_BYTES


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


@dataclass(slots=True)
class _Day:
    by_type: list[int] = field(default_factory=lambda: [0] * len(EVENT_TYPES))
    page_views: dict[str, int] = field(default_factory=dict)
    sessions: set[str] = field(default_factory=set)
    key_bytes: int = 0
    summary: _Summary | None = None
    orders: int = 0
    revenue_cents: int = 0

    def summarize(self) -> int:
        """Drops the distinct entries, keeping the top pages and the session
        count; returns the bytes freed."""
        summary = self.summary or _Summary()
        summary.sessions += len(self.sessions)
        pages = dict(summary.top_pages)
        for page, n in _top_n(self.page_views.items()):
            pages[page] = pages.get(page, 0) + n
        summary.top_pages = _top_n(pages.items())
        self.summary = summary
        self.page_views = {}
        self.sessions = set()
        freed, self.key_bytes = self.key_bytes, 0
        return freed


def _key_cost(key: str) -> int:
    return len(key.encode("utf-8", "surrogatepass")) + KEY_OVERHEAD


def _union_size(days: list[set[str]]) -> int:
    """Distinct sessions over several days: the largest day counts whole and
    only the others are gathered, so the cost is linear in the smaller days."""
    if not days:
        return 0
    days = sorted(days, key=len, reverse=True)
    largest = days[0]
    others = {s for day in days[1:] for s in day if s not in largest}
    return len(largest) + len(others)


class Analytics:
    """The incremental analytics store."""

    def __init__(self, limits: AnalyticsLimits):
        self.limits = limits
        self._lock = threading.Lock()
        self._days: dict[int, _Day] = {}
        self._day_keys: list[int] = []  # sorted
        self._detailed: list[int] = []  # sorted: days that still hold distinct entries
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
            insort(self._day_keys, d)
        return day

    def _expire(self, current: Instant) -> None:
        oldest = oldest_day(current, self.limits.window_days)
        while self._day_keys and self._day_keys[0] < oldest:
            d = self._day_keys.pop(0)
            day = self._days.pop(d)
            self._key_bytes -= day.key_bytes
            k = bisect_left(self._detailed, d)
            if k < len(self._detailed) and self._detailed[k] == d:
                del self._detailed[k]
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
            day.page_views[key] = 1
        else:
            day.sessions.add(key)
        day.key_bytes += cost
        self._key_bytes += cost
        k = bisect_left(self._detailed, d)
        if k == len(self._detailed) or self._detailed[k] != d:
            self._detailed.insert(k, d)
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
                if event.page_url in day.page_views:
                    day.page_views[event.page_url] += 1
                elif not self._add_key(d, event.page_url, True):
                    self._untracked_pages += 1
            if (event.session_id not in self._days[d].sessions
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
            "distinct_keys": sum(len(d.page_views) + len(d.sessions) for d in self._days.values()),
            "key_bytes": self._key_bytes,
        }

    def retention(self) -> dict:
        """What the memory bounds did."""
        with self._lock:
            return self._retention()

    def dashboard(self, date_from: int | None, date_to: int | None) -> dict:
        """Aggregates over the days `date_from..=date_to` (either end open)."""
        lo = -math.inf if date_from is None else date_from
        hi = math.inf if date_to is None else date_to
        by_type = [0] * len(EVENT_TYPES)
        pages: dict[str, int] = {}
        sessions: list[set[str]] = []
        orders = revenue = active_days = 0
        # Sessions of summarized days cannot be told apart from others'.
        summarized, summarized_sessions = False, 0
        with self._lock:
            keys = self._day_keys
            chosen = keys[bisect_left(keys, lo):bisect_right(keys, hi)] if lo <= hi else []
            for d in chosen:
                day = self._days[d]
                active_days += 1
                by_type = [a + b for a, b in zip(by_type, day.by_type)]
                for page, n in day.page_views.items():
                    pages[page] = pages.get(page, 0) + n
                if day.summary is not None:
                    summarized = True
                    summarized_sessions += day.summary.sessions
                    for page, n in day.summary.top_pages:
                        pages[page] = pages.get(page, 0) + n
                sessions.append(day.sessions)
                orders += day.orders
                revenue += day.revenue_cents
            unique = _union_size(sessions) + summarized_sessions
            recent = [e.as_json() for e, _ in zip(reversed(self._recent), range(10))]
            retention = self._retention()
        return {
            "date_from": None if date_from is None else format_date(date_from),
            "date_to": None if date_to is None else format_date(date_to),
            "total_events": sum(by_type),
            "events_by_type": dict(sorted(zip(EVENT_TYPES, by_type))),
            "top_pages": [{"page_url": p, "views": n} for p, n in _top_n(pages.items())],
            "unique_sessions": unique,
            "orders": orders,
            "revenue": money(revenue),
            "active_days": active_days,
            "exact": not summarized,
            "recent_events": recent,
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
