"""RFC 3339 date-times read and written as the reference does (chrono's
`DateTime::parse_from_rfc3339` then `to_rfc3339_opts(AutoSi, true)`): the
local time and offset are kept, `t`/space separators become `T`, fractions
are written as 3, 6 or 9 digits or dropped, a zero offset is written `Z`."""

from __future__ import annotations

import re

from .rules import RuleError

_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_MINUS_SIGN = "\u2212".encode()
# The form the reference writes for whole seconds in UTC: valid ones come
# back unchanged.
_CANONICAL = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z",
                        re.ASCII)


def _fail(why: str) -> RuleError:
    return RuleError("datetime", f"not an RFC 3339 date-time: {why}")


def _days_in_month(year: int, month: int) -> int:
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _DAYS[month - 1]


def _two(b: bytes, at: int) -> int:
    hi, lo = b[at], b[at + 1]
    if not (48 <= hi <= 57 and 48 <= lo <= 57):
        raise _fail("input contains invalid characters")
    return (hi - 48) * 10 + lo - 48


def _fraction(b: bytes) -> tuple[int, bytes]:
    """One to nine digits as nanoseconds; digits past the ninth are skipped."""
    n = 0
    count = 0
    while count < len(b) and count < 9 and 48 <= b[count] <= 57:
        n = n * 10 + b[count] - 48
        count += 1
    if count == 0:
        raise _fail("input contains invalid characters" if b else "premature end of input")
    rest = b[count:]
    while rest and 48 <= rest[0] <= 57:
        rest = rest[1:]
    return n * 10 ** (9 - count), rest


def _offset(b: bytes) -> int:
    """`Z`, or a sign (`+`, `-`, U+2212) with `HH:MM`: seconds east."""
    if not b:
        raise _fail("premature end of input")
    if b[0] in b"Zz":
        rest, seconds = b[1:], 0
    else:
        if b[0] in b"+-":
            negative, b = b[0] == 45, b[1:]
        elif b.startswith(_MINUS_SIGN):
            negative, b = True, b[3:]
        else:
            raise _fail("input contains invalid characters")
        if len(b) < 2:
            raise _fail("premature end of input")
        hours = _two(b, 0)
        if len(b) < 3:
            raise _fail("premature end of input")
        if b[2] != 58:
            raise _fail("input contains invalid characters")
        b = b[3:]
        if len(b) < 2:
            raise _fail("premature end of input")
        if 54 <= b[0] <= 57 and 48 <= b[1] <= 57:
            raise _fail("input is out of range")
        if not (48 <= b[0] <= 53 and 48 <= b[1] <= 57):
            raise _fail("input contains invalid characters")
        minutes = (b[0] - 48) * 10 + b[1] - 48
        rest = b[2:]
        seconds = hours * 3600 + minutes * 60
        seconds = -seconds if negative else seconds
    if rest:
        raise _fail("trailing input")
    if not -86_400 < seconds < 86_400:
        raise _fail("input is out of range")
    return seconds


def _write(y: int, mo: int, d: int, h: int, mi: int, s: int, nano: int, offset: int) -> str:
    out = f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}"
    if nano:
        if nano % 1_000_000 == 0:
            out += f".{nano // 1_000_000:03d}"
        elif nano % 1_000 == 0:
            out += f".{nano // 1_000:06d}"
        else:
            out += f".{nano:09d}"
    if offset == 0:
        return out + "Z"
    sign = "-" if offset < 0 else "+"
    offset = abs(offset)
    return f"{out}{sign}{offset // 3600:02d}:{offset % 3600 // 60:02d}"


def normalize(value: str) -> str:
    """The date-time in the reference's RFC 3339 form, or `RuleError("datetime")`."""
    canonical = _CANONICAL.fullmatch(value)
    if canonical:
        y, mo, d, h, mi, s = map(int, canonical.groups())
        if 1 <= mo <= 12 and 1 <= d <= _days_in_month(y, mo) and h < 24 and mi < 60 and s <= 60:
            return value
    b = value.encode("utf-8", "surrogatepass")
    if len(b) < 19:
        raise _fail("premature end of input")
    year = _two(b, 0) * 100 + _two(b, 2)
    if b[4] != 45:
        raise _fail("input contains invalid characters")
    month = _two(b, 5)
    if b[7] != 45:
        raise _fail("input contains invalid characters")
    day = _two(b, 8)
    if not (1 <= month <= 12 and 1 <= day <= _days_in_month(year, month)):
        raise _fail("input is out of range")
    if b[10] not in b"tT ":
        raise _fail("input contains invalid characters")
    hour = _two(b, 11)
    if b[13] != 58:
        raise _fail("input contains invalid characters")
    minute = _two(b, 14)
    if b[16] != 58:
        raise _fail("input contains invalid characters")
    second = _two(b, 17)
    leap = second == 60
    if leap:
        second = 59
    if len(b) > 19 and b[19] == 46:
        nano, rest = _fraction(b[20:])
    else:
        nano, rest = 0, b[19:]
    if hour >= 24 or minute >= 60 or second >= 60:
        raise _fail("input is out of range")
    offset = _offset(rest)
    return _write(year, month, day, hour, minute, second + leap, nano, offset)
