"""Exact decimals as the reference keeps them (`rust_decimal`): a mantissa
below 2^96 and a scale of 0 to 28, read from a number's text, written back
with their scale (`"29.90"` stays `"29.90"`), added and multiplied without
rounding unless the result would not fit. Python's `Decimal` holds them."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Context, Decimal, Inexact, Rounded
from typing import Iterable

from .rules import RuleError

MAX_SCALE = 28
_U96 = 1 << 96
# `rust_decimal`'s switch from 64- to 128-bit accumulation while parsing.
_WILL_OVERFLOW_U64 = (1 << 64) // 10 - 255
_BIG_TEXT = 18
# Enough digits for every sum and product of representable values: exact.
_EXACT = Context(prec=120, rounding=ROUND_HALF_EVEN, Emax=999, Emin=-999)
# The common case: 28 digits hold the exact result (it then fits in 96 bits);
# anything that would round is signalled and redone exactly.
_FAST = Context(prec=MAX_SCALE, rounding=ROUND_HALF_EVEN, Emax=999, Emin=-999,
                traps=[Inexact, Rounded])
# Below 10^28 the integer part fits whatever the exponent.
_FAST_ADJUSTED = MAX_SCALE - 1
# Short unsigned `digits[.digits]`, which `Decimal` reads exactly as the
# reference does.
_SIMPLE = re.compile(r"[0-9]{1,17}(?:\.[0-9]*)?", re.ASCII)
# Rust's `char::is_whitespace` (Unicode White_Space), which `str::trim` strips.
RUST_WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
ZERO = Decimal(0)


def _invalid(text: str, why: str) -> RuleError:
    return RuleError("decimal", f"{text!r} is not a decimal number ({why})")


def _make(negative: bool, mantissa: int, scale: int) -> Decimal:
    return Decimal(f"{'-' if negative else ''}{mantissa}E-{scale}")


def _round_tail(text: str, data: int, digit: int, rest: bytes, scale: int, point: bool,
                negative: bool) -> tuple[bool, int, int]:
    """`maybe_round`: the digit after the last kept one rounds (half up),
    every byte after it must still be a digit, `_` or a first `.`."""
    if digit >= 5:
        data += 1
        if data >= _U96:
            if scale == 0:
                raise _invalid(text, "overflow from mantissa after rounding")
            data = (data + 4) // 10
            scale -= 1
    seen_dot = point
    for b in rest:
        if 48 <= b <= 57 or b == 95:
            continue
        if b == 46 and not seen_dot:
            seen_dot = True
            continue
        raise _invalid(text, "unexpected character")
    return negative, data, scale


def _round_digit(text: str, b: int, point: bool) -> int:
    if 48 <= b <= 57:
        return b - 48
    if b == 95 or (b == 46 and not point):
        return 0
    raise _invalid(text, "unexpected character")


def _parse(text: str, exact: bool) -> tuple[bool, int, int]:
    """`rust_decimal`'s radix-10 parser: optional sign, digits with at most
    one `.` and `_` separators after a first digit. `exact` refuses what
    would need rounding; otherwise (a scientific base) it rounds."""
    b = text.encode("utf-8", "surrogatepass")
    n = len(b)
    if n == 0:
        raise _invalid(text, "empty")
    big = n >= _BIG_TEXT
    i, negative = 0, False
    if b[0] == 45:
        negative, i = True, 1
    elif b[0] == 43:
        i = 1
    has = point = wide = False
    data = scale = 0
    while i < n:
        c = b[i]
        i += 1
        if 48 <= c <= 57:
            nxt = data * 10 + (c - 48)
            if wide and nxt >= _U96:
                if not point:
                    raise _invalid(text, "overflow from too many digits")
                if exact:
                    raise _invalid(text, "too many digits")
                return _round_tail(text, data, c - 48, b[i:], scale, point, negative)
            data, has = nxt, True
            if point:
                scale += 1
            if i < n and point and big and scale >= MAX_SCALE:
                if exact:
                    raise _invalid(text, "too many digits")
                j = i
                if wide:
                    while j < n and b[j] == 95:
                        j += 1
                    if j == n:
                        return negative, data, scale
                digit = _round_digit(text, b[j], point)
                return _round_tail(text, data, digit, b[j + 1:], scale, point, negative)
            if big and not wide and data >= _WILL_OVERFLOW_U64:
                wide = True
        elif c == 46 and not point:
            point = True
        elif c == 95 and (has or wide):
            continue
        elif c == 46:
            raise _invalid(text, "two decimal points")
        else:
            raise _invalid(text, "unexpected character")
    if not has:
        raise _invalid(text, "no digits")
    return negative, data, scale


def _u32(text: str, raw: str) -> int:
    """Rust's `u32::from_str`: an optional `+`, then ASCII digits."""
    digits = raw[1:] if raw.startswith("+") else raw
    if not digits or not digits.isascii() or not digits.isdigit():
        raise _invalid(text, "bad exponent")
    value = int(digits)
    if value > 0xFFFF_FFFF:
        raise _invalid(text, "bad exponent")
    return value


def _scientific(text: str) -> Decimal:
    """`Decimal::from_scientific`: a base (rounded if too long) and an
    exponent of at most 28 either way."""
    cut = min(i for i in (text.find("e"), text.find("E")) if i >= 0)
    base, exp = text[:cut], text[cut + 1:]
    negative, mantissa, scale = _parse(base, exact=False)
    if exp.startswith("-"):
        e = _u32(text, exp[1:])
        if e > MAX_SCALE or scale + e > MAX_SCALE:
            raise _invalid(text, "scale exceeds 28")
        return _make(negative, mantissa, scale + e)
    e = _u32(text, exp)
    if e <= scale:
        return _make(negative, mantissa, scale - e)
    if e > MAX_SCALE:
        raise _invalid(text, "scale exceeds 28")
    value = mantissa * 10 ** (e - scale)
    if value >= _U96:
        raise _invalid(text, "exceeds the largest decimal")
    return _make(negative and value != 0, value, 0)


def from_text(text: str) -> Decimal:
    """A decimal from a numeric string, trimmed; `e`/`E` means scientific
    notation. `RuleError("decimal")` when it is not one the reference reads."""
    if len(text) < _BIG_TEXT and _SIMPLE.fullmatch(text):
        return Decimal(text)
    t = text.strip(RUST_WHITESPACE)
    if "e" in t or "E" in t:
        return _scientific(t)
    return _make(*_parse(t, exact=True))


def from_int(value: int) -> Decimal:
    """A JSON integer as a decimal (scale 0)."""
    if -_U96 < value < _U96:
        return Decimal(value)
    raise RuleError("decimal", f"{value} is not a decimal number (overflow)")


def from_json_number(value: Decimal) -> Decimal:
    """A JSON number with a fraction or exponent (read as a `Decimal`, its
    digits and exponent kept): refused when the reference cannot hold it
    (more than 28 decimals, a mantissa of 2^96 or more)."""
    sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        raise RuleError("decimal", "not a finite decimal number")
    if -MAX_SCALE <= exponent <= 0 and len(digits) <= MAX_SCALE:
        return value
    if exponent < -MAX_SCALE or exponent > MAX_SCALE:
        raise RuleError("decimal", f"{value} is not a decimal number (scale exceeds 28)")
    mantissa = int("".join(map(str, digits)) or "0") * 10 ** max(exponent, 0)
    if mantissa >= _U96:
        raise RuleError("decimal", f"{value} is not a decimal number (overflow)")
    return value


def fit(value: Decimal) -> Decimal | None:
    """The exact result of an operation as the reference holds it: unchanged
    when it fits; otherwise with the fewest decimals dropped that make it
    fit, rounded once half-even (`rust_decimal`'s rescale); None when its
    integer part does not fit (overflow)."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    if len(digits) <= MAX_SCALE and -MAX_SCALE <= exponent <= 0:
        return value
    mantissa = int("".join(map(str, digits)) or "0") * 10 ** max(exponent, 0)
    scale = max(-exponent, 0)
    drop = max(scale - MAX_SCALE, 0)
    while mantissa // 10**drop >= _U96 and drop < scale:
        drop += 1
    if drop:
        mantissa, rest = divmod(mantissa, 10**drop)
        half = 10**drop // 2
        if rest > half or (rest == half and mantissa & 1):
            mantissa += 1
        scale -= drop
        if mantissa >= _U96 and scale > 0:
            mantissa, scale = (mantissa + 5) // 10, scale - 1
    if mantissa >= _U96:
        return None
    return _make(sign == 1 and mantissa != 0, mantissa, scale)


def mul(a: Decimal, b: Decimal) -> Decimal | None:
    """`a × b` exactly (None on overflow)."""
    if not a or not b:
        return ZERO
    try:
        product = _FAST.multiply(a, b)
        if product.adjusted() <= _FAST_ADJUSTED:
            return product
    except (Inexact, Rounded):
        pass
    return fit(_EXACT.multiply(a, b))


def add(a: Decimal, b: Decimal) -> Decimal | None:
    """`a + b` exactly (None on overflow); adding zero keeps the other
    operand as it is (its scale too), as the reference does."""
    if not a:
        return b
    if not b:
        return a
    try:
        result = _FAST.add(a, b)
        if result.adjusted() <= _FAST_ADJUSTED:
            return result
    except (Inexact, Rounded):
        pass
    return fit(_EXACT.add(a, b))


def total(values: Iterable[Decimal]) -> Decimal | None:
    """The sum from zero, exactly (None on overflow)."""
    acc: Decimal | None = ZERO
    for v in values:
        acc = add(acc, v)
        if acc is None:
            return None
    return acc


def text(value: Decimal) -> str:
    """The decimal written as the reference writes it: plain digits with its
    scale, no exponent (`"29.90"`, `"100"`)."""
    return format(value, "f")
