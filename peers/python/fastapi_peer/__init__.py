"""The FastAPI peer: one app per category, pydantic v2 models for validation,
served by uvicorn (uvloop + httptools, access log off; `workers` processes,
each building its app with the category's factory)."""

from __future__ import annotations

#: uvicorn runs several worker processes (`serve.py --workers`).
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
    import fastapi
    import pydantic
    import uvicorn

    return f"fastapi {fastapi.__version__} (pydantic {pydantic.VERSION}, uvicorn {uvicorn.__version__})"


def prepare_database(location) -> str:
    """Creates and seeds the database through SQLAlchemy (once, before the
    workers start); gives the engine's name and version."""
    from bench_shared.db.orm import prepare

    return prepare(location)


def serve(category: str, host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    # An import string and a factory, as uvicorn needs to start workers:
    # each process builds its own app.
    uvicorn.run(
        f"{__name__}.{APPS[category]}:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        server_header=True,
        date_header=True,
    )
