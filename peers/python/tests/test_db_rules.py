"""The database endpoints' rules as `shared::db` states them: TechEmpower's
row counts, path ids, listing bounds, distinct ids for `/updates`, the
fortunes' order, and how connections are shared between processes."""

from __future__ import annotations

import pytest

from bench_shared.db import failures, rules
from bench_shared.db.location import Location, pool_share
from bench_shared.errors import ApiError


@pytest.mark.parametrize("raw,want", [
    ("2", 2), ("0", 1), ("foo", 1), ("501", 500), ("", 1), (None, 1), ("-3", 1), ("500", 500),
    ("1", 1), ("99999999999999999999999", 500), ("2.5", 1), (" 7", 1), ("+4", 4),
])
def test_row_counts_follow_the_published_rules(raw, want):
    assert rules.row_count(raw) == want


@pytest.mark.parametrize("raw,status", [
    ("0", 404), ("-3", 404), ("2147483648", 404), ("99999999999999999999999", 404),
    ("abc", 400), ("1 OR 1=1", 400), ("", 400), ("1.0", 400),
])
def test_path_ids_no_row_can_have_are_absent_and_others_are_bad(raw, status):
    with pytest.raises(ApiError) as e:
        rules.row_id(raw, "user")
    assert e.value.status == status


def test_a_path_id_is_read():
    assert rules.row_id("42", "user") == 42
    assert rules.row_id("2147483647", "user") == rules.I32_MAX


def test_listing_bounds():
    assert rules.users_page({}) == (20, 0)
    assert rules.users_page({"limit": "100", "offset": "1000000"}) == (100, 1_000_000)
    assert rules.posts_limit({}) == 10
    for query, fields in [({"limit": "0"}, ["limit"]), ({"limit": "101"}, ["limit"]),
                          ({"offset": "-1"}, ["offset"]),
                          ({"limit": "0", "offset": "-1"}, ["limit", "offset"])]:
        with pytest.raises(ApiError) as e:
            rules.users_page(query)
        assert (e.value.status, [d.field for d in e.value.details]) == (422, fields)
    with pytest.raises(ApiError) as e:
        rules.users_page({"limit": "ten"})
    assert (e.value.status, e.value.code) == (400, "invalid_query")


def test_updates_pick_distinct_rows():
    for count in (1, 20, 500):
        ids = rules.distinct_ids(count)
        assert len(set(ids)) == count and all(1 <= i <= 10_000 for i in ids)


def test_fortunes_gain_the_added_row_and_sort_by_message():
    rows = rules.fortune_rows([(2, "b"), (1, "c")])
    assert rows == [(0, "Additional fortune added at request time."), (2, "b"), (1, "c")]


def test_connections_are_shared_evenly_and_never_none():
    assert [pool_share(4, n) for n in (1, 2, 3, 8)] == [4, 2, 2, 1]


def test_database_urls():
    assert Location.parse("sqlite://rel.db").sqlalchemy_url("pysqlite").endswith("/rel.db")
    assert Location.parse("sqlite:///abs/x.db").path == "/abs/x.db"
    url = Location.parse("postgres://bench@127.0.0.1:5432/db").sqlalchemy_url("asyncpg")
    assert url == "postgresql+asyncpg://bench@127.0.0.1:5432/db"
    for bad in ("sqlite://", "mysql://x"):
        with pytest.raises(ValueError):
            Location.parse(bad)


class _Driver(Exception):
    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class _Wrapped(Exception):
    def __init__(self, orig: Exception) -> None:
        super().__init__(str(orig))
        self.orig = orig


def test_failures_are_409_for_a_taken_email_and_503_otherwise():
    sqlite_dup = _Wrapped(_Driver("UNIQUE constraint failed: users.email"))
    pg_dup = _Wrapped(_Driver('duplicate key value violates unique constraint "users_email_key"',
                              "23505"))
    for e in (sqlite_dup, pg_dup):
        assert (failures.translate(e).status, failures.translate(e).code) == (409,
                                                                              "already_exists")
    gone = failures.translate(_Wrapped(_Driver("connection refused\nmore", "08006")))
    assert (gone.status, gone.code, gone.message) == (
        503, "database_unavailable", "the database is unavailable: connection refused")
    assert failures.retryable(_Wrapped(_Driver("deadlock detected", "40P01")))
    assert not failures.retryable(_Wrapped(_Driver("syntax", "42601")))


def test_integers_of_thousands_of_digits_are_read_without_converting_them():
    huge = "9" * 5000
    assert rules.row_count(huge) == 500
    assert rules.row_count("0" * 60 + "7") == 7
    assert rules.row_id("0" * 60 + "5", "user") == 5  # as Rust's i128 parse reads it
    for bad in (huge, "-" + "9" * 40):
        with pytest.raises(ApiError) as e:
            rules.row_id(bad, "user")
        assert e.value.status == 400
    with pytest.raises(ApiError) as e:
        rules.users_page({"limit": huge})
    assert (e.value.status, e.value.code) == (400, "invalid_query")


def test_bodies_with_a_lone_surrogate_are_malformed():
    with pytest.raises(ApiError) as e:
        rules.parse_body(b'{"name": "\\ud800", "email": "a@b.co"}')
    assert (e.value.status, e.value.code) == (400, "malformed_json")
    assert rules.parse_body(b'{"name": "\\u00e9\\ud83d\\ude00"}') == {"name": "é😀"}


def test_an_email_is_measured_in_bytes():
    assert rules.email_problem("a" * 250 + "@b.co") is not None  # 255 bytes
    assert rules.email_problem("é" * 100 + "@b.co") is None  # 205 bytes
    assert rules.email_problem("é" * 125 + "@b.co") is not None  # 255 bytes, 130 characters
