"""The `basic` category's data: a 10,000-user directory, profiles and stream
rows, each derived from an id with SplitMix64 exactly as the reference does,
so every framework answers the same request with the same content. Also the
query rules of `/users`, `/search/validate` and the streams.

`/users` pages and stream rows are written straight into their text, as the
reference writes them (`users_page_json`, `csv_row`, `json_stream_item`): no
record is built per row; tests prove the text byte-equal to the records
serialized."""

from __future__ import annotations

from typing import Iterator, Mapping

from . import errors, http
from .errors import FieldError
from .mix import pick, splitmix64

USER_COUNT = 10_000
STREAM_MAX_COUNT = 100_000
ROWS_PER_CHUNK = 100
SORT_KEYS = ("relevance", "created_at", "name", "price")

FIRST = ("Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy",
         "Mallory", "Niaj")
LAST = ("Johnson", "Smith", "Garcia", "Miller", "Davis", "Lopez", "Wilson", "Moore", "Clark",
        "Young")
TAGS = ("developer", "designer", "rust", "python", "ops", "data", "mobile", "security")
CITIES = ("Lisbon", "Osaka", "Denver", "Nairobi", "Tallinn", "Recife")
THEMES = ("light", "dark", "system")
LANGUAGES = ("en", "pt", "ja", "de")
ACTIVITIES = ("post", "comment", "like", "follow")
# `First Last` and `first.last` of every pair of name indexes, written once.
_NAMES = tuple(tuple(f"{f} {l}" for l in LAST) for f in FIRST)
_MAILBOXES = tuple(tuple(f"{f.lower()}.{l.lower()}" for l in LAST) for f in FIRST)


def user_record(user_id: int) -> dict:
    """The user with this id; the same id always gives the same user."""
    h = splitmix64(user_id)
    first, last = FIRST[h % len(FIRST)], LAST[(h >> 8) % len(LAST)]
    tags = [pick(TAGS, h >> 16)]
    if h & 1:
        tags.append(pick(TAGS, (h >> 24) + 1))
    return {
        "id": user_id,
        "name": f"{first} {last}",
        "email": f"{first.lower()}.{last.lower()}{user_id}@example.com",
        "age": 18 + (h >> 32) % 60,
        "is_active": user_id % 7 != 0,
        "tags": tags,
    }


def user_json(user_id: int) -> str:
    """The compact JSON of `user_record(user_id)`, written without building
    it (every name and tag is plain ASCII: nothing to escape)."""
    h = splitmix64(user_id)
    f, l = h % len(FIRST), (h >> 8) % len(LAST)
    tags = TAGS[(h >> 16) % len(TAGS)]
    if h & 1:
        tags = f'{tags}","{TAGS[((h >> 24) + 1) % len(TAGS)]}'
    active = "false" if user_id % 7 == 0 else "true"
    return (f'{{"id":{user_id},"name":"{_NAMES[f][l]}","email":"{_MAILBOXES[f][l]}{user_id}'
            f'@example.com","age":{18 + (h >> 32) % 60},"is_active":{active},"tags":["{tags}"]}}')


def known_user(user_id: int) -> int:
    """`user_id` when it names a user of the directory, else a 404."""
    if 1 <= user_id <= USER_COUNT:
        return user_id
    raise errors.not_found(f"user {user_id} not found (ids are 1 to {USER_COUNT})")


def users_page(limit: int, offset: int) -> dict:
    """Users `offset + 1 ..= offset + limit`, clipped to the directory."""
    last = min(offset + limit, USER_COUNT)
    users = [user_record(i) for i in range(offset + 1, last + 1)]
    return {"users": users, "total": USER_COUNT, "limit": limit, "offset": offset,
            "count": len(users)}


def users_page_json(limit: int, offset: int) -> str:
    """The compact JSON of `users_page(limit, offset)`, written straight into
    one text (as the reference's `users_page_json`): no record built."""
    first, last = offset + 1, min(offset + limit, USER_COUNT)
    users = ",".join([user_json(i) for i in range(first, last + 1)])
    count = max(last - offset, 0)
    return (f'{{"users":[{users}],"total":{USER_COUNT},"limit":{limit},"offset":{offset},'
            f'"count":{count}}}')


def _civil_from_days(z: int) -> tuple[int, int, int]:
    z += 719_468
    era = z // 146_097
    doe = z % 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (1 if m <= 2 else 0), m, d


def profile(user_id: int) -> dict:
    """The nested profile of the user with this id."""
    user = user_record(user_id)
    h = splitmix64(user_id ^ 0x5EED)
    y, m, d = _civil_from_days(16_000 + h % 3650)
    activity = []
    for i in range(5):
        a = splitmix64((h + i) & 0xFFFFFFFFFFFFFFFF)
        activity.append({"kind": pick(ACTIVITIES, a), "target_id": 1 + a % 100_000,
                         "at": 1_700_000_000 - i * 3_600 - a % 3_600})
    return {
        "user": user,
        "profile": {
            "bio": f"{user['name']} works on {user['tags'][0]} things.",
            "location": pick(CITIES, h >> 4),
            "website": f"https://example.com/~user{user_id}",
            "joined": f"{y:04}-{m:02}-{d:02}",
        },
        "settings": {
            "theme": pick(THEMES, h >> 12),
            "language": pick(LANGUAGES, h >> 20),
            "email_notifications": h & 2 == 2,
            "push_notifications": h & 4 == 4,
        },
        "stats": {"posts": (h >> 28) % 500, "followers": (h >> 36) % 10_000,
                  "following": (h >> 44) % 1_000},
        "recent_activity": activity,
    }


def _page_errors(limit: int, offset: int, max_offset: int, out: list[FieldError]) -> None:
    if not 1 <= limit <= 100:
        out.append(FieldError("limit", "range", "must be at least 1 and at most 100"))
    if offset > max_offset:
        out.append(FieldError("offset", "range", f"must be at least 0 and at most {max_offset}"))


def page_params(query: Mapping[str, str]) -> tuple[int, int]:
    """`limit` (1–100, default 10) and `offset` (0–10,000, default 0) of `/users`."""
    limit = http.query_uint(query, "limit", 10)
    offset = http.query_uint(query, "offset", 0)
    found: list[FieldError] = []
    _page_errors(limit, offset, USER_COUNT, found)
    errors.check(found)
    return limit, offset


def search_params(query: Mapping[str, str]) -> dict:
    """The checked parameters of `/search/validate`, defaults filled; every
    failing parameter is reported."""
    limit = http.query_uint(query, "limit", 10)
    offset = http.query_uint(query, "offset", 0)
    found: list[FieldError] = []
    text = query.get("query")
    if text is None:
        found.append(FieldError("query", "required", "is required"))
    elif not 1 <= len(text) <= 100:
        found.append(FieldError("query", "length", "length must be between 1 and 100"))
    _page_errors(limit, offset, 10_000, found)
    sort_by = query.get("sort_by", "created_at")
    if sort_by not in SORT_KEYS:
        found.append(FieldError("sort_by", "one_of", f"must be one of {', '.join(SORT_KEYS)}"))
    errors.check(found)
    return {"query": text, "limit": limit, "offset": offset, "sort_by": sort_by}


def stream_count(query: Mapping[str, str]) -> int:
    """The `count` of a stream: 1–100,000, default 100."""
    count = http.query_uint(query, "count", 100)
    if not 1 <= count <= STREAM_MAX_COUNT:
        raise errors.single("count", "range", f"must be at least 1 and at most {STREAM_MAX_COUNT}")
    return count


def json_stream_item(i: int) -> str:
    """Item `i` of the JSON stream: `{"id":i,"name":"item-i","value":…}`."""
    v = splitmix64(i) % 1_000_000
    return f'{{"id":{i},"name":"item-{i}","value":{v // 100}.{v % 100:02}}}'


def json_stream_chunks(count: int) -> Iterator[str]:
    """The JSON array of `count` items, 100 items a chunk."""
    for start in range(0, count, ROWS_PER_CHUNK):
        end = min(start + ROWS_PER_CHUNK, count)
        parts = [("[" if i == 0 else ",") + json_stream_item(i) for i in range(start, end)]
        if end == count:
            parts.append("]")
        yield "".join(parts)


CSV_HEADER = "id,name,email,age\n"


def csv_row(i: int) -> str:
    """Row `i` of the CSV stream (the user with id `i + 1`: id, name, e-mail,
    age), written without building the user."""
    user_id = i + 1
    h = splitmix64(user_id)
    f, l = h % len(FIRST), (h >> 8) % len(LAST)
    return (f"{user_id},{_NAMES[f][l]},{_MAILBOXES[f][l]}{user_id}@example.com,"
            f"{18 + (h >> 32) % 60}\n")


def csv_chunks(count: int) -> Iterator[str]:
    """A header and the users 1..=count as CSV, 100 rows a chunk."""
    for start in range(0, count, ROWS_PER_CHUNK):
        rows = [csv_row(i) for i in range(start, min(start + ROWS_PER_CHUNK, count))]
        if start == 0:
            rows.insert(0, CSV_HEADER)
        yield "".join(rows)
