"""The Flask peer: one app per category, marshmallow schemas for validation,
served by gunicorn through `wsgi_server` (`workers` processes of gthread
threads, access log off)."""

from __future__ import annotations

import importlib

#: gunicorn runs several worker processes (`serve.py --workers`).
MULTI_PROCESS = True

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
    from importlib.metadata import version as dist_version

    import wsgi_server

    return (f"flask {dist_version('flask')} (werkzeug {dist_version('werkzeug')}, "
            f"marshmallow {dist_version('marshmallow')}, {wsgi_server.describe()})")


def prepare_database(location) -> str:
    """Creates and seeds the database through SQLAlchemy (once, before the
    workers start); gives the engine's name and version."""
    from bench_shared.db.orm import prepare

    return prepare(location)


def serve(category: str, host: str, port: int, workers: int = 1) -> None:
    import wsgi_server

    module = importlib.import_module(f"{__name__}.{APPS[category]}")
    wsgi_server.serve(module.create_app, host, port, workers)
