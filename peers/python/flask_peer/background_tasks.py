"""The background_tasks category in Flask: marshmallow schemas check the
shape and ranges of submissions; `bench_shared.tasks` holds the queue (on
threads of the gunicorn worker), the per-type payload rules and the work."""

from __future__ import annotations

import atexit

from typing import Any

from flask import Flask, Response
from marshmallow import RAISE, Schema, fields, validate

from bench_shared import errors, http
from bench_shared.errors import ApiError
from bench_shared.tasks import TaskService
from bench_shared.tasks import request as rules
from bench_shared.tasks.model import PRIORITY_NAMES, TYPE_NAMES

from .common import (
    StrictBoolean,
    StrictInteger,
    StrictString,
    json_response,
    load,
    new_app,
    query,
    read_json_bytes,
    route,
    worker_address,
)

MAX_BODY_BYTES = 1 << 20


class TaskIn(Schema):
    """`POST /tasks` (and each task of a batch)."""

    class Meta:
        unknown = RAISE

    task_type = StrictString(required=True, validate=validate.OneOf(TYPE_NAMES))
    priority = StrictString(allow_none=True, validate=validate.OneOf(PRIORITY_NAMES))
    payload = fields.Dict(keys=fields.String(), allow_none=True)
    delay_seconds = StrictInteger(allow_none=True,
                                  validate=validate.Range(0, rules.MAX_DELAY_SECONDS))
    max_retries = StrictInteger(allow_none=True, validate=validate.Range(0, rules.MAX_RETRIES))
    timeout_seconds = StrictInteger(allow_none=True,
                                    validate=validate.Range(1, rules.MAX_TIMEOUT_SECONDS))


class BatchIn(Schema):
    """`POST /tasks/batch`."""

    class Meta:
        unknown = RAISE

    tasks = fields.List(fields.Nested(TaskIn), required=True,
                        validate=validate.Length(1, rules.MAX_BATCH))
    execute_parallel = StrictBoolean(allow_none=True)
    max_concurrent = StrictInteger(allow_none=True,
                                   validate=validate.Range(1, rules.MAX_CONCURRENT))


TASK = TaskIn()
BATCH = BatchIn()


def _checked(schema: Schema, batch: bool) -> Any:
    """The body when the schema takes it; otherwise a 422 with the schema's
    failures and those of the shared rules (per-type payloads), every
    failing field at once. The shared rules run again on submission."""
    data = http.parse_json(read_json_bytes(MAX_BODY_BYTES))
    if not isinstance(data, dict):
        raise errors.single("", "invalid_type", "must be a JSON object")
    try:
        load(schema, data)
    except ApiError as e:
        if e.status != 422:
            raise
        raise errors.validation(rules.merged(e.details, rules.failures(data, batch))) from None
    return data


def create_app(service: TaskService | None = None) -> Flask:
    """The app; the queue starts with it (in the serving worker: see
    `wsgi_server.serve`) and drains when the worker exits."""
    tasks = service or TaskService()
    app = new_app(__name__)
    tasks.start()
    atexit.register(tasks.stop)

    @route(app, "/health", ["GET"])
    def health() -> Response:
        return json_response(tasks.health())

    @route(app, "/stats", ["GET"])
    def stats() -> Response:
        return json_response(tasks.stats())

    @route(app, "/tasks", ["POST"])
    def submit() -> Response:
        body = _checked(TASK, False)
        tasks.learn_address(worker_address())
        return json_response(tasks.submit(body), 201)

    @route(app, "/tasks", ["GET"])
    def list_tasks() -> Response:
        return json_response(tasks.list(query()))

    @route(app, "/tasks/batch", ["POST"])
    def submit_batch() -> Response:
        body = _checked(BATCH, True)
        tasks.learn_address(worker_address())
        return json_response(tasks.submit_batch(body), 201)

    @route(app, "/tasks/<task_id>", ["GET"])
    def get_task(task_id: str) -> Response:
        return json_response(tasks.get(task_id))

    @route(app, "/tasks/<task_id>", ["DELETE"])
    def cancel_task(task_id: str) -> Response:
        return json_response(tasks.cancel(task_id))

    @route(app, "/tasks/<task_id>/retry", ["POST"])
    def retry_task(task_id: str) -> Response:
        return json_response(tasks.retry(task_id))

    return app
