"""`DATABASES["default"]` from the database serve.py was given
(`BENCH_DATABASE_URL`).

Each gunicorn thread keeps its own connection open across requests
(`CONN_MAX_AGE = None`, Django's persistent connections), on both engines:
8 per process where the other frameworks hold their share of twice the
cores. Django 5.1's pool (psycopg_pool) would hold the share, but after an
outage it lends connections again only once its reconnection back-off
allows (over 10 s here, answering 503 meanwhile), while a thread's own
connection is opened again by its next request.

- SQLite: the `sqlite3` backend with the reference's connection setup (WAL,
  `synchronous = NORMAL`, a 5 s busy timeout; Django turns foreign keys on),
  `transaction_mode = IMMEDIATE` so that `transaction.atomic()` writes take
  the write lock at their start, as the reference's do; reads run in
  autocommit.
- PostgreSQL: the `postgresql` backend on psycopg 3; `CONN_HEALTH_CHECKS`
  tests a kept connection when a request first uses it (a round trip), so
  that one the server closed is replaced instead of failing the request."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from bench_shared.db.location import from_environment
from bench_shared.db.orm import BUSY_TIMEOUT


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
        "CONN_MAX_AGE": None,
        "CONN_HEALTH_CHECKS": True,
    }
