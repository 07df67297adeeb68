"""The background_tasks category in Catzilla: Catzilla's own models check
the shape and ranges of submissions; `bench_shared.tasks` adds what they
cannot express (exact enums, strict JSON types, unknown fields, per-type
payloads) and holds the queue, whose work runs on its own threads, never on
Catzilla's loop. Handlers only take the queue's lock for a moment, so they
stay synchronous."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from catzilla import BaseModel, Field

from bench_shared import errors
from bench_shared.errors import ApiError
from bench_shared.tasks import TaskService
from bench_shared.tasks import request as rules
from bench_shared.tasks.model import PRIORITY_NAMES, TYPE_NAMES

from .common import json_response, new_app, parse_json, query, routes, validate

MAX_BODY_BYTES = 1 << 20

TYPES = rf"^({'|'.join(TYPE_NAMES)})$"
PRIORITIES = rf"^({'|'.join(PRIORITY_NAMES)})$"


class TaskIn(BaseModel):
    """`POST /tasks` (and each task of a batch)."""

    task_type: str = Field(regex=TYPES)
    priority: Optional[str] = Field(None, regex=PRIORITIES)
    payload: Optional[Dict[str, Any]] = None
    delay_seconds: Optional[int] = Field(None, ge=0, le=rules.MAX_DELAY_SECONDS)
    max_retries: Optional[int] = Field(None, ge=0, le=rules.MAX_RETRIES)
    timeout_seconds: Optional[int] = Field(None, ge=1, le=rules.MAX_TIMEOUT_SECONDS)


class BatchIn(BaseModel):
    """`POST /tasks/batch`."""

    tasks: List[TaskIn] = Field(min_items=1, max_items=rules.MAX_BATCH)
    execute_parallel: Optional[bool] = None
    max_concurrent: Optional[int] = Field(None, ge=1, le=rules.MAX_CONCURRENT)


def _checked(model: type[BaseModel], data: Any, batch: bool) -> Any:
    """`data` when Catzilla's model takes it; otherwise a 422 with its
    failures and those of the shared rules (Catzilla coerces loosely, drops
    unknown fields, does not look inside maps and stops at the first bad
    list item), so every failing field is reported at once. The shared
    rules run again on what passes when the task is submitted."""
    try:
        validate(model, data)
    except ApiError as e:
        if e.status != 422:
            raise
        raise errors.validation(rules.merged(e.details, rules.failures(data, batch))) from None
    return data


def create_app():
    """The app; the queue starts when the app starts listening (where it
    learns its own address, for network tasks' `/path` URLs)."""
    app = new_app()
    tasks = TaskService()
    serve = app.listen

    def listen(port: int = 8000, host: str = "0.0.0.0") -> None:
        tasks.start()
        tasks.learn_address((host, port))
        serve(port=port, host=host)

    app.listen = listen
    # On SIGTERM (common.run): close the queue, let running tasks finish
    # (10 s at most) and remove the work directory.
    app.on_stop = tasks.stop

    def health(_request):
        return json_response(tasks.health())

    def stats(_request):
        return json_response(tasks.stats())

    def submit(request):
        data, _ = parse_json(request, MAX_BODY_BYTES)
        return json_response(tasks.submit(_checked(TaskIn, data, False)), 201)

    def list_tasks(request):
        return json_response(tasks.list(query(request)))

    def submit_batch(request):
        data, _ = parse_json(request, MAX_BODY_BYTES)
        return json_response(tasks.submit_batch(_checked(BatchIn, data, True)), 201)

    def get_task(request):
        return json_response(tasks.get(request.path_params["id"]))

    def cancel_task(request):
        return json_response(tasks.cancel(request.path_params["id"]))

    def retry_task(request):
        return json_response(tasks.retry(request.path_params["id"]))

    routes(app, "/health", GET=health)
    routes(app, "/stats", GET=stats)
    routes(app, "/tasks", GET=list_tasks, POST=submit)
    routes(app, "/tasks/batch", POST=submit_batch)
    routes(app, "/tasks/{id}", GET=get_task, DELETE=cancel_task)
    routes(app, "/tasks/{id}/retry", POST=retry_task)
    return app
