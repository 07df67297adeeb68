"""Starts a Python peer: `serve.py FRAMEWORK CATEGORY [--host H] [--port N] [--room N]`,
or prints its version: `serve.py FRAMEWORK --version`.

Run it with the peers' environment (scripts/setup_peers.sh), e.g.
`target/peers-venv/bin/python peers/python/serve.py fastapi basic --port 8000`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

FRAMEWORKS = {"catzilla": "catzilla_peer", "fastapi": "fastapi_peer",
              "flask": "flask_peer", "django": "django_peer"}
CATEGORIES = ("basic", "validation", "file_operations", "background_tasks",
              "real_world_scenarios")
DEFAULT_PORTS = {"basic": 8000, "validation": 8100, "file_operations": 8200,
                 "background_tasks": 8300, "real_world_scenarios": 8400}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="serve.py", description=__doc__.splitlines()[0])
    parser.add_argument("framework", choices=sorted(FRAMEWORKS))
    parser.add_argument("category", nargs="?", choices=CATEGORIES)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int)
    parser.add_argument("--room", type=int, default=0,
                        help="records a store may hold (task queue, file quota), for scaling runs")
    parser.add_argument("--version", action="store_true", help="print the framework's version")
    args = parser.parse_args(argv)
    if args.room < 0:
        parser.error("--room must be at least 0")
    # Before any peer module builds its store.
    from bench_shared.room import set_room
    set_room(args.room)
    peer = importlib.import_module(FRAMEWORKS[args.framework])
    if args.version:
        print(peer.version())
        return 0
    if args.category is None:
        parser.error("a category is required")
    port = DEFAULT_PORTS[args.category] if args.port is None else args.port
    peer.serve(args.category, args.host, port)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
