"""The file_operations category in Django: multipart uploads read from the
request stream (never `request.FILES`) and parsed as they arrive by
bench_shared's `FormReader` (staged to disk with sha256 on the way, committed
with fsync + rename before the 201), ranged downloads (`StreamingHttpResponse`
with Content-Length) and chunked streams read from disk block by block,
listing, info, delete, stats, and processing through the gate. The form's
text fields are validated by DRF serializers."""

from __future__ import annotations

import atexit

from django.http import HttpResponse, StreamingHttpResponse
from django.urls import path
from rest_framework import serializers
from rest_framework.decorators import api_view

from bench_shared import errors, http
from bench_shared.errors import ApiError
from bench_shared.files import views
from bench_shared.files.download import BlockReader, Plan, download_plan, stream_plan
from bench_shared.files.form import FormSpec, Received
from bench_shared.files.process import Operation
from bench_shared.files.service import MAX_DESCRIPTION, FileService

from . import common
from .common import StrictSerializer, StrictStr, json, query

CATEGORY = r"^[a-z0-9_-]{1,32}\Z"


class Flag(serializers.BooleanField):
    """`true`/`1` or `false`/`0`, surrounding spaces allowed."""

    default_error_messages = {"invalid_type": "must be true or false"}

    def to_internal_value(self, data):
        if isinstance(data, str):
            text = data.strip()
            if text in ("true", "1"):
                return True
            if text in ("false", "0"):
                return False
        self.fail("invalid_type")


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


def receive(request, spec: FormSpec) -> Received:
    """The whole form, staged: every file part streamed to its staging file
    as it arrives. On any failure the staged files go, the refusal is
    counted and the rest of the body is drained before the error."""
    chunks = common.body_chunks(request)
    reader = None
    try:
        reader = service.form_reader(spec, request.META.get("CONTENT_TYPE"),
                                     request.META.get("CONTENT_LENGTH"))
        for chunk in chunks:
            reader.feed(chunk)
            if reader.flush_due:
                reader.flush()
        return reader.close()
    except BaseException as e:
        if reader is not None:
            reader.discard()
        service.rejected()
        if isinstance(e, ApiError):
            http.drain(chunks, service.limits.max_request_bytes * http.DRAIN_FACTOR)
            raise
        if isinstance(e, OSError) and not isinstance(e, (FileNotFoundError, PermissionError)):
            raise errors.bad_request("body_read_error",
                                     "the client stopped sending the body") from None
        raise


def fields(received: Received, serializer_class) -> dict:
    """The form's text fields validated; 422 naming every failing field (a
    missing file part too)."""
    failures = []
    missing = received.missing_file()
    if missing is not None:
        failures.append(missing)
    s = serializer_class(data=received.text)
    if not s.is_valid():
        failures.extend(common.details(s.errors))
    if failures:
        received.discard()
        service.rejected()
        raise errors.validation(failures)
    return s.validated_data


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
    received = receive(request, service.single_form)
    form = fields(received, SingleUploadSerializer)
    file = service.commit(received, form["category"], form["description"])[0]
    return json(service.single_uploaded(file, form["auto_process"]), status=201,
                headers={"Location": f"/files/{file.id}/info"})


@api_view(["POST"])
def upload_multiple(request):
    received = receive(request, service.multiple_form)
    form = fields(received, MultipleUploadSerializer)
    stored = service.commit(received, form["category"], form["description"])
    return json(service.multiple_uploaded(stored, form["batch_process"]), status=201)


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
