"""The background_tasks category in FastAPI: pydantic models check the
shape and ranges of submissions; `bench_shared.tasks` holds the queue (on
threads, never on the event loop), the per-type payload rules and the
work. Handlers only take the queue's lock for a moment, so they stay async."""

from __future__ import annotations

import json
from typing import Annotated, Any, Callable, Coroutine, Literal, Optional, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bench_shared import errors
from bench_shared.errors import ApiError
from bench_shared.tasks import TaskService
from bench_shared.tasks import request as rules

from .common import from_pydantic, new_app, query, read_json_bytes

MAX_BODY_BYTES = 1 << 20

TaskTypeName = Literal["computation", "io_operation", "network_request", "data_processing",
                       "email_sending", "report_generation"]
PriorityName = Literal["low", "normal", "high", "urgent"]


class TaskIn(BaseModel):
    """`POST /tasks` (and each task of a batch)."""

    model_config = ConfigDict(strict=True, extra="forbid")

    task_type: TaskTypeName
    priority: Optional[PriorityName] = None
    payload: Optional[dict[str, Any]] = None
    delay_seconds: Optional[int] = Field(None, ge=0, le=rules.MAX_DELAY_SECONDS)
    max_retries: Optional[int] = Field(None, ge=0, le=rules.MAX_RETRIES)
    timeout_seconds: Optional[int] = Field(None, ge=1, le=rules.MAX_TIMEOUT_SECONDS)


class BatchIn(BaseModel):
    """`POST /tasks/batch`."""

    model_config = ConfigDict(strict=True, extra="forbid")

    tasks: list[TaskIn] = Field(min_length=1, max_length=rules.MAX_BATCH)
    execute_parallel: Optional[bool] = None
    max_concurrent: Optional[int] = Field(None, ge=1, le=rules.MAX_CONCURRENT)


M = TypeVar("M", bound=BaseModel)


def _refusal(e: ValidationError, raw: bytes, batch: bool) -> ApiError:
    """pydantic's failures plus those of the rules it cannot know (per-type
    payloads), so every failing field is reported at once."""
    refusal = from_pydantic(e)
    if refusal.status != 422:
        return refusal
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return refusal
    return errors.validation(rules.merged(refusal.details, rules.failures(body, batch)))


def task_body(model: type[M], batch: bool) -> Callable[[Request], Coroutine[Any, Any, M]]:
    """A dependency giving the body validated as `model`: 415 not JSON,
    413 too large, 400 unparseable, 422 with every failing field."""

    async def dependency(request: Request) -> M:
        raw = await read_json_bytes(request, MAX_BODY_BYTES)
        try:
            return model.model_validate_json(raw)
        except ValidationError as e:
            raise _refusal(e, raw, batch) from None

    return dependency


def create_app(service: TaskService | None = None) -> FastAPI:
    """The app; the queue starts with the app's lifespan and drains at its end."""
    tasks = service or TaskService()
    app = new_app("background_tasks", on_start=tasks.start, on_stop=tasks.stop)

    @app.get("/health")
    async def health() -> JSONResponse:
        return JSONResponse(tasks.health())

    @app.get("/stats")
    async def stats() -> JSONResponse:
        return JSONResponse(tasks.stats())

    @app.post("/tasks")
    async def submit(
        request: Request, body: Annotated[TaskIn, Depends(task_body(TaskIn, False))]
    ) -> JSONResponse:
        tasks.learn_address(request.scope.get("server"))
        return JSONResponse(tasks.submit(body), status_code=201)

    @app.get("/tasks")
    async def list_tasks(request: Request) -> JSONResponse:
        return JSONResponse(tasks.list(query(request)))

    @app.post("/tasks/batch")
    async def submit_batch(
        request: Request, body: Annotated[BatchIn, Depends(task_body(BatchIn, True))]
    ) -> JSONResponse:
        tasks.learn_address(request.scope.get("server"))
        return JSONResponse(tasks.submit_batch(body), status_code=201)

    @app.get("/tasks/{task_id}")
    async def get_task(task_id: str) -> JSONResponse:
        return JSONResponse(tasks.get(task_id))

    @app.delete("/tasks/{task_id}")
    async def cancel_task(task_id: str) -> JSONResponse:
        return JSONResponse(tasks.cancel(task_id))

    @app.post("/tasks/{task_id}/retry")
    async def retry_task(task_id: str) -> JSONResponse:
        return JSONResponse(tasks.retry(task_id))

    return app
