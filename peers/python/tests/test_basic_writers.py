"""The basic category's direct writers (`/users` pages, CSV and JSON stream
rows) give byte for byte what serializing the records gives, for random ids,
limits and offsets and at the directory's edges."""

from __future__ import annotations

import csv
import io
import json
import random
from decimal import Decimal

import pytest

from bench_shared import basic
from bench_shared.mix import splitmix64


def compact(value) -> str:
    """`value` as the frameworks and the reference write JSON."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


EDGE_IDS = [1, 2, 6, 7, 14, 9_999, 10_000, 10_001, 2**32, 2**63 - 1, 2**64 - 1]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_user_written_directly_equals_the_record_serialized(seed: int) -> None:
    rng = random.Random(seed)
    ids = EDGE_IDS + [rng.randrange(1, 2**64) for _ in range(300)]
    ids += [rng.randrange(1, basic.USER_COUNT + 1) for _ in range(300)]
    for user_id in ids:
        assert basic.user_json(user_id) == compact(basic.user_record(user_id)), user_id


def test_users_pages_written_directly_equal_the_pages_serialized() -> None:
    rng = random.Random(7)
    cases = [(1, 0), (10, 0), (100, 0), (100, 9_900), (100, 9_950), (10, 10_000), (1, 9_999),
             (20, 10)]
    cases += [(rng.randint(1, 100), rng.randint(0, basic.USER_COUNT)) for _ in range(200)]
    for limit, offset in cases:
        page = basic.users_page(limit, offset)
        text = basic.users_page_json(limit, offset)
        assert text == compact(page), (limit, offset)
        assert json.loads(text)["count"] == len(page["users"])


def test_a_page_past_the_directory_is_empty_but_well_formed() -> None:
    text = basic.users_page_json(10, basic.USER_COUNT)
    assert json.loads(text) == {"users": [], "total": basic.USER_COUNT, "limit": 10,
                                "offset": basic.USER_COUNT, "count": 0}


def expected_csv(count: int) -> str:
    """The CSV of users 1..=count written by the `csv` module from the records."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "name", "email", "age"])
    for user_id in range(1, count + 1):
        u = basic.user_record(user_id)
        writer.writerow([u["id"], u["name"], u["email"], u["age"]])
    return out.getvalue()


@pytest.mark.parametrize("count", [1, 99, 100, 101, 250, 1_000])
def test_csv_rows_written_directly_equal_the_records_as_csv(count: int) -> None:
    chunks = list(basic.csv_chunks(count))
    assert "".join(chunks) == expected_csv(count)
    assert len(chunks) == -(-count // basic.ROWS_PER_CHUNK)
    assert chunks[0].startswith(basic.CSV_HEADER)
    assert all(not c.startswith(basic.CSV_HEADER) for c in chunks[1:])
    rows_per_chunk = [c.count("\n") for c in chunks]
    assert rows_per_chunk[0] == min(count, basic.ROWS_PER_CHUNK) + 1


def test_random_csv_rows_equal_their_records() -> None:
    rng = random.Random(11)
    for i in [rng.randrange(0, 2**40) for _ in range(300)] + [0, 9_998, 9_999]:
        u = basic.user_record(i + 1)
        assert basic.csv_row(i) == f"{u['id']},{u['name']},{u['email']},{u['age']}\n"


@pytest.mark.parametrize("count", [1, 100, 101, 333])
def test_the_json_stream_is_one_array_of_the_items(count: int) -> None:
    text = "".join(basic.json_stream_chunks(count))
    items = json.loads(text, parse_float=Decimal)
    assert [item["id"] for item in items] == list(range(count))
    for item in items:
        i = item["id"]
        v = splitmix64(i) % 1_000_000
        assert item == {"id": i, "name": f"item-{i}", "value": Decimal(f"{v // 100}.{v % 100:02}")}
        assert basic.json_stream_item(i) == (
            f'{{"id":{i},"name":"item-{i}","value":{v // 100}.{v % 100:02}}}')
