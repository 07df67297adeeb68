"""Starts a Python peer: `serve.py FRAMEWORK CATEGORY [--host H] [--port N] [--workers N] [--room N]
[--user-id-header off|loopback|any] [--database URL] [--pool-size N] [--upstream URL]
[--jwt-secret KEY] [--rate-limit N] [--request-timeout-ms N] [--access-log PATH]`,
or prints its version: `serve.py FRAMEWORK --version`.

`--workers N` runs N server processes (uvicorn workers, gunicorn workers)
in the categories that keep no state in process memory (`basic`,
`validation`, `database`, `async_operations`, `middleware`); the others keep one process, since
their stores and task queue would split across processes.

`middleware`: `--jwt-secret`, `--rate-limit`, `--request-timeout-ms` and
`--access-log` (or `BENCH_JWT_SECRET`, `BENCH_RATE_LIMIT`,
`BENCH_REQUEST_TIMEOUT_MS`, `BENCH_ACCESS_LOG`), as in
shared-endpoints/middleware.md; checked here and handed to every worker
through the environment. Without an access log, the file is made here, in a
temporary directory removed when the server stops, and every worker appends
to it.

`database`: `--database` (or `BENCH_DATABASE_URL`) names the database,
`sqlite://PATH` or `postgres://…` (default: a new SQLite file in a fresh
temporary directory, removed at exit). It is created and seeded here, by
the framework's own ORM, before any worker starts; `--pool-size` is the
connections all processes hold together (default: twice the cores, the
reference's), split evenly between them (each share rounded up).

Run it with the peers' environment (scripts/setup_peers.sh), e.g.
`target/peers-venv/bin/python peers/python/serve.py fastapi basic --port 8000`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

FRAMEWORKS = {"catzilla": "catzilla_peer", "fastapi": "fastapi_peer",
              "flask": "flask_peer", "django": "django_peer"}
CATEGORIES = ("basic", "validation", "file_operations", "background_tasks",
              "real_world_scenarios", "database", "async_operations", "middleware")
#: Categories whose state lives in no process's memory alone, so they may
#: run several processes (validation's counters are shared:
#: bench_shared.counters, as are middleware's; the database holds the
#: database category's).
MULTI_PROCESS = ("basic", "validation", "database", "async_operations", "middleware")
DEFAULT_PORTS = {"basic": 8000, "validation": 8100, "file_operations": 8200,
                 "background_tasks": 8300, "real_world_scenarios": 8400, "database": 8500,
                 "async_operations": 8600, "middleware": 8700}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="serve.py", description=__doc__.splitlines()[0])
    parser.add_argument("framework", choices=sorted(FRAMEWORKS))
    parser.add_argument("category", nargs="?", choices=CATEGORIES)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int)
    parser.add_argument("--user-id-header", default="loopback",
                        choices=("off", "loopback", "any"),
                        help="real_world_scenarios: whom X-User-ID is believed from")
    parser.add_argument("--workers", type=int, default=1,
                        help="server processes (the categories that keep no state in process memory)")
    parser.add_argument("--room", type=int, default=0,
                        help="records a store may hold (task queue, file quota), for scaling runs")
    parser.add_argument("--database", help="database: the database, sqlite://PATH or postgres://…")
    parser.add_argument("--pool-size", type=int,
                        help="database: connections of all processes together")
    parser.add_argument("--upstream",
                        help="async_operations: the HTTP server /async/upstream calls "
                             "(default: BENCH_UPSTREAM_URL, else http://127.0.0.1:8999/)")
    parser.add_argument("--jwt-secret", help="middleware: the HS256 key of bearer tokens "
                        "(default: BENCH_JWT_SECRET, else feature-bench-secret)")
    parser.add_argument("--rate-limit", help="middleware: tokens per second per subject "
                        "(default: BENCH_RATE_LIMIT, else 1000000)")
    parser.add_argument("--request-timeout-ms", help="middleware: the handlers' time limit "
                        "(default: BENCH_REQUEST_TIMEOUT_MS, else 1000)")
    parser.add_argument("--access-log", help="middleware: the JSON-lines access log "
                        "(default: BENCH_ACCESS_LOG, else a file in a temporary directory)")
    parser.add_argument("--version", action="store_true", help="print the framework's version")
    args = parser.parse_args(argv)
    if args.room < 0:
        parser.error("--room must be at least 0")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    # Before any peer module builds its store.
    from bench_shared.realworld.identity import UserIdHeader, set_default_policy
    from bench_shared.room import set_room
    set_room(args.room)
    set_default_policy(UserIdHeader.parse(args.user_id_header))
    peer = importlib.import_module(FRAMEWORKS[args.framework])
    if args.version:
        print(peer.version())
        return 0
    if args.category is None:
        parser.error("a category is required")
    if args.workers > 1:
        if args.category not in MULTI_PROCESS:
            parser.error(f"{args.category} keeps its state in process memory: one process only "
                         f"(--workers applies to {' and '.join(MULTI_PROCESS)})")
        if not getattr(peer, "MULTI_PROCESS", False):
            parser.error(f"{args.framework} runs one process only: {peer.ONE_PROCESS}")
        from bench_shared.counters import share_between_processes
        share_between_processes()
    if args.pool_size is not None and args.pool_size < 1:
        parser.error("--pool-size must be at least 1")
    port = DEFAULT_PORTS[args.category] if args.port is None else args.port
    if args.upstream is not None and args.category != "async_operations":
        parser.error("--upstream applies to the async_operations category only")
    given = {"--jwt-secret": args.jwt_secret, "--rate-limit": args.rate_limit,
             "--request-timeout-ms": args.request_timeout_ms, "--access-log": args.access_log}
    if args.category != "middleware" and any(v is not None for v in given.values()):
        parser.error(f"{', '.join(given)} apply to the middleware category only")
    if args.category == "middleware":
        from bench_shared import middleware

        try:
            # Checked here; every worker process reads them from the environment.
            middleware.configure(args.jwt_secret, args.rate_limit, args.request_timeout_ms,
                                 args.access_log)
        except ValueError as e:
            parser.error(str(e))
    if args.category == "async_operations":
        from bench_shared import asyncops

        try:
            # Checked here; every worker process reads it from the environment.
            os.environ[asyncops.UPSTREAM_ENV] = asyncops.upstream_url(args.upstream)
        except ValueError as e:
            parser.error(str(e))
    if args.category != "database":
        if args.database or args.pool_size:
            parser.error("--database and --pool-size apply to the database category only")
        peer.serve(args.category, args.host, port, args.workers)
        return 0
    from bench_shared.db import location as db

    try:
        where = db.Location.parse(args.database) if args.database else db.from_environment()
    except ValueError as e:
        parser.error(str(e))
    scratch = db.Scratch() if where is None else None
    try:
        where = where or scratch.location
        total = args.pool_size or db.total_connections()
        os.environ[db.ENV] = where.as_url()
        share = db.pool_share(total, args.workers)
        os.environ[db.POOL_ENV] = str(share)
        os.environ[db.TOTAL_ENV] = str(share * args.workers)
        os.environ[db.ENGINE_ENV] = peer.prepare_database(where)
        peer.serve(args.category, args.host, port, args.workers)
    finally:
        if scratch is not None:
            scratch.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
