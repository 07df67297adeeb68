"""`DATABASES["default"]` from the database serve.py was given
(`BENCH_DATABASE_URL`) and this process's share of the connections.

- SQLite: the `sqlite3` backend with the reference's connection setup (WAL,
  `synchronous = NORMAL`, a 5 s busy timeout; Django turns foreign keys on),
  `transaction_mode = IMMEDIATE` so that `transaction.atomic()` writes take
  the write lock at their start, as the reference's do; reads run in
  autocommit. Django has no pool for SQLite: each gunicorn thread keeps its
  own connection open (`CONN_MAX_AGE = None`).
- PostgreSQL: the `postgresql` backend on psycopg 3 with Django's
  connection pool (psycopg_pool) of this process's share, so that every
  framework holds the same number of connections in all (Django refuses a
  pool with persistent connections: `CONN_MAX_AGE = 0` gives the
  connection back to the pool at the end of each request)."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from bench_shared.db.location import from_environment, process_pool
from bench_shared.db.orm import BUSY_TIMEOUT, POOL_TIMEOUT


def database_settings() -> dict:
    location = from_environment()
    if location is None:
        raise RuntimeError("the database category needs BENCH_DATABASE_URL (serve.py sets it)")
    if location.engine == "sqlite":
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": location.path,
            "CONN_MAX_AGE": None,
            "OPTIONS": {
                "timeout": BUSY_TIMEOUT,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
            },
        }
    url = urlsplit(location.url)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": url.path.lstrip("/"),
        "USER": unquote(url.username or ""),
        "PASSWORD": unquote(url.password or ""),
        "HOST": url.hostname or "",
        "PORT": str(url.port or ""),
        "CONN_MAX_AGE": 0,
        "OPTIONS": {"pool": {"min_size": 1, "max_size": process_pool(),
                             "timeout": POOL_TIMEOUT}},
    }
