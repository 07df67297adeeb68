"""The background_tasks category in Django: DRF serializers check the shape
and ranges of submissions; `bench_shared.tasks` holds the queue (on threads),
the per-type payload rules and the work. The queue starts when the URLconf
is loaded (before the server takes requests) and drains at exit."""

from __future__ import annotations

import atexit

from django.urls import path
from rest_framework import serializers
from rest_framework.decorators import api_view

from bench_shared import errors
from bench_shared.tasks import TaskService
from bench_shared.tasks import request as rules
from bench_shared.tasks.model import PRIORITY_NAMES, TYPE_NAMES

from . import common
from .common import StrictBool, StrictDict, StrictInt, StrictList, StrictSerializer, json, query

MAX_BODY_BYTES = 1 << 20


class StrictChoice(serializers.ChoiceField):
    """One of the names, as a JSON string."""

    def to_internal_value(self, data):
        if type(data) is not str:
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class TaskSerializer(StrictSerializer):
    """`POST /tasks` (and each task of a batch)."""

    task_type = StrictChoice(choices=TYPE_NAMES)
    priority = StrictChoice(choices=PRIORITY_NAMES, required=False, allow_null=True)
    payload = StrictDict(required=False, allow_null=True)
    delay_seconds = StrictInt(min_value=0, max_value=rules.MAX_DELAY_SECONDS, required=False,
                              allow_null=True)
    max_retries = StrictInt(min_value=0, max_value=rules.MAX_RETRIES, required=False,
                            allow_null=True)
    timeout_seconds = StrictInt(min_value=1, max_value=rules.MAX_TIMEOUT_SECONDS,
                                required=False, allow_null=True)


class BatchSerializer(StrictSerializer):
    """`POST /tasks/batch`."""

    tasks = StrictList(child=TaskSerializer(), min_length=1, max_length=rules.MAX_BATCH)
    execute_parallel = StrictBool(required=False, allow_null=True)
    max_concurrent = StrictInt(min_value=1, max_value=rules.MAX_CONCURRENT, required=False,
                               allow_null=True)


tasks = TaskService()
tasks.start()
atexit.register(tasks.stop)


def _body(request, serializer_class, batch: bool):
    """The parsed body, checked by the serializer and then by the per-type
    rules it cannot know; every failing field reported at once."""
    data = common.json_value(request, MAX_BODY_BYTES)
    s = serializer_class(data=data)
    if not s.is_valid():
        found = common.details(s.errors)
        raise errors.validation(rules.merged(found, rules.failures(data, batch)))
    return data


def _learn(request) -> None:
    try:
        tasks.learn_address((request.get_host().rsplit(":", 1)[0] or "127.0.0.1",
                             int(request.get_port())))
    except (ValueError, TypeError):
        pass


@api_view(["GET"])
def health(request):
    return json(tasks.health())


@api_view(["GET"])
def stats(request):
    return json(tasks.stats())


@api_view(["GET", "POST"])
def task_collection(request):
    if request.method == "POST":
        body = _body(request, TaskSerializer, False)
        _learn(request)
        return json(tasks.submit(body), status=201)
    return json(tasks.list(query(request)))


@api_view(["POST"])
def submit_batch(request):
    body = _body(request, BatchSerializer, True)
    _learn(request)
    return json(tasks.submit_batch(body), status=201)


@api_view(["GET", "DELETE"])
def task_item(request, task_id: str):
    if request.method == "DELETE":
        return json(tasks.cancel(task_id))
    return json(tasks.get(task_id))


@api_view(["POST"])
def retry_task(request, task_id: str):
    return json(tasks.retry(task_id))


urlpatterns = [
    path("health", health),
    path("stats", stats),
    path("tasks", task_collection),
    path("tasks/batch", submit_batch),
    path("tasks/<str:task_id>", task_item),
    path("tasks/<str:task_id>/retry", retry_task),
]

handler404 = common.handler404
handler500 = common.handler500
handler400 = common.handler400
