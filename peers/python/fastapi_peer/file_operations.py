"""The file_operations category in FastAPI: multipart uploads read from
`request.stream()` and parsed as they arrive (bench_shared's receive loop:
python-multipart's streaming parser, staged to disk with sha256 on the way,
committed with fsync + rename in a worker thread), ranged downloads and
chunked streams read from disk on threads, listing, info, delete, stats,
and processing through the gate. The form's text fields are validated by
pydantic models."""

from __future__ import annotations

import asyncio
from typing import Annotated, AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from bench_shared.files import views
from bench_shared.files.download import BlockReader, Plan, download_plan, stream_plan
from bench_shared.files.form import MAX_DESCRIPTION, FormSpec, Received, UploadFields, parse_flag
from bench_shared.files.meta import FileMeta
from bench_shared.files.process import Operation
from bench_shared.files.service import FileService

from .common import from_pydantic, new_app, query

CATEGORY = r"^[a-z0-9_-]{1,32}$"


def _flag(value: object) -> object:
    """`true`/`1` or `false`/`0`, surrounding spaces allowed."""
    parsed = parse_flag(value)
    if parsed is None:
        raise PydanticCustomError("invalid_type", "must be true or false")
    return parsed


Flag = Annotated[bool, BeforeValidator(_flag)]


class _UploadFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str = Field("general", pattern=CATEGORY)
    description: str = Field("", max_length=MAX_DESCRIPTION)


class SingleUploadFields(_UploadFields):
    """The text fields of `/upload/single`."""

    auto_process: Flag = False


class MultipleUploadFields(_UploadFields):
    """The text fields of `/upload/multiple`."""

    batch_process: Flag = False


async def _receive(service: FileService, request: Request, spec: FormSpec,
                   model: type[BaseModel]) -> tuple[Received, UploadFields]:
    """The form, staged, and its text fields validated by `model` (any
    refusal leaves nothing behind and is counted)."""
    received = await service.receive_async(
        spec, request.headers.get("content-type"), request.headers.get("content-length"),
        request.stream(), disconnect=(ClientDisconnect,), run_blocking=run_in_threadpool)
    def validate() -> tuple[list, dict | None]:
        try:
            return [], dict(model.model_validate(received.text))
        except ValidationError as e:
            return from_pydantic(e).details, None

    return received, service.fields(received, validate)


async def _commit(service: FileService, received: Received,
                  fields: UploadFields) -> list[FileMeta]:
    """Writes, syncs and commits every file in one worker-thread job."""
    return await run_in_threadpool(service.commit, received, fields.category,
                                   fields.description)


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # an async generator with no items


async def _send(service: FileService, request: Request, plan: Plan, counter: str,
                sized: bool) -> Response:
    """Streams a plan's bytes, read from disk on threads in blocks of whole
    chunks; one chunk per body message (so `/stream` chunks have exactly
    the asked size); bytes counted as they go. `HEAD` gets the headers only
    and reads nothing."""
    headers = dict(plan.headers)
    if sized:
        headers["content-length"] = str(plan.length)
    stats = service.store.stats
    if request.method == "HEAD":
        stats.bump(counter)
        return StreamingResponse(_nothing(), status_code=plan.status, headers=headers)
    reader = await run_in_threadpool(BlockReader.open, service.store, plan)
    stats.bump(counter)

    async def content() -> AsyncIterator[bytes | memoryview]:
        try:
            block = reader.first
            while True:
                for piece in reader.chunks(block):
                    stats.bump("bytes_out", len(piece))
                    yield piece
                if reader.done:
                    break
                block = await run_in_threadpool(reader.next_block)
        finally:
            reader.close()

    return StreamingResponse(content(), status_code=plan.status, headers=headers)


def create_app(service: FileService | None = None) -> FastAPI:
    """The app over `service` (a new one in a temporary directory by
    default, removed when the app shuts down)."""
    service = service or FileService()
    app = new_app("file_operations", on_stop=service.close)

    @app.get("/health")
    async def health() -> JSONResponse:
        return JSONResponse(service.health())

    @app.get("/stats")
    async def stats() -> JSONResponse:
        return JSONResponse(service.stats())

    @app.post("/upload/single")
    async def upload_single(request: Request) -> JSONResponse:
        received, fields = await _receive(service, request, service.single_form,
                                          SingleUploadFields)
        file = (await _commit(service, received, fields))[0]
        return JSONResponse(service.single_uploaded(file, fields.process), status_code=201,
                            headers={"location": f"/files/{file.id}/info"})

    @app.post("/upload/multiple")
    async def upload_multiple(request: Request) -> JSONResponse:
        received, fields = await _receive(service, request, service.multiple_form,
                                          MultipleUploadFields)
        stored = await _commit(service, received, fields)
        return JSONResponse(service.multiple_uploaded(stored, fields.process), status_code=201)

    @app.api_route("/download/{file_id}", methods=["GET", "HEAD"])
    async def download(file_id: str, request: Request) -> Response:
        meta = service.lookup(file_id)
        plan = download_plan(meta, request.headers.get("range"), query(request))
        return await _send(service, request, plan, "downloads", sized=True)

    @app.api_route("/stream/{file_id}", methods=["GET", "HEAD"])
    async def stream(file_id: str, request: Request) -> Response:
        meta = service.lookup(file_id)
        plan = stream_plan(meta, query(request))
        return await _send(service, request, plan, "streams", sized=False)

    @app.get("/files")
    async def list_files(request: Request) -> JSONResponse:
        return JSONResponse(service.listing(query(request)))

    @app.get("/files/{file_id}/info")
    async def info(file_id: str) -> JSONResponse:
        return JSONResponse(service.info(file_id))

    @app.delete("/files/{file_id}")
    async def delete(file_id: str) -> JSONResponse:
        return JSONResponse(await run_in_threadpool(service.delete, file_id))

    @app.post("/process/{file_id}")
    async def process(file_id: str, request: Request) -> JSONResponse:
        meta = service.lookup(file_id)
        q = query(request)
        op = Operation.parse(q.get("operation"), q.get("params"))
        result, micros = await asyncio.wrap_future(service.processor.submit(meta.id, op))
        return JSONResponse(views.processed(meta.id, op.name, result, micros))

    return app
