"""The file_operations category in Django: multipart uploads read from the
request stream (never `request.FILES`) and parsed as they arrive by
bench_shared's receive loop and `FormReader` (staged to disk with sha256 on
the way, committed with fsync + rename before the 201), ranged downloads
(`StreamingHttpResponse` with Content-Length) and chunked streams read from disk block by block,
listing, info, delete, stats, and processing through the gate. The form's
text fields are validated by DRF serializers."""

from __future__ import annotations

import atexit

from django.http import HttpResponse, StreamingHttpResponse
from django.urls import path
from gunicorn.http.errors import ParseException
from rest_framework import serializers
from rest_framework.decorators import api_view

from bench_shared.files import views
from bench_shared.files.download import BlockReader, Plan, download_plan, stream_plan
from bench_shared.files.form import MAX_DESCRIPTION, FormSpec, Received, UploadFields, parse_flag
from bench_shared.files.process import Operation
from bench_shared.files.service import FileService

from . import common
from .common import StrictSerializer, StrictStr, json, query

CATEGORY = r"^[a-z0-9_-]{1,32}\Z"
#: What reading a body raises when the client went away or broke its framing
#: (a socket error or gunicorn's short body, gunicorn's bad chunked encoding).
BROKEN_BODY = (OSError, ParseException)


class Flag(serializers.BooleanField):
    """`true`/`1` or `false`/`0`, surrounding spaces allowed."""

    default_error_messages = {"invalid_type": "must be true or false"}

    def to_internal_value(self, data):
        parsed = parse_flag(data)
        if parsed is None:
            self.fail("invalid_type")
        return parsed


class UploadFieldsSerializer(StrictSerializer):
    category = serializers.RegexField(CATEGORY, default="general", trim_whitespace=False)
    description = StrictStr(max_length=MAX_DESCRIPTION, default="")


class SingleUploadSerializer(UploadFieldsSerializer):
    """The text fields of `/upload/single`."""

    auto_process = Flag(default=False)


class MultipleUploadSerializer(UploadFieldsSerializer):
    """The text fields of `/upload/multiple`."""

    batch_process = Flag(default=False)


service = FileService()
atexit.register(service.close)


def receive(request, spec: FormSpec, serializer_class) -> tuple[Received, UploadFields]:
    """The form read from the request stream, staged, and its text fields
    validated by `serializer_class` (any refusal leaves nothing behind and
    is counted)."""
    received = service.receive(
        spec, request.META.get("CONTENT_TYPE"), request.META.get("CONTENT_LENGTH"),
        common.body_chunks(request), disconnect=BROKEN_BODY)
    def validate() -> tuple[list, dict | None]:
        s = serializer_class(data=received.text)
        if s.is_valid():
            return [], s.validated_data
        return common.details(s.errors), None

    return received, service.fields(received, validate)


def _send(request, plan: Plan, counter: str, sized: bool):
    """Streams a plan's bytes, read from disk in blocks of whole chunks and
    sent one chunk at a time; bytes counted as they go. `HEAD` gets the
    headers only and reads nothing."""
    stats = service.store.stats
    if request.method == "HEAD":
        stats.bump(counter)
        response = HttpResponse(status=plan.status)
        for name, value in plan.headers.items():
            response[name] = value
        if sized:
            response["Content-Length"] = str(plan.length)
        return response
    reader = BlockReader.open(service.store, plan)
    stats.bump(counter)
    response = StreamingHttpResponse(
        reader.pieces(lambda n: stats.bump("bytes_out", n)), status=plan.status)
    for name, value in plan.headers.items():
        response[name] = value
    if sized:
        response["Content-Length"] = str(plan.length)
    return response


@api_view(["GET"])
def health(request):
    return json(service.health())


@api_view(["GET"])
def stats(request):
    return json(service.stats())


@api_view(["POST"])
def upload_single(request):
    received, form = receive(request, service.single_form, SingleUploadSerializer)
    file = service.commit(received, form.category, form.description)[0]
    return json(service.single_uploaded(file, form.process), status=201,
                headers={"Location": f"/files/{file.id}/info"})


@api_view(["POST"])
def upload_multiple(request):
    received, form = receive(request, service.multiple_form, MultipleUploadSerializer)
    stored = service.commit(received, form.category, form.description)
    return json(service.multiple_uploaded(stored, form.process), status=201)


@api_view(["GET", "HEAD"])
def download(request, file_id: str):
    meta = service.lookup(file_id)
    plan = download_plan(meta, request.headers.get("range"), query(request))
    return _send(request, plan, "downloads", sized=True)


@api_view(["GET", "HEAD"])
def stream(request, file_id: str):
    meta = service.lookup(file_id)
    plan = stream_plan(meta, query(request))
    return _send(request, plan, "streams", sized=False)


@api_view(["GET"])
def list_files(request):
    return json(service.listing(query(request)))


@api_view(["GET"])
def info(request, file_id: str):
    return json(service.info(file_id))


@api_view(["DELETE"])
def delete(request, file_id: str):
    return json(service.delete(file_id))


@api_view(["POST"])
def process(request, file_id: str):
    meta = service.lookup(file_id)
    q = query(request)
    op = Operation.parse(q.get("operation"), q.get("params"))
    result, micros = service.processor.submit(meta.id, op).result()
    return json(views.processed(meta.id, op.name, result, micros))


urlpatterns = [
    path("health", health),
    path("stats", stats),
    path("upload/single", upload_single),
    path("upload/multiple", upload_multiple),
    path("download/<str:file_id>", download),
    path("stream/<str:file_id>", stream),
    path("files", list_files),
    path("files/<str:file_id>/info", info),
    path("files/<str:file_id>", delete),
    path("process/<str:file_id>", process),
]

handler404 = common.handler404
handler500 = common.handler500
handler400 = common.handler400
