#!/usr/bin/env python3
"""Where a Python peer's time goes on one endpoint.

    scripts/profile_peer.py FRAMEWORK CATEGORY PATH [--database sqlite|postgres]
                            [--seconds N] [--workers N] [--connections N]

Starts the framework's CATEGORY server (peers/python/serve.py), sends PATH
with wrk at N connections while py-spy samples every process of the server
(the profiler in target/profile-venv, pinned in
scripts/profile-requirements.txt), stops it and prints the share of the
busy samples by what the innermost Python frame belongs to: the ORM, the
database driver, validation and serialization, templates, the framework,
the HTTP server and event loop, the peer's own code. Only the thread
holding the GIL is sampled (the Python work, not threads waiting for it);
a sample in a C extension counts for the Python frame that called it.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: (what, path fragments of a frame's file), first match wins.
LAYERS = [
    ("ORM: SQLAlchemy", ("/sqlalchemy/",)),
    ("ORM: Django", ("/django/db/",)),
    ("driver", ("/asyncpg/", "/psycopg/", "/psycopg_pool/", "/aiosqlite/", "/sqlite3/")),
    ("validation and serialization", ("/pydantic/", "/pydantic_core/", "/marshmallow/",
                                      "/rest_framework/serializers", "/rest_framework/fields",
                                      "/rest_framework/relations", "/rest_framework/utils",
                                      "/json/", "/catzilla/validation")),
    ("templates", ("/jinja2/", "/markupsafe/", "/django/template/")),
    ("framework", ("/fastapi/", "/starlette/", "/flask/", "/werkzeug/", "/django/",
                   "/rest_framework/", "/catzilla/")),
    ("HTTP server and event loop", ("/uvicorn/", "/gunicorn/", "/uvloop/", "/httptools/",
                                    "/asyncio/", "/selectors.py", "/socket.py",
                                    "/threading.py", "/concurrent/", "/anyio/", "/h11/")),
    ("the peer's own code", ("/bench_shared/", "_peer/", "/serve.py", "/wsgi_server.py")),
]
FRAME = re.compile(r"\(([^()]*):\d+\)$")


def layer(frame: str) -> str | None:
    """The layer of a frame `function (path/of/file.py:line)` (py-spy gives
    paths relative to their `sys.path` entry), None for a process line."""
    found = FRAME.search(frame)
    if found is None:
        return None
    path = "/" + found.group(1)
    for name, parts in LAYERS:
        if any(p in path for p in parts):
            return name
    return None


def shares(raw: str) -> tuple[collections.Counter, int]:
    """py-spy's raw (collapsed) stacks → samples per layer of the innermost known frame."""
    counts: collections.Counter = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        frames = stack.split(";")
        total += int(n)
        for frame in reversed(frames):
            found = layer(frame)
            if found:
                counts[found] += int(n)
                break
        else:
            counts["other (the standard library)"] += int(n)
    return counts, total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("framework")
    p.add_argument("category")
    p.add_argument("path")
    p.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--connections", type=int, default=64)
    args = p.parse_args()
    venv = subprocess.run([os.path.join(ROOT, "scripts/setup_venv.sh"),
                           "scripts/profile-requirements.txt", "target/profile-venv"],
                          cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()
    py_spy = os.path.join(os.path.dirname(venv), "py-spy")
    python = subprocess.run([os.path.join(ROOT, "scripts/setup_peers.sh")], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.strip()
    env = dict(os.environ)
    if args.database == "postgres":
        env["BENCH_DATABASE_URL"] = subprocess.run(
            [os.path.join(ROOT, "scripts/setup_postgres.sh"), "--database",
             f"profile_{args.framework}"], cwd=ROOT, check=True, capture_output=True,
            text=True).stdout.strip()
    port = free_port()
    command = [python, "peers/python/serve.py", args.framework, args.category, "--port", str(port)]
    if args.workers > 1 and args.framework != "catzilla":
        command += ["--workers", str(args.workers)]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(url + "/health", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start")
                time.sleep(0.3)
        load = subprocess.Popen(["wrk", "-t1", f"-c{args.connections}",
                                 f"-d{args.seconds + 3}s", url + args.path],
                                stdout=subprocess.PIPE, text=True)
        time.sleep(1)
        with tempfile.NamedTemporaryFile("r", suffix=".txt") as out:
            subprocess.run([py_spy, "record", "--pid", str(server.pid), "--subprocesses",
                            "--rate", "250", "--gil", "--format", "raw", "--nonblocking",
                            "--duration", str(args.seconds), "--output", out.name],
                           check=True, capture_output=True)
            raw = out.read()
        report = load.communicate()[0]
    finally:
        server.terminate()
        server.wait(30)
    counts, total = shares(raw)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", report)
    print(f"{args.framework} {args.category} GET {args.path} on {args.database}: "
          f"{rps.group(1) if rps else '?'} req/s under py-spy, {total} busy samples")
    for name, n in counts.most_common():
        print(f"  {100 * n / max(total, 1):5.1f} %  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
