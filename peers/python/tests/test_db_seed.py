"""The database category's rows: the generator restated in Python gives the
check values shared-endpoints/README.md states, and the database every
Python ORM seeds (SQLAlchemy's for FastAPI, Flask and Catzilla; Django's
migrations and models) holds exactly the rows and columns the reference's
`database seed` writes (`shared::db`), table by table."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from bench_shared.db import seed
from bench_shared.db.location import Location
from bench_shared.db.orm import prepare

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PEERS = os.path.join(ROOT, "peers", "python")
TABLES = ("world", "fortune", "users", "posts", "accounts", "transfers")


def test_the_generator_gives_the_published_values():
    rng = seed.SplitMix64(1_234_567)  # Vigna's reference values
    assert [rng.next(), rng.next()] == [6_457_827_717_110_365_317, 3_203_168_211_198_807_973]
    assert [n for _, n in list(seed.world())[:3]] == [7021, 3961, 1245]
    assert seed.total_balance() == 5_500_056_900
    assert next(seed.users()).name == "Ken Perlman"
    assert len(list(seed.posts())) == seed.POSTS


def test_rows_are_in_range_and_the_same_every_time():
    assert list(seed.world()) == list(seed.world())
    assert all(1 <= n <= 10_000 for _, n in seed.world())
    assert all(1 <= p.user_id <= seed.USERS for p in seed.posts())
    assert all(1_000_000 <= a.balance <= 10_000_000 for a in seed.accounts())


@pytest.fixture(scope="session")
def reference_seed(tmp_path_factory) -> dict:
    """The reference's own seeding (`database seed`), dumped."""
    subprocess.run(["cargo", "build", "--quiet", "--locked", "-p", "database"], cwd=ROOT,
                   check=True)
    path = tmp_path_factory.mktemp("reference") / "bench.db"
    binary = os.path.join(ROOT, "target", "debug", "database")
    subprocess.run([binary, "seed", "--database", f"sqlite://{path}"], check=True,
                   capture_output=True, timeout=120)
    return dump(str(path))


def dump(path: str) -> dict:
    """Every table's column names (sorted: an ORM may order them otherwise)
    and rows, in id order."""
    with sqlite3.connect(path) as conn:
        out = {}
        for table in TABLES:
            columns = sorted(row[1] for row in conn.execute(f"PRAGMA table_info({table})"))
            rows = conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id").fetchall()
            out[table] = (columns, rows)
        return out


def test_sqlalchemy_seeds_what_the_reference_seeds(tmp_path, reference_seed):
    path = tmp_path / "bench.db"
    assert prepare(Location("sqlite", path=str(path))).startswith("SQLite ")
    assert dump(str(path)) == reference_seed


def test_django_migrates_and_seeds_what_the_reference_seeds(tmp_path, reference_seed):
    path = tmp_path / "bench.db"
    # Django's settings are per process: a process of its own.
    code = ("import sys; from django_peer import prepare_database; "
            "print(prepare_database(None))")
    done = subprocess.run([sys.executable, "-c", code], cwd=PEERS, capture_output=True,
                          text=True, timeout=300,
                          env={**os.environ, "BENCH_DATABASE_URL": f"sqlite://{path}"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("SQLite ")
    assert dump(str(path)) == reference_seed


def test_a_seeded_database_is_used_as_it_is(tmp_path):
    path = tmp_path / "bench.db"
    location = Location("sqlite", path=str(path))
    prepare(location)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE world SET randomnumber = 1 WHERE id = 1")
    prepare(location)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT randomnumber FROM world WHERE id = 1").fetchone() == (1,)
