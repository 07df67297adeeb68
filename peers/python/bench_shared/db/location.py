"""Where a database server's rows live, from `--database` or
`BENCH_DATABASE_URL` (the forms `crates/database` takes): `sqlite://PATH`
(relative) or `sqlite:///PATH` (absolute), `postgres://USER@HOST:PORT/DB`;
none: a new SQLite file in a fresh temporary directory. And how many
connections each server process may hold."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass

#: The environment variable a server (and each of its worker processes) reads.
ENV = "BENCH_DATABASE_URL"
#: Set by serve.py for its worker processes: connections each may hold,
#: connections all of them hold, and the engine's name and version.
POOL_ENV = "BENCH_DATABASE_POOL"
TOTAL_ENV = "BENCH_DATABASE_POOL_TOTAL"
ENGINE_ENV = "BENCH_DATABASE_ENGINE"


@dataclass(frozen=True, slots=True)
class Location:
    """`engine` is `sqlite` (then `path`) or `postgres` (then `url`)."""

    engine: str
    path: str = ""
    url: str = ""

    @classmethod
    def parse(cls, url: str) -> "Location":
        if url.startswith("sqlite://"):
            path = url.removeprefix("sqlite://")
            if not path:
                raise ValueError("sqlite:// needs a file path (sqlite://PATH)")
            return cls("sqlite", path=path)
        if url.startswith(("postgres://", "postgresql://")):
            return cls("postgres", url=url)
        raise ValueError(f"unknown database URL {url!r}: expected sqlite://PATH or postgres://…")

    def as_url(self) -> str:
        return f"sqlite://{self.path}" if self.engine == "sqlite" else self.url

    def sqlalchemy_url(self, driver: str) -> str:
        """The SQLAlchemy URL with `driver` (`pysqlite`, `aiosqlite`, `psycopg`, `asyncpg`)."""
        if self.engine == "sqlite":
            return f"sqlite+{driver}:///{os.path.abspath(self.path)}"
        rest = self.url.split("://", 1)[1]
        return f"postgresql+{driver}://{rest}"

    def isolation(self) -> str:
        """The isolation writes run at, as `/health` says it."""
        # SQLite has one writer at a time; PostgreSQL's default, transfers lock their rows.
        return "serializable" if self.engine == "sqlite" else "read committed"


def from_environment() -> Location | None:
    url = os.environ.get(ENV)
    return Location.parse(url) if url else None


class Scratch:
    """A fresh temporary directory holding a new SQLite file, removed by `close()`."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="bench-database-")
        self.location = Location("sqlite", path=os.path.join(self.dir, "bench.db"))

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0))


def total_connections() -> int:
    """Connections a server holds in all, whatever its framework: twice the
    cores, the reference's default pool."""
    return 2 * cores()


def pool_share(total: int, processes: int) -> int:
    """Each of `processes` processes' share of `total` connections (at least one)."""
    return max(1, -(-total // processes))


def process_pool() -> int:
    """This process's connections: what serve.py gave it, else the whole total."""
    return int(os.environ.get(POOL_ENV) or total_connections())


def total_pool() -> int:
    """The connections the server's processes hold together (`/health`'s `pool_size`)."""
    return int(os.environ.get(TOTAL_ENV) or process_pool())


def engine_name() -> str:
    """`SQLite 3.x` or `PostgreSQL 15.x`, as serve.py found it."""
    import sqlite3

    return os.environ.get(ENGINE_ENV) or f"SQLite {sqlite3.sqlite_version}"
