"""Request bodies read as the validation engine needs them: numbers with a
fraction or an exponent become exact `Decimal`s (their digits and exponent
kept, never a binary float), integers stay integers, and anything that is not
JSON (empty, not UTF-8, syntax, nesting beyond the parser's limit,
NaN/Infinity, lone surrogates, integers of more than 4300 digits) is a 400
`malformed_json`.

Differences from the reference's tokenizer (shared::validation::scan), for absurd input only:
nesting is limited by Python's recursion limit (about 900 levels here)
instead of 200; a duplicated key keeps its last value without the earlier
one's failure; a number with a fraction and more than 4300 digits before it
is read (and then refused by its field) instead of refused as malformed; a
number in exponent notation is read from its digits and exponent, so the
reference's `from_scientific` quirks (rounding a base of more than 28
decimals, refusing an exponent above 28 when the value would fit) do not
apply. Numeric strings follow the reference exactly (`decimals.from_text`)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from .. import errors

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def has_lone_surrogate(value: Any) -> bool:
    """Whether a string anywhere in `value` holds a lone surrogate."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
    return False


def parse(body: bytes | str) -> Any:
    """The JSON value of a request body, numbers exact."""
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as e:
            raise errors.malformed_json(f"request body is not UTF-8: {e.reason}") from None
    else:
        text = body
    if not text.strip():
        raise errors.malformed_json("request body is empty")
    try:
        value = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except RecursionError:
        raise errors.malformed_json("malformed JSON: nested too deeply") from None
    except ValueError as e:
        raise errors.malformed_json(f"malformed JSON: {e}") from None
    if _SURROGATE_ESCAPE.search(text) and has_lone_surrogate(value):
        raise errors.malformed_json("malformed JSON: lone surrogate in a string escape")
    return value
