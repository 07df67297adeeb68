"""The file_operations category in Catzilla: uploads, ranged downloads,
chunked streams, listing, info, delete, stats and processing, on the same
store, rules and gate as every peer; the form's text fields validated with
Catzilla's own models.

What Catzilla 0.2.3 allows shapes this module (see ../README.md, Catzilla):

- Uploads: it buffers a whole multipart body and hands over parsed parts
  (one per field name: a repeated name keeps its last part), so the parts
  are held to the form's rules as they are (`stage_parts`) and their
  contents, already in memory, are written by the commit job.
- Downloads: every peer streams a download's blocks from disk with a
  `Content-Length`; Catzilla cannot. Its `Response` body is text only
  (`Response.send` decodes a `bytes` body as strict UTF-8 and the C
  `send_response` takes a `str`, refusing `bytes` and, as a C string, any
  NUL), and its `StreamingResponse` is always written by the C core as
  `Transfer-Encoding: chunked` (status line `HTTP/1.1 <code> OK`, then the
  given headers: a `Content-Length` would go out beside the chunked
  framing, an invalid message). So a sized download of a span up to
  `SIZED_LIMIT` is read whole from disk in the same blocks and, when it is
  UTF-8 without NUL, decoded and sent as a sized text `Response` (the
  contract wants the 1 KiB and 1 MiB text fixtures sized); anything else
  (binary spans, larger spans, `/stream`) goes out as a chunked
  `StreamingResponse` of the blocks, read as Catzilla's loop consumes the
  iterator. Its C static-file mount sends sized files, but from a path the
  client names (no index lookup), with its own `ETag`, uncounted.
- Threads: upload, delete and processing handlers are `async` and put their
  disk and CPU work on threads; download and stream handlers are
  synchronous (after an `async` handler's streamed answer Catzilla stops
  reading the connection), so their reads happen on the loop thread, where
  Catzilla consumes the stream anyway.
- Exit: Catzilla aborts on some malformed requests and its server ends with
  `os._exit`, so the temporary storage directory has a reaper that removes
  it once the process is gone, however it ends."""

from __future__ import annotations

import asyncio
from typing import Iterator

from catzilla import BaseModel, Field, Response

from bench_shared.errors import FieldError
from bench_shared.files import views
from bench_shared.files.download import BlockReader, Plan, download_plan, stream_plan
from bench_shared.files.form import (
    MAX_DESCRIPTION,
    FormSpec,
    Received,
    UploadFields,
    check_request,
    parse_flag,
    stage_parts,
)
from bench_shared.files.process import Operation
from bench_shared.files.service import FileService

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
#: Largest span sent as one sized `Response` (read whole, in blocks).
SIZED_LIMIT = 4 * 1024 * 1024


class SingleUploadFields(BaseModel):
    """The text fields of `/upload/single` (the flag is checked by
    `parse_flag`: Catzilla's `bool` also takes `yes`)."""

    category: str = Field("general", regex=CATEGORY)
    description: str = Field("", max_length=MAX_DESCRIPTION)
    auto_process: str = "false"


class MultipleUploadFields(BaseModel):
    """The text fields of `/upload/multiple`."""

    category: str = Field("general", regex=CATEGORY)
    description: str = Field("", max_length=MAX_DESCRIPTION)
    batch_process: str = "false"


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


def _validated(model, spec: FormSpec, received: Received) -> tuple[list[FieldError], dict | None]:
    """The form's text fields validated by `model`, the flag by
    `parse_flag`: every failure, or the values."""
    failures: list[FieldError] = []
    values: dict | None = None
    try:
        values = dict(model.validate(dict(received.text)))
    except ValueError as e:  # Catzilla's ValidationError
        failures.extend(model_errors(model, str(e)))
    flag = parse_flag(received.text.get(spec.flag_field, "false"))
    if flag is None:
        failures.append(FieldError(spec.flag_field, "invalid_type", "must be true or false"))
    elif values is not None:
        values[spec.flag_field] = flag
    return failures, (None if failures else values)


def create_app(service: FileService | None = None):
    """The app over `service` (by default a new one in a temporary
    directory, removed when the process ends)."""
    service = service or FileService(reaper=True)
    app = new_app()
    store = service.store
    stats = store.stats

    def receive(request, spec: FormSpec, model) -> tuple[Received, UploadFields]:
        """The parts Catzilla parsed, held to the form's rules and validated
        (cheap: their contents stay in memory for the commit); a refusal
        leaves nothing and is counted."""
        try:
            check_request(request.get_header("Content-Type"),
                          request.get_header("Content-Length"),
                          service.limits.max_request_bytes)
            received = stage_parts(store, spec, _parts(request))
        except BaseException:
            service.rejected()
            raise
        return received, service.fields(received, lambda: _validated(model, spec, received))

    async def upload_single(request):
        received, fields = receive(request, service.single_form, SingleUploadFields)
        stored = await asyncio.to_thread(service.commit, received, fields.category,
                                         fields.description)
        file = stored[0]
        return json_response(service.single_uploaded(file, fields.process), 201,
                             {"Location": f"/files/{file.id}/info"})

    async def upload_multiple(request):
        received, fields = receive(request, service.multiple_form, MultipleUploadFields)
        stored = await asyncio.to_thread(service.commit, received, fields.category,
                                         fields.description)
        return json_response(service.multiple_uploaded(stored, fields.process), 201)

    def counted(blocks: list[bytes]) -> Iterator[bytes]:
        """Blocks already read (one download chunk each), counted as sent."""
        for block in blocks:
            stats.bump("bytes_out", len(block))
            yield block

    def as_text(blocks: list[bytes]) -> str | None:
        """The span as text Catzilla's `Response` sends byte for byte (UTF-8
        without NUL), if it is one."""
        data = blocks[0] if len(blocks) == 1 else b"".join(blocks)
        if b"\x00" in data:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def send(plan: Plan, counter: str, sized: bool):
        """The plan's bytes read from disk in blocks, as every peer reads
        them: a sized span of text (up to `SIZED_LIMIT`) as a sized
        `Response`, the rest as a chunked stream of the plan's chunks."""
        content_type = plan.headers["content-type"]
        extra = {k: v for k, v in plan.headers.items() if k != "content-type"}
        reader = BlockReader.open(store, plan)
        stats.bump(counter)
        if not (sized and plan.length <= SIZED_LIMIT):
            return stream_response(reader.pieces(lambda n: stats.bump("bytes_out", n)),
                                   content_type, plan.status, extra)
        try:
            blocks = [reader.first]
            while not reader.done:
                blocks.append(reader.next_block())
        finally:
            reader.close()
        text = as_text(blocks)
        if text is None:
            return stream_response(counted(blocks), content_type, plan.status, extra)
        stats.bump("bytes_out", plan.length)
        return Response(body=text, content_type=content_type, status_code=plan.status,
                        headers=headers(extra))

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
