"""The FastAPI peer: one app per category, pydantic v2 models for validation,
served by uvicorn (1 worker, uvloop + httptools, access log off)."""

from __future__ import annotations

import importlib

APPS = {
    "basic": "basic",
    "validation": "validation",
    "file_operations": "file_operations",
    "background_tasks": "background_tasks",
    "real_world_scenarios": "real_world",
}


def version() -> str:
    import fastapi
    import pydantic
    import uvicorn

    return f"fastapi {fastapi.__version__} (pydantic {pydantic.VERSION}, uvicorn {uvicorn.__version__})"


def serve(category: str, host: str, port: int) -> None:
    import uvicorn

    module = importlib.import_module(f"{__name__}.{APPS[category]}")
    uvicorn.run(
        module.create_app(),
        host=host,
        port=port,
        workers=1,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        server_header=True,
        date_header=True,
    )
