"""The Catzilla peer: one app per category on Catzilla's own server (one
process, its libuv loop), validation with Catzilla's own `BaseModel`/`Field`.

Catzilla must not be imported before `serve()` blocks SIGTERM/SIGINT: its
threads would inherit a mask that lets libuv catch them, and a signal that
lands while a handler runs can abort the process (see common.py)."""

from __future__ import annotations

import importlib
from importlib import metadata

#: Why `serve.py --workers` cannot run more than one process.
ONE_PROCESS = "Catzilla 0.2.3 has no multi-process mode (frameworks.toml says why)"

APPS = {
    "basic": "basic",
    "validation": "validation",
    "file_operations": "file_operations",
    "background_tasks": "background_tasks",
    "real_world_scenarios": "real_world",
    "database": "database",
    "async_operations": "async_operations",
    "middleware": "middleware",
}


def version() -> str:
    return f"catzilla {metadata.version('catzilla')} (its own server, 1 process)"


def prepare_database(location) -> str:
    """Creates and seeds the database through SQLAlchemy (once, before the
    workers start); gives the engine's name and version."""
    from bench_shared.db.orm import prepare

    return prepare(location)


def serve(category: str, host: str, port: int, workers: int = 1) -> None:
    from . import common

    common.block_stop_signals()
    module = importlib.import_module(f"{__name__}.{APPS[category]}")
    common.run(module.create_app(), host, port)
