"""How the store's values look in JSON, as the reference writes them:
amounts as numbers converted exactly like `rust_decimal`'s `to_f64`, times
as RFC 3339 UTC, and the text rules (Rust's whitespace, compact JSON sizes)
that bounds and checks depend on."""

from __future__ import annotations

import json
import math
from typing import Any

SECONDS_PER_DAY = 86_400
NANOS = 1_000_000_000

# Characters with the Unicode White_Space property: what Rust's `trim` removes
# (Python's `str.strip()` also removes U+001C..U+001F, which Rust keeps).
RUST_WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def rust_trim(text: str) -> str:
    """`text` without leading and trailing Unicode whitespace, as Rust's `trim`."""
    return text.strip(RUST_WHITESPACE)


def is_blank(text: str) -> bool:
    """Whether `text` is empty once Rust-trimmed."""
    return not text.strip(RUST_WHITESPACE)


def money(cents: int) -> float:
    """An amount of `cents` (a decimal of scale 2) as the JSON number the
    reference writes: `rust_decimal`'s `as_f64`, step by step."""
    integral, frac = divmod(cents, 100)
    if frac == 0:
        return float(integral)
    value = float(integral) + frac / 100
    scaled = value * 100.0
    rounded = math.floor(scaled)
    if scaled - rounded >= 0.5:  # f64::round: halves away from zero
        rounded += 1
    return rounded / 100.0


def cents_text(cents: int) -> str:
    """`cents` as a decimal text (`84.18`), for messages."""
    return f"{cents // 100}.{cents % 100:02}"


def compact_json(value: Any) -> str:
    """`value` as compact JSON with sorted keys (what `serde_json` writes for
    its ordered maps)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def json_size(value: Any) -> int:
    """Bytes of `value` as compact JSON."""
    return len(compact_json(value).encode("utf-8", "surrogatepass"))


def civil_from_days(days: int) -> tuple[int, int, int]:
    """(year, month, day) of the proleptic Gregorian day `days` after 1970-01-01."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (1 if m <= 2 else 0), m, d


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days from 1970-01-01 to the proleptic Gregorian date given."""
    y = year - 1 if month <= 2 else year
    era = y // 400
    yoe = y - era * 400
    mp = month - 3 if month > 2 else month + 9
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def days_in_month(year: int, month: int) -> int:
    """Days of `month` in `year` (proleptic Gregorian)."""
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def format_date(days: int) -> str:
    """A day as chrono writes a `NaiveDate`: `YYYY-MM-DD`, years outside
    0..=9999 with a sign (`+12345-01-01`, `-0001-12-31`)."""
    y, m, d = civil_from_days(days)
    year = f"{y:04}" if 0 <= y <= 9999 else f"{y:+05}"
    return f"{year}-{m:02}-{d:02}"


def _clock(seconds: int, nanos: int) -> tuple[str, int]:
    """The date-time text up to the minutes, and the second to show (60
    for a leap second, whose nanoseconds are 10⁹ or more)."""
    days, rest = divmod(seconds, SECONDS_PER_DAY)
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    if nanos >= NANOS:
        second += 1
    return f"{format_date(days)}T{hour:02}:{minute:02}", second


def format_time(seconds: int, nanos: int = 0) -> str:
    """RFC 3339 UTC in whole seconds: `2024-01-01T00:00:00Z`."""
    head, second = _clock(seconds, nanos)
    return f"{head}:{second:02}Z"


def format_time_millis(seconds: int, nanos: int) -> str:
    """RFC 3339 UTC with milliseconds (truncated): `2024-01-01T00:00:00.000Z`."""
    head, second = _clock(seconds, nanos)
    return f"{head}:{second:02}.{(nanos % NANOS) // 1_000_000:03}Z"
