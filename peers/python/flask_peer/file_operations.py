"""The file_operations category in Flask: multipart uploads read from
`request.stream` (never `request.files`, which buffers the form) and parsed
as they arrive by bench_shared's receive loop and `FormReader` (staged to
disk with sha256 on the way, committed with fsync + rename before the 201), ranged downloads and
chunked streams sent by generators reading the file in blocks, listing,
info, delete, stats, and processing through the gate. The form's text
fields are validated by marshmallow schemas."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask, Response, request
from marshmallow import RAISE, Schema, ValidationError, fields, validate
from gunicorn.http.errors import ParseException
from werkzeug.exceptions import ClientDisconnected

from bench_shared import http
from bench_shared.files import views
from bench_shared.files.download import BlockReader, Plan, download_plan, stream_plan
from bench_shared.files.form import MAX_DESCRIPTION, FormSpec, Received, UploadFields, parse_flag
from bench_shared.files.process import Operation
from bench_shared.files.service import FileService

from .common import fail, flatten, json_response, new_app, query, route

CATEGORY = r"^[a-z0-9_-]{1,32}\Z"
#: What reading a body raises when the client went away or broke its framing
#: (Werkzeug's short body, a socket error, gunicorn's bad chunked encoding).
BROKEN_BODY = (ClientDisconnected, OSError, ParseException)


class Flag(fields.Field):
    """`true`/`1` or `false`/`0`, surrounding spaces allowed."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bool:
        parsed = parse_flag(value)
        if parsed is None:
            raise fail("invalid_type", "must be true or false")
        return parsed


class _UploadFields(Schema):
    class Meta:
        unknown = RAISE

    category = fields.String(load_default="general", validate=validate.Regexp(CATEGORY))
    description = fields.String(load_default="", validate=validate.Length(max=MAX_DESCRIPTION))


class SingleUploadFields(_UploadFields):
    """The text fields of `/upload/single`."""

    auto_process = Flag(load_default=False)


class MultipleUploadFields(_UploadFields):
    """The text fields of `/upload/multiple`."""

    batch_process = Flag(load_default=False)


SINGLE = SingleUploadFields()
MULTIPLE = MultipleUploadFields()


def _receive(service: FileService, spec: FormSpec,
             schema: Schema) -> tuple[Received, UploadFields]:
    """The form read from `request.stream`, staged, and its text fields
    loaded by `schema` (any refusal leaves nothing behind and is counted)."""
    received = service.receive(
        spec, request.headers.get("Content-Type"), request.headers.get("Content-Length"),
        http.chunks_of(request.stream.read), disconnect=BROKEN_BODY)
    def validate() -> tuple[list, dict | None]:
        try:
            return [], schema.load(received.text)
        except ValidationError as e:
            return flatten(e.messages), None

    return received, service.fields(received, validate)


def create_app(service: FileService | None = None) -> Flask:
    """The app over `service` (by default a new one in a temporary
    directory, created in the serving process on first use and removed when
    it exits)."""
    app = new_app(__name__)
    lock = threading.Lock()
    holder: dict[str, Any] = {"service": service}

    def current() -> FileService:
        svc = holder["service"]
        if svc is None:
            with lock:
                svc = holder["service"]
                if svc is None:
                    svc = holder["service"] = FileService(reaper=True)
        return svc

    def send(plan: Plan, counter: str, sized: bool) -> Response:
        """A plan's bytes from a generator reading the file in blocks of
        whole chunks, one chunk per write (so `/stream` chunks have exactly
        the asked size), bytes counted as they go. `HEAD` gets the headers
        only and reads nothing."""
        svc = current()
        stats = svc.store.stats
        headers = dict(plan.headers)
        if sized:
            headers["content-length"] = str(plan.length)
        if request.method == "HEAD":
            stats.bump(counter)
            return Response(iter(()), status=plan.status, headers=headers)
        reader = BlockReader.open(svc.store, plan)
        stats.bump(counter)
        return Response(reader.pieces(lambda n: stats.bump("bytes_out", n)),
                        status=plan.status, headers=headers,
                        direct_passthrough=True)

    @route(app, "/health", ["GET"])
    def health() -> Response:
        return json_response(current().health())

    @route(app, "/stats", ["GET"])
    def stats() -> Response:
        return json_response(current().stats())

    @route(app, "/upload/single", ["POST"])
    def upload_single() -> Response:
        svc = current()
        received, form = _receive(svc, svc.single_form, SINGLE)
        file = svc.commit(received, form.category, form.description)[0]
        return json_response(svc.single_uploaded(file, form.process), 201,
                             {"Location": f"/files/{file.id}/info"})

    @route(app, "/upload/multiple", ["POST"])
    def upload_multiple() -> Response:
        svc = current()
        received, form = _receive(svc, svc.multiple_form, MULTIPLE)
        stored = svc.commit(received, form.category, form.description)
        return json_response(svc.multiple_uploaded(stored, form.process), 201)

    @route(app, "/download/<file_id>", ["GET"])
    def download(file_id: str) -> Response:
        meta = current().lookup(file_id)
        plan = download_plan(meta, request.headers.get("Range"), query())
        return send(plan, "downloads", sized=True)

    @route(app, "/stream/<file_id>", ["GET"])
    def stream(file_id: str) -> Response:
        meta = current().lookup(file_id)
        plan = stream_plan(meta, query())
        return send(plan, "streams", sized=False)

    @route(app, "/files", ["GET"])
    def list_files() -> Response:
        return json_response(current().listing(query()))

    @route(app, "/files/<file_id>/info", ["GET"])
    def info(file_id: str) -> Response:
        return json_response(current().info(file_id))

    @route(app, "/files/<file_id>", ["DELETE"])
    def delete(file_id: str) -> Response:
        return json_response(current().delete(file_id))

    @route(app, "/process/<file_id>", ["POST"])
    def process(file_id: str) -> Response:
        svc = current()
        meta = svc.lookup(file_id)
        q = query()
        op = Operation.parse(q.get("operation"), q.get("params"))
        result, micros = svc.processor.submit(meta.id, op).result()
        return json_response(views.processed(meta.id, op.name, result, micros))

    return app
