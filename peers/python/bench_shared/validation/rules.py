"""Value rules of the validation models that a framework's field types cannot
say by themselves, with the reference's failure codes: `type`, `range`,
`decimal`, `datetime`, `total_mismatch`. A rule returns the value (maybe
normalized) or raises `RuleError`; each framework turns that into its own
validation error."""

from __future__ import annotations

from decimal import Decimal

I64_MIN = -(1 << 63)
I64_MAX = (1 << 63) - 1


class RuleError(ValueError):
    """A value broke a rule: the reference's code and a message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def json_type(value: object) -> str:
    """The JSON type name of a parsed value, as failure messages name it."""
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float, Decimal)):
        return "number"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "array"
    return "object"


def int64(value: int) -> int:
    """An integer that fits in 64 bits (`range` otherwise)."""
    if I64_MIN <= value <= I64_MAX:
        return value
    raise RuleError("range", "integer does not fit in 64 bits")


def preference(value: object) -> str | int | bool:
    """A preference value: a string, a 64-bit integer or a boolean."""
    kind = type(value)
    if kind is str or kind is bool:
        return value  # type: ignore[return-value]
    if kind is int:
        return int64(value)  # type: ignore[arg-type]
    if kind is Decimal:
        raise RuleError("type", f"expected an integer, got {value}")
    raise RuleError("type", "expected a string, integer or boolean")
