"""The file_operations category in Catzilla: uploads, ranged downloads,
chunked streams, listing, info, delete, stats and processing, on the same
store, rules and gate as every peer; the form's text fields validated with
Catzilla's own models.

What Catzilla 0.2.3 allows shapes this module (see ../README.md, Catzilla):
it buffers a whole multipart body and hands over parsed parts (one per
field name: a repeated name keeps its last part), so uploads are staged
from those parts in a worker thread instead of while they arrive. Its
`Response` carries only UTF-8 text, so binary content goes out as a
chunked `StreamingResponse`, whose iterator Catzilla runs to the end on its
loop thread right after the handler; a small text span is sent as a sized
`Response` instead. Upload, delete and processing handlers are `async` and
put their disk and CPU work on threads; download and stream handlers are
synchronous (after an `async` handler's streamed answer Catzilla stops
reading the connection), so their reads happen on the loop thread, where
Catzilla consumes the stream anyway. Catzilla aborts on some malformed
requests and its server ends with `os._exit`, so the temporary storage
directory has a reaper that removes it once the process is gone, however
it ends."""

from __future__ import annotations

import asyncio
from typing import Iterator

from catzilla import BaseModel, Field, Response

from bench_shared import errors
from bench_shared.errors import FieldError
from bench_shared.files import views
from bench_shared.files.download import BlockReader, Plan, download_plan, stream_plan
from bench_shared.files.form import FormSpec, check_request, stage_parts
from bench_shared.files.process import Operation
from bench_shared.files.service import MAX_DESCRIPTION, FileService

from .common import (
    headers,
    json_response,
    model_errors,
    new_app,
    query,
    routes,
    stream_response,
)

CATEGORY = r"^[a-z0-9_-]{1,32}\Z"
#: Largest span sent as one sized text `Response` (read whole, in a thread).
SIZED_LIMIT = 4 * 1024 * 1024


class SingleUploadFields(BaseModel):
    """The text fields of `/upload/single` (the flag is checked below:
    Catzilla's `bool` also takes `yes`)."""

    category: str = Field("general", regex=CATEGORY)
    description: str = Field("", max_length=MAX_DESCRIPTION)
    auto_process: str = "false"


class MultipleUploadFields(BaseModel):
    """The text fields of `/upload/multiple`."""

    category: str = Field("general", regex=CATEGORY)
    description: str = Field("", max_length=MAX_DESCRIPTION)
    batch_process: str = "false"


def _flag(value: str, name: str, out: list[FieldError]) -> bool:
    text = value.strip()
    if text in ("true", "1"):
        return True
    if text not in ("false", "0"):
        out.append(FieldError(name, "invalid_type", "must be true or false"))
    return False


def _parts(request) -> list[tuple[str, str | None, str | None, bytes]]:
    """Catzilla's parsed parts as `(name, filename, content type, content)`."""
    out = []
    for name, part in (request.files or {}).items():
        content = part.get("content") or b""
        if isinstance(content, str):
            content = content.encode("utf-8")
        out.append((part.get("field_name") or name, part.get("filename"),
                    part.get("content_type"), content))
    return out


def _fields(model, spec: FormSpec, received) -> tuple[dict, bool, list[FieldError]]:
    """The form's text fields validated by `model`, the flag, and every
    failure (a missing file part first)."""
    failures: list[FieldError] = []
    missing = received.missing_file()
    if missing is not None:
        failures.append(missing)
    values: dict = {}
    try:
        values = model.validate(dict(received.text))
    except ValueError as e:  # Catzilla's ValidationError
        failures.extend(model_errors(model, str(e)))
    process = _flag(received.text.get(spec.flag_field, "false"), spec.flag_field, failures)
    return values, process, failures


def create_app(service: FileService | None = None):
    """The app over `service` (by default a new one in a temporary
    directory, removed when the process ends)."""
    service = service or FileService(reaper=True)
    app = new_app()
    store = service.store
    stats = store.stats

    async def receive(request, spec: FormSpec, model):
        """Stages and validates an upload; a refusal leaves nothing."""
        received = None
        try:
            check_request(request.get_header("Content-Type"),
                          request.get_header("Content-Length"),
                          service.limits.max_request_bytes)
            received = await asyncio.to_thread(stage_parts, store, spec, _parts(request))
            values, process, failures = _fields(model, spec, received)
            errors.check(failures)
            return received, values, process
        except BaseException:
            if received is not None:
                received.discard()
            service.rejected()
            raise

    async def upload_single(request):
        received, values, process = await receive(request, service.single_form,
                                                  SingleUploadFields)
        stored = await asyncio.to_thread(service.commit, received, values["category"],
                                         values["description"])
        file = stored[0]
        return json_response(service.single_uploaded(file, process), 201,
                             {"Location": f"/files/{file.id}/info"})

    async def upload_multiple(request):
        received, values, process = await receive(request, service.multiple_form,
                                                  MultipleUploadFields)
        stored = await asyncio.to_thread(service.commit, received, values["category"],
                                         values["description"])
        return json_response(service.multiple_uploaded(stored, process), 201)

    def read_span(plan: Plan) -> bytes:
        """A small span, whole (blocking)."""
        reader = BlockReader.open(store, plan)
        try:
            blocks = [reader.first]
            while not reader.done:
                blocks.append(reader.next_block())
            return b"".join(blocks)
        finally:
            reader.close()

    def chunks_of(data: bytes, size: int) -> Iterator[bytes]:
        view = memoryview(data)
        for at in range(0, len(view), size):
            piece = bytes(view[at:at + size])
            stats.bump("bytes_out", len(piece))
            yield piece

    def chunks_from(reader: BlockReader) -> Iterator[bytes]:
        """Every chunk of the reader; Catzilla runs this on its loop thread,
        so the blocks after the first are read there."""
        return reader.pieces(lambda n: stats.bump("bytes_out", n))

    def as_text(data: bytes) -> str | None:
        """`data` as text Catzilla can send byte for byte, if it is one."""
        if b"\x00" in data:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def send(plan: Plan, counter: str, sized: bool):
        """The plan's bytes: a small text span as a sized `Response`, the
        rest as a chunked stream in chunks of the plan's size."""
        content_type = plan.headers["content-type"]
        extra = {k: v for k, v in plan.headers.items() if k != "content-type"}
        if sized and plan.length <= SIZED_LIMIT:
            data = read_span(plan)
            stats.bump(counter)
            text = as_text(data)
            if text is not None:
                stats.bump("bytes_out", len(data))
                return Response(body=text, content_type=content_type, status_code=plan.status,
                                headers=headers(extra))
            return stream_response(chunks_of(data, plan.chunk), content_type, plan.status, extra)
        reader = BlockReader.open(store, plan)
        stats.bump(counter)
        return stream_response(chunks_from(reader), content_type, plan.status, extra)

    # Synchronous on purpose: after an `async` handler's streamed answer,
    # Catzilla 0.2.3 stops reading that keep-alive connection (the next
    # request on it hangs). It runs the stream's iterator on its loop
    # thread in any case, so the reads happen there.
    def download(request):
        meta = service.lookup(request.path_params["id"])
        plan = download_plan(meta, request.get_header("Range"), query(request))
        return send(plan, "downloads", sized=True)

    def stream(request):
        meta = service.lookup(request.path_params["id"])
        plan = stream_plan(meta, query(request))
        return send(plan, "streams", sized=False)

    def list_files(request):
        return json_response(service.listing(query(request)))

    def info(request):
        return json_response(service.info(request.path_params["id"]))

    async def delete(request):
        return json_response(await asyncio.to_thread(service.delete, request.path_params["id"]))

    async def process(request):
        meta = service.lookup(request.path_params["id"])
        q = query(request)
        op = Operation.parse(q.get("operation"), q.get("params"))
        result, micros = await asyncio.wrap_future(service.processor.submit(meta.id, op))
        return json_response(views.processed(meta.id, op.name, result, micros))

    routes(app, "/health", GET=lambda _request: json_response(service.health()))
    routes(app, "/stats", GET=lambda _request: json_response(service.stats()))
    routes(app, "/upload/single", POST=upload_single)
    routes(app, "/upload/multiple", POST=upload_multiple)
    routes(app, "/download/{id}", GET=download)
    routes(app, "/stream/{id}", GET=stream)
    routes(app, "/files", GET=list_files)
    routes(app, "/files/{id}/info", GET=info)
    routes(app, "/files/{id}", DELETE=delete)
    routes(app, "/process/{id}", POST=process)
    return app
