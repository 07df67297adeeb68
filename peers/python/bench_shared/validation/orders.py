"""Order totals, exact: Σ quantity × unit_price is computed when an order
gives no total and must equal the given total otherwise; the totals a batch
or an envelope reports are exact sums."""

from __future__ import annotations

from decimal import Decimal
from typing import Iterable

from . import decimals
from .rules import RuleError


def line_sum(lines: Iterable[tuple[int, Decimal]]) -> Decimal:
    """Σ quantity × unit_price; `RuleError("range")` when it overflows."""
    acc: Decimal | None = decimals.ZERO
    for quantity, unit_price in lines:
        line = decimals.mul(Decimal(quantity), unit_price)
        acc = None if line is None else decimals.add(acc, line)  # type: ignore[arg-type]
        if acc is None:
            raise RuleError("range", "the order total overflows")
    return acc  # type: ignore[return-value]


def checked_total(lines: Iterable[tuple[int, Decimal]], given: Decimal | None) -> Decimal:
    """The order's total: the given one when it equals the sum of its lines
    (kept as written, `45.480` stays `45.480`), the sum when none is given;
    `RuleError("total_mismatch")` when they differ."""
    computed = line_sum(lines)
    if given is None:
        return computed
    if given != computed:
        raise RuleError(
            "total_mismatch",
            f"{decimals.text(given)} is not the sum of quantity × unit_price "
            f"({decimals.text(computed)})",
        )
    return given


def sum_of(values: Iterable[Decimal], what: str) -> Decimal:
    """An exact sum of totals; `RuleError("range")` naming `what` when it
    overflows (the reference cannot hold it either)."""
    result = decimals.total(values)
    if result is None:
        raise RuleError("range", f"the {what} overflows")
    return result


def inventory_value(products: Iterable[tuple[Decimal, int]]) -> Decimal:
    """Σ price × stock_quantity of products."""
    values = []
    for price, stock in products:
        value = decimals.mul(price, Decimal(stock))
        if value is None:
            raise RuleError("range", "the inventory value overflows")
        values.append(value)
    return sum_of(values, "inventory value")
