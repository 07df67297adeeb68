"""Upload forms: the reference's bounds and statuses (text fields of 4096
bytes, `max_files + 3` parts, header blocks and preambles of 8 KiB), the
memory a request holds (at most 64 KiB of file bytes before they go to
their staging files), the one receive loop every framework uses (sync and
async: refusals drained and counted, broken bodies a 400, our own faults
never taken for the client's), the `fields` step and the flag rule."""

from __future__ import annotations

import asyncio
import hashlib
import os

import pytest

from bench_shared.errors import ApiError, FieldError
from bench_shared.files import IO_BUFFER, upload
from bench_shared.files.form import (
    MAX_TEXT_FIELD,
    FormSpec,
    parse_flag,
    stage_parts,
)
from bench_shared.files.framing import MAX_HEADER_BLOCK, MAX_PREAMBLE, Framing
from bench_shared.files.service import FileService, Limits
from test_files_helpers import is_empty, open_store

BOUNDARY = "b0undary"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def part(name: str, content: bytes, filename: str | None = None,
         extra_headers: str = "") -> bytes:
    disposition = f'form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n{extra_headers}\r\n"
    return head.encode() + content + b"\r\n"


def form(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def chunks(body: bytes, size: int = 1000):
    for at in range(0, len(body), size):
        yield body[at:at + size]


@pytest.fixture
def service(tmp_path):
    open_store(tmp_path)  # the seeded fixtures linked in, for the service's store to find
    svc = FileService(Limits(fsync=False, max_file_bytes=1 << 20,
                             max_request_bytes=4 << 20, max_files_per_request=3),
                      storage_dir=str(tmp_path))
    yield svc
    svc.close()


def receive(service: FileService, body: bytes, spec: FormSpec | None = None, size=1000,
            content_type=CONTENT_TYPE, disconnect=(OSError,)):
    return service.receive(spec or service.single_form, content_type, str(len(body)),
                           chunks(body, size), disconnect)


def refused(service, body, **kw) -> ApiError:
    with pytest.raises(ApiError) as e:
        receive(service, body, **kw)
    return e.value


# -- framing ------------------------------------------------------------------


def framed(block: int) -> bytes:
    """A body whose second part's header block is `block` bytes long."""
    head = b'\r\nContent-Disposition: form-data; name="a"\r\nX-Pad: '
    pad = block - len(head) - 4
    out = b"preamble\r\n--B\r\nX: y\r\n\r\nfirst\r\n--B" + head + b"p" * pad
    return out + b"\r\n\r\ncontent\r\n--B--\r\n" + b"e" * (3 * MAX_HEADER_BLOCK)


def scan(body: bytes, size: int) -> ApiError | None:
    framing = Framing(b"B")
    try:
        for at in range(0, len(body), size):
            framing.scan(body[at:at + size])
    except ApiError as e:
        return e
    return None


@pytest.mark.parametrize("size", [1, 2, 3, 7, 4096, 1 << 30])
def test_header_blocks_are_bounded_however_the_body_is_cut(size):
    assert scan(framed(MAX_HEADER_BLOCK), size) is None
    e = scan(framed(MAX_HEADER_BLOCK + 1), size)
    assert (e.status, e.code) == (413, "payload_too_large")


def test_the_preamble_is_bounded():
    long = b"x" * (MAX_PREAMBLE + 1) + b"--B\r\n"
    e = scan(long, 100)
    assert (e.status, e.code) == (400, "malformed_multipart")
    assert scan(long[4:], 100) is None


# -- bounds -------------------------------------------------------------------


def test_a_text_field_holds_4096_bytes(service):
    assert MAX_TEXT_FIELD == 4096
    ok = receive(service, form(part("file", b"x", "a.txt"),
                               part("description", b"d" * MAX_TEXT_FIELD)))
    assert ok.text["description"] == "d" * MAX_TEXT_FIELD
    ok.discard()
    e = refused(service, form(part("file", b"x", "a.txt"),
                              part("description", b"d" * (MAX_TEXT_FIELD + 1))))
    assert (e.status, e.code) == (413, "payload_too_large")
    assert "description" in e.message


def test_parts_past_the_files_and_three_text_fields_are_413(service):
    text = [part("category", b"c"), part("description", b"d"), part("auto_process", b"1")]
    ok = receive(service, form(part("file", b"x", "a.txt"), *text))
    ok.discard()
    # A fifth part, even a known field repeated: 413 before its name is looked at.
    for extra in (part("category", b"again"), part("owner", b"root")):
        e = refused(service, form(part("file", b"x", "a.txt"), *text, extra))
        assert (e.status, e.code, e.message) == (413, "payload_too_large",
                                                 "more than 4 parts in the form")
    # Within the count an unknown field is a 422 naming it.
    e = refused(service, form(part("file", b"x", "a.txt"), part("owner", b"root")))
    assert (e.status, [d.field for d in e.details]) == (422, ["owner"])
    # Files past `max_files` are 422s of their own.
    e = refused(service, form(part("file", b"x", "a.txt"), part("file", b"y", "b.txt")))
    assert (e.status, e.details[0].code) == (422, "too_many_files")
    assert service.store.snapshot()["rejected_uploads"] == 4
    assert is_empty(service.dir, "tmp")


def test_a_part_header_block_past_8_kib_is_413(service):
    big = "X-Pad: " + "p" * (MAX_HEADER_BLOCK) + "\r\n"
    e = refused(service, form(part("file", b"x", "a.txt", extra_headers=big)))
    assert (e.status, e.code) == (413, "payload_too_large")
    many = "".join(f"X-{n}: v\r\n" for n in range(200))  # small lines, 2 KiB in all
    ok = receive(service, form(part("file", b"x", "a.txt", extra_headers=many)))
    assert len(ok.files) == 1
    ok.discard()


def test_a_file_past_its_limit_is_413(service):
    e = refused(service, form(part("file", b"z" * ((1 << 20) + 1), "big.bin")), size=65536)
    assert (e.status, e.code) == (413, "payload_too_large")
    assert is_empty(service.dir, "tmp")
    assert service.store._staged == 0


# -- memory held per request --------------------------------------------------


def reader_for(service, body: bytes, spec: FormSpec | None = None):
    return service.form_reader(spec or service.multiple_form, CONTENT_TYPE, str(len(body)))


def held(reader) -> int:
    parts = reader._files + ([reader._file] if reader._file is not None else [])
    return sum(len(p.head) for p in parts)


def test_small_files_stay_in_memory_until_the_commit(service):
    body = form(*(part("files", bytes([n]) * 20_000, f"{n}.bin") for n in range(3)))
    reader = reader_for(service, body)
    for chunk in chunks(body, 4096):
        reader.feed(chunk)
        assert not reader.flush_due
        assert held(reader) <= IO_BUFFER
    received = reader.close()
    assert is_empty(service.dir, "tmp"), "nothing written before the commit"
    stored = service.commit(received, "general", "")
    assert [m.sha256 for m in stored] == [hashlib.sha256(bytes([n]) * 20_000).hexdigest()
                                         for n in range(3)]
    assert is_empty(service.dir, "tmp")


def test_a_request_holds_at_most_64_kib_then_writes_as_it_reads(service):
    first, second = b"a" * 40_000, b"b" * 100_000
    body = form(part("files", first, "a.bin"), part("files", second, "b.bin"))
    reader = reader_for(service, body)
    wrote = False
    for chunk in chunks(body, 4096):
        reader.feed(chunk)
        assert held(reader) <= IO_BUFFER
        if reader.flush_due:
            reader.flush()
            wrote = True
            assert not reader.flush_due
    assert wrote, "the second file never went to its staging file before the end"
    received = reader.close()
    # The first file (40,000 held) left the second a room of 25,536 bytes.
    assert [len(p.head) for p in received.files] == [40_000, 0]
    assert received.files[1].upload.size == 100_000
    stored = service.commit(received, "general", "")
    assert [m.sha256 for m in stored] == [hashlib.sha256(first).hexdigest(),
                                         hashlib.sha256(second).hexdigest()]


# -- the receive loop -----------------------------------------------------------


def test_a_client_that_goes_away_is_a_400_and_leaves_nothing(service):
    body = form(part("file", b"q" * 200_000, "a.bin"))

    def broken():
        yield body[:150_000]
        raise ConnectionResetError("reset by peer")

    with pytest.raises(ApiError) as e:
        service.receive(service.single_form, CONTENT_TYPE, str(len(body)), broken(),
                        (OSError,))
    assert (e.value.status, e.value.code) == (400, "body_read_error")
    assert service.store.snapshot()["rejected_uploads"] == 1
    assert is_empty(service.dir, "tmp")
    assert service.store._staged == 0


def test_our_own_faults_are_not_the_clients(service, monkeypatch):
    def failing(self, chunk):
        raise PermissionError("disk says no")

    monkeypatch.setattr(upload.Upload, "write", failing)
    body = form(part("file", b"q" * 200_000, "a.bin"))
    with pytest.raises(PermissionError):
        receive(service, body)
    assert service.store.snapshot()["rejected_uploads"] == 1


def test_a_refused_body_is_drained_before_the_answer(service):
    body = form(part("owner", b"root"), part("file", b"q" * 50_000, "a.bin"))
    pulled = []

    def tracked():
        for chunk in chunks(body, 1000):
            pulled.append(len(chunk))
            yield chunk

    with pytest.raises(ApiError) as e:
        service.receive(service.single_form, CONTENT_TYPE, str(len(body)), tracked(),
                        (OSError,))
    assert e.value.status == 422
    assert sum(pulled) == len(body), "the rest of the body was not read"


def test_the_async_loop_does_the_same(service):
    body = form(part("files", b"a" * 70_000, "a.bin"), part("files", b"b" * 10, "b.bin"),
                part("batch_process", b" true "))
    blocking_calls = []

    async def run_blocking(fn, *args):
        blocking_calls.append(fn)
        return await asyncio.to_thread(fn, *args)

    async def body_of(data):
        for chunk in chunks(data, 8192):
            yield chunk

    async def broken():
        yield body[:1000]
        raise ConnectionResetError("gone")

    async def main():
        received = await service.receive_async(service.multiple_form, CONTENT_TYPE,
                                               str(len(body)), body_of(body), (OSError,),
                                               run_blocking)
        assert blocking_calls, "the writes never left the event loop"
        fields = service.fields(received, lambda: ([], {"category": "general", "description": "",
                                                       "batch_process": True}))
        stored = service.commit(received, fields.category, fields.description)
        assert [m.size for m in stored] == [70_000, 10] and fields.process
        with pytest.raises(ApiError) as e:
            await service.receive_async(service.multiple_form, CONTENT_TYPE, str(len(body)),
                                        broken(), (OSError,))
        assert e.value.code == "body_read_error"
        refusal = form(part("files", b"x", "x.bin"), part("nope", b"1"),
                       part("files", b"y" * 9000, "y"))
        with pytest.raises(ApiError) as e:
            await service.receive_async(service.multiple_form, CONTENT_TYPE,
                                        str(len(refusal)), body_of(refusal), (OSError,))
        assert e.value.status == 422

    asyncio.run(main())
    assert service.store.snapshot()["rejected_uploads"] == 2
    assert is_empty(service.dir, "tmp")


def test_a_body_cut_short_is_400(service):
    e = refused(service, form(part("file", b"x", "a.txt"))[:-10])
    assert (e.status, e.code) == (400, "malformed_multipart")
    e = refused(service, b"", content_type="text/plain")
    assert e.status == 415
    e = refused(service, b"", content_type="multipart/form-data")
    assert (e.status, e.code) == (400, "malformed_multipart")


# -- fields, flag, whole parts ---------------------------------------------------


def test_fields_name_every_failure_a_missing_file_first(service):
    received = receive(service, form(part("category", b"Bad Category")))
    with pytest.raises(ApiError) as e:
        service.fields(received, lambda: ([FieldError("category", "pattern", "no")], None))
    assert [d.field for d in e.value.details] == ["file", "category"]
    good = receive(service, form(part("file", b"x", "a.txt")))
    fields = service.fields(good, lambda: ([], {"category": "general", "description": "",
                                                "auto_process": False}))
    assert (fields.category, fields.process) == ("general", False)
    good.discard()
    assert service.store.snapshot()["rejected_uploads"] == 1


def test_a_validation_that_raises_leaves_nothing_staged(service):
    received = receive(service, form(part("file", b"x" * 70_000, "a.txt")))

    def broken_validation():
        raise RuntimeError("a framework's bug")

    with pytest.raises(RuntimeError):
        service.fields(received, broken_validation)
    assert is_empty(service.dir, "tmp")
    assert service.store.snapshot()["rejected_uploads"] == 1


@pytest.mark.parametrize("text,value", [("true", True), (" 1 ", True), ("false", False),
                                        ("0", False), ("\tfalse\n", False), ("yes", None),
                                        ("", None), ("True", None), (1, None), (None, None)])
def test_the_flag_rule(text, value):
    assert parse_flag(text) is value


def test_whole_parts_keep_the_same_bounds(service, tmp_path):
    store, spec = service.store, service.single_form
    ok = stage_parts(store, spec, [("file", "a.txt", "text/plain", b"abc"),
                                   ("category", None, None, b"docs")])
    assert ok.text == {"category": "docs"} and ok.files[0].head == b"abc"
    assert is_empty(service.dir, "tmp"), "nothing written before the commit"
    stored = service.commit(ok, "docs", "")
    assert stored[0].sha256 == hashlib.sha256(b"abc").hexdigest()
    cases = [
        ([("description", None, None, b"d" * 4097)], 413),
        ([("file", "a", None, b"x")] + [("category", None, None, b"c")] * 4, 413),
        ([("file", None, None, b"x")], 422),
        ([("owner", None, None, b"x")], 422),
        ([("file", "a", None, b"x" * ((1 << 20) + 1))], 413),
    ]
    for parts, status in cases:
        with pytest.raises(ApiError) as e:
            stage_parts(store, spec, parts)
        assert e.value.status == status, parts
    assert is_empty(service.dir, "tmp")
    assert os.listdir(os.path.join(service.dir, "batches")) == []
