"""One upload request received, whatever the framework (the reference's
`form::read` with its callers' drain): the body's chunks fed to a
`FormReader` as they arrive, file bytes past the request's room in memory
written as they come (on a thread when an event loop reads), and on
failure the staged files dropped and the refusal counted; a refused body
is drained first (so the client reads the answer instead of a reset
connection), and a body the framework could not read (the client went
away) is a 400 `body_read_error`.

`receive` reads a blocking iterator of chunks, `receive_async` an async
one; the framework says which exceptions of its body reading mean a broken
body. Exceptions of our own (writes, limits) are never taken for one."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, AsyncIterator, Awaitable, Callable, Iterable

from .. import errors, http
from ..errors import ApiError
from .form import FormSpec, Received

if TYPE_CHECKING:
    from .service import FileService

#: Runs a blocking call off the event loop (`asyncio.to_thread`,
#: Starlette's `run_in_threadpool`).
RunBlocking = Callable[..., Awaitable]


def broken_body(cause: BaseException) -> ApiError:
    """400 `body_read_error`: the request body could not be read."""
    return errors.bad_request("body_read_error", f"could not read the request body: {cause}")


def _drain_budget(service: "FileService") -> int:
    return service.limits.max_request_bytes * http.DRAIN_FACTOR


def receive(service: "FileService", spec: FormSpec, content_type: str | None,
            content_length: str | None, chunks: Iterable[bytes],
            disconnect: tuple[type[BaseException], ...]) -> Received:
    """The whole form of a blocking request, staged (see the module)."""
    body = iter(chunks)
    reader = None
    try:
        reader = service.form_reader(spec, content_type, content_length)
        while True:
            try:
                chunk = next(body)
            except StopIteration:
                break
            except disconnect as e:
                raise broken_body(e) from None
            reader.feed(chunk)
            if reader.flush_due:
                reader.flush()
        return reader.close()
    except BaseException as e:
        if reader is not None:
            reader.discard()
        service.rejected()
        if isinstance(e, ApiError) and e.code != "body_read_error":
            http.drain(body, _drain_budget(service))
        raise


async def receive_async(service: "FileService", spec: FormSpec, content_type: str | None,
                        content_length: str | None, chunks: AsyncIterator[bytes],
                        disconnect: tuple[type[BaseException], ...],
                        run_blocking: RunBlocking = asyncio.to_thread) -> Received:
    """The whole form of a request read by an event loop, staged (see the
    module); file writes run through `run_blocking`."""
    body = aiter(chunks)
    reader = None
    try:
        reader = service.form_reader(spec, content_type, content_length)
        while True:
            try:
                chunk = await anext(body)
            except StopAsyncIteration:
                break
            except disconnect as e:
                raise broken_body(e) from None
            reader.feed(chunk)
            if reader.flush_due:
                await _finished(run_blocking(reader.flush))
        return reader.close()
    except BaseException as e:
        if reader is not None:
            reader.discard()
        service.rejected()
        if isinstance(e, ApiError) and e.code != "body_read_error":
            await http.drain_async(body, _drain_budget(service))
        raise


async def _finished(job: Awaitable) -> None:
    """Awaits a blocking job; if the wait is cancelled, the job (still
    running in its thread) is let finish before the cancellation goes on, so
    the files it writes are not discarded under it."""
    task = asyncio.ensure_future(job)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(BaseException):
            await asyncio.wait({task})
        raise
