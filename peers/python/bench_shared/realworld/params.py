"""The query rules of the listings and the dashboard, as the reference's
handlers apply them: the first value of a repeated parameter counts, what
cannot be parsed is a 400 `invalid_query` (checked before any range), and
every value out of range is listed in one 422."""

from __future__ import annotations

import re
from typing import Mapping

from .. import errors
from ..errors import FieldError
from . import seed
from .blog import STATUSES, PostQuery
from .catalog import SORT_KEYS, ProductQuery
from .search import has_words
from .wire import RUST_WHITESPACE, days_from_civil, days_in_month

MAX_PAGE = 10_000
MAX_LIMIT = 100
MAX_SEARCH = 100
_INT = re.compile(r"[+-]?[0-9]+\Z")
_UINT = re.compile(r"\+?[0-9]+\Z")


def _invalid(name: str, kind: str, raw: str) -> errors.ApiError:
    return errors.bad_request("invalid_query",
                              f"query parameter `{name}` must be {kind}, got {raw!r}")


def _int(q: Mapping[str, str], name: str, default: int) -> int:
    """An integer parameter as an `i128` (400 beyond); negative ones count as 0."""
    raw = q.get(name)
    if raw is None:
        return default
    if not _INT.match(raw) or not -(1 << 127) <= int(raw) < (1 << 127):
        raise _invalid(name, "an integer", raw)
    return max(int(raw), 0)


def paging(q: Mapping[str, str], default_limit: int, found: list[FieldError]) -> tuple[int, int]:
    """`page` (1..=10000, default 1) and `limit` (1..=100, default `default_limit`)."""
    page = _int(q, "page", 1)
    limit = _int(q, "limit", default_limit)
    if not 1 <= page <= MAX_PAGE:
        found.append(FieldError("page", "range", f"must be from 1 to {MAX_PAGE}"))
    if not 1 <= limit <= MAX_LIMIT:
        found.append(FieldError("limit", "range", f"must be from 1 to {MAX_LIMIT}"))
    return page, limit


def search(q: Mapping[str, str], found: list[FieldError]) -> str | None:
    """`search`: absent, or 1..=100 characters holding a letter or digit."""
    text = q.get("search")
    if text is not None and (len(text) > MAX_SEARCH or not has_words(text)):
        found.append(FieldError("search", "search",
                                f"must be 1 to {MAX_SEARCH} characters with a letter or digit"))
    return text


def _category(q: Mapping[str, str]) -> int | None:
    """`category_id` as a `u8`; larger numbers (up to 64 bits) are out of range (0)."""
    raw = q.get("category_id")
    if raw is None:
        return None
    if not _UINT.match(raw) or int(raw) >= 1 << 64:
        raise _invalid("category_id", "a non-negative integer", raw)
    value = int(raw)
    return value if value <= 255 else 0


def product_query(q: Mapping[str, str]) -> ProductQuery:
    """The checked parameters of `GET /api/products`."""
    found: list[FieldError] = []
    page, limit = paging(q, 20, found)
    category_id = _category(q)
    if category_id is not None and not 1 <= category_id <= len(seed.CATEGORIES):
        found.append(FieldError("category_id", "range",
                                f"must be from 1 to {len(seed.CATEGORIES)}"))
    text = search(q, found)
    sort_by = q.get("sort_by", "created_at")
    if sort_by not in SORT_KEYS:
        found.append(FieldError("sort_by", "one_of",
                                "must be one of name, price, created_at, popularity"))
    sort_order = q.get("sort_order", "asc")
    if sort_order not in ("asc", "desc"):
        found.append(FieldError("sort_order", "one_of", "must be asc or desc"))
    errors.check(found)
    return ProductQuery(page, limit, category_id, text, sort_by, sort_order == "desc")


def product_filters(q: ProductQuery) -> dict:
    """The `filters` a product listing echoes."""
    return {
        "category_id": q.category_id,
        "search": q.search,
        "sort_by": q.sort_by,
        "sort_order": "desc" if q.descending else "asc",
    }


def post_query(q: Mapping[str, str]) -> PostQuery:
    """The checked parameters of `GET /api/blog/posts`."""
    found: list[FieldError] = []
    page, limit = paging(q, 10, found)
    status = q.get("status", "published")
    if status not in STATUSES:
        found.append(FieldError("status", "one_of", f"must be one of {', '.join(STATUSES)}"))
    tag = q.get("tag")
    if tag is not None and not 1 <= len(tag.encode("utf-8", "surrogatepass")) <= 50:
        found.append(FieldError("tag", "length", "must be 1 to 50 characters"))
    text = search(q, found)
    errors.check(found)
    return PostQuery(page, limit, status, tag, text)


def post_filters(q: PostQuery) -> dict:
    """The `filters` a post listing echoes."""
    return {"status": q.status, "tag": q.tag, "search": q.search}


# chrono's `%Y-%m-%d`: whitespace may precede each number; a year of 1-4
# digits, or of any length with a sign; month and day of 1-2 digits.
_DATE = re.compile(r"[ws]*([+-][0-9]+|[0-9]{1,4})-[ws]*([0-9]{1,2})-[ws]*([0-9]{1,2})\Z"
                   .replace("ws", re.escape(RUST_WHITESPACE)))
_YEARS = range(-262_143, 262_143)  # chrono's NaiveDate


def _date(q: Mapping[str, str], name: str) -> int | None:
    """A `YYYY-MM-DD` parameter as a day number; 400 when it is no date."""
    raw = q.get(name)
    if raw is None:
        return None
    m = _DATE.match(raw)
    if m is not None:
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if year in _YEARS and 1 <= month <= 12 and 1 <= day <= days_in_month(year, month):
            return days_from_civil(year, month, day)
    raise _invalid(name, "a date (YYYY-MM-DD)", raw)


def dashboard_range(q: Mapping[str, str]) -> tuple[int | None, int | None]:
    """`date_from` and `date_to` (inclusive days, either open); a range
    ending before it starts is a 422 on `date_to`."""
    date_from = _date(q, "date_from")
    date_to = _date(q, "date_to")
    if date_from is not None and date_to is not None and date_from > date_to:
        raise errors.single("date_to", "range", "must not be before date_from")
    return date_from, date_to


def path_id(name: str, raw: str, bits: int) -> int:
    """A path parameter as an unsigned integer of `bits` bits (`+` allowed,
    as Rust parses it); 400 `invalid_path_param` otherwise."""
    if not _UINT.match(raw) or int(raw) >= 1 << bits:
        raise errors.bad_request(
            "invalid_path_param",
            f"path parameter `{name}` must be a non-negative integer, got {raw!r}",
            [FieldError(name, "invalid_type", "must be a non-negative integer")],
        )
    return int(raw)
