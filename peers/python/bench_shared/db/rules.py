"""The database endpoints' rules, framework-free, as `shared::db` states
them: TechEmpower's row counts, the listings' bounds, row ids read from the
path, the two request bodies and their checks, the random rows asked for,
and the errors the domain can give (404, 409, 503) as `ApiError`s."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any, Mapping

from .. import errors, http
from ..errors import FieldError
from ..validation.jsontext import has_lone_surrogate
from .seed import ADDED_FORTUNE, WORLD_ROWS

#: Most rows one request reads (`queries`, `count`).
MAX_QUERIES = 500
#: Largest `limit` of a listing.
MAX_LIMIT = 100
#: Largest `offset` of the users listing.
MAX_OFFSET = 1_000_000
#: Longest user name, in UTF-8 bytes.
MAX_NAME = 100
#: Longest email, in bytes.
MAX_EMAIL = 254
#: Largest single transfer, in cents (one million units).
MAX_AMOUNT = 100_000_000
#: The largest id a row can have (32-bit).
I32_MAX = (1 << 31) - 1
_DIGITS = re.compile(r"\+?[0-9]+")
#: What an email must match: the reference's pattern, for regex engines
#: where `$` is the end of the text (pydantic's), and for Python's `re`.
EMAIL = r"^[^@]+@[^@]+\.[^@]+$"
EMAIL_RE = r"^[^@]+@[^@]+\.[^@]+\Z"


def _digits(raw: str) -> str:
    """An integer's digits without its sign and leading zeros (`"0"` for zero)."""
    return raw.lstrip("+-").lstrip("0") or "0"


def row_count(raw: str | None) -> int:
    """The rows asked for: missing, not an integer or below 1 → 1, above 500 → 500."""
    if raw is None or not _DIGITS.fullmatch(raw):
        return 1
    if len(_digits(raw)) > 3:
        return MAX_QUERIES
    return min(max(int(raw), 1), MAX_QUERIES)


def random_ids(count: int) -> list[int]:
    """`count` random `world` ids (repeats allowed)."""
    return [random.randint(1, WORLD_ROWS) for _ in range(count)]


def distinct_ids(count: int) -> list[int]:
    """`count` different random `world` ids, so each answered value is the one stored."""
    return random.sample(range(1, WORLD_ROWS + 1), count)


def new_numbers(count: int) -> list[int]:
    """`count` new random numbers for `/updates`."""
    return random_ids(count)


def row_id(raw: str, what: str) -> int:
    """The path's `id`: not an integer → 400; an integer no row can have
    (0, negative, beyond 32 bits) → 404 naming `what` (`user`)."""
    value = http.int_or_none(raw, 128)  # the reference reads ids as i128
    if value is None:
        raise errors.bad_request(
            "invalid_path_param",
            f"path parameter `id` must be an integer, got {raw!r}",
            [FieldError("id", "invalid_type", "must be an integer")],
        )
    if not 1 <= value <= I32_MAX:
        raise missing(what, raw)
    return value


def missing(what: str, id_: int | str) -> errors.ApiError:
    """404 for a row that is not there (`what` names it: `user`, `account`)."""
    return errors.not_found(f"no {what} {id_}")


def _bounded(query: Mapping[str, str], name: str, default: int, low: int, high: int,
             failures: list[FieldError]) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    value = http.int_or_none(raw, 128)
    if value is None:
        raise errors.bad_request(
            "invalid_query", f"query parameter `{name}` must be an integer, got {raw!r}")
    if not low <= value <= high:
        failures.append(FieldError(name, "range", f"must be from {low} to {high}"))
    return value


def users_page(query: Mapping[str, str]) -> tuple[int, int]:
    """`limit` (1..100, default 20) and `offset` (0..1,000,000, default 0)."""
    failures: list[FieldError] = []
    limit = _bounded(query, "limit", 20, 1, MAX_LIMIT, failures)
    offset = _bounded(query, "offset", 0, 0, MAX_OFFSET, failures)
    errors.check(failures)
    return limit, offset


def posts_limit(query: Mapping[str, str]) -> int:
    """`limit` of posts by user (1..100, default 10)."""
    failures: list[FieldError] = []
    limit = _bounded(query, "limit", 10, 1, MAX_LIMIT, failures)
    errors.check(failures)
    return limit


@dataclass(frozen=True, slots=True)
class NewUser:
    """`POST /users` once its framework validated it: a name of 1 to
    `MAX_NAME` bytes, not blank, and an email of at most `MAX_EMAIL` bytes
    matching `EMAIL`; whether the email is taken is the database's to decide."""

    name: str
    email: str


@dataclass(frozen=True, slots=True)
class TransferRequest:
    """`POST /transfers` once its framework validated it: `amount` (1 to
    `MAX_AMOUNT`) cents from account `payer` to another account `payee`
    (ids 1 to 2³¹-1); whether they exist and can pay is the database's."""

    payer: int
    payee: int
    amount: int


def parse_body(body: bytes) -> Any:
    """A request body's JSON value (`http.parse_json`), a string with a lone
    surrogate refused as malformed, as the reference's parser does."""
    value = http.parse_json(body)
    if b"\\u" in body and has_lone_surrogate(value):
        raise errors.malformed_json("malformed JSON: lone surrogate in a string escape")
    return value


def email_problem(email: str) -> str | None:
    """What is wrong with an email beyond its pattern: more than
    `MAX_EMAIL` bytes of UTF-8 (a framework's length rule counts characters)."""
    if len(email.encode("utf-8", "surrogatepass")) > MAX_EMAIL:
        return f"must be at most {MAX_EMAIL} bytes"
    return None


def taken(field: str) -> errors.ApiError:
    """409: a unique index refused the row."""
    return errors.conflict("already_exists", f"{field} is already taken",
                           [FieldError(field, "taken", "already taken")])


def insufficient(account: int, balance: int, amount: int) -> errors.ApiError:
    """409: the paying account has less than the amount."""
    return errors.conflict("insufficient_funds",
                           f"account {account} has {balance} cents, {amount} asked")


def unavailable(reason: object) -> errors.ApiError:
    """503: the database cannot be reached or gave up; the request may be tried again."""
    return errors.unavailable("database_unavailable", f"the database is unavailable: {reason}")


def transfer_answer(transfer_id: int, request: TransferRequest, from_balance: int,
                    to_balance: int) -> dict:
    """A completed transfer as answered."""
    return {"id": transfer_id, "from": request.payer, "to": request.payee,
            "amount": request.amount, "from_balance": from_balance, "to_balance": to_balance}


def fortune_rows(stored: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The stored fortunes and the one added at request time, sorted by message."""
    rows = list(stored)
    rows.append(ADDED_FORTUNE)
    rows.sort(key=lambda row: row[1])
    return rows

