"""Upload forms read as they arrive, the twin of the reference's
`files/form.rs` and `incoming.rs`: a `multipart/form-data` body pushed
chunk by chunk through the framing guard (`framing`: header blocks and
preamble bounded) into python-multipart's streaming `MultipartParser`.
Bounded as the reference: the whole request, each file (413), each text
field (`MAX_TEXT_FIELD`, 413) and the number of parts (`max_files +
TEXT_FIELDS`, 413). A file part's first bytes are held in memory, at most
`IO_BUFFER` per request, and written by the commit job; past that room the
part's bytes go to its staging file as they come (`flush`, blocking: an
event loop runs it on a thread). Nothing is committed until the whole
request was good; a refused or broken request is discarded, which removes
every staging file.

The reader only parses and stages. Checking the text fields' values is the
framework's validation (pydantic, marshmallow, DRF, Catzilla models, each
calling `parse_flag` for the flag) followed by `FileService.fields`;
committing is `Received.commit` (blocking: sync, rename, directory sync).
`receive` runs the whole loop for any framework."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from .. import errors
from ..errors import ApiError, FieldError
from . import IO_BUFFER
from .framing import MAX_HEADER_BLOCK, Framing
from .meta import FileMeta, NewFile
from .store import Store
from .upload import Staged, Upload

#: Longest description, in characters.
MAX_DESCRIPTION = 1000
#: Largest text field (`category`, `description`, the flag): room for the
#: longest description in UTF-8.
MAX_TEXT_FIELD = 4 * MAX_DESCRIPTION + 96
#: The text fields of a form, each allowed once besides the file parts.
TEXT_FIELDS = 3

# python-multipart logs a warning for every malformed body it sees; a bad
# request is answered with a 400, not logged (nothing on the hot path).
logging.getLogger("python_multipart").setLevel(logging.ERROR)


def parse_flag(value: object) -> bool | None:
    """The processing flag: `true`/`1` or `false`/`0`, surrounding spaces
    allowed; None for anything else (each framework's field type turns
    that into its own `invalid_type` failure)."""
    if isinstance(value, str):
        text = value.strip()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
    return None


@dataclass(frozen=True, slots=True)
class FormSpec:
    """The shape of an upload form."""

    #: Name of the file part(s).
    file_field: str
    #: Name of the processing flag.
    flag_field: str
    #: Most file parts.
    max_files: int

    @property
    def text_fields(self) -> tuple[str, ...]:
        return ("category", "description", self.flag_field)

    @property
    def max_parts(self) -> int:
        """Most parts of a form: its files and each text field once."""
        return self.max_files + TEXT_FIELDS


@dataclass(frozen=True, slots=True)
class UploadFields:
    """The text fields of an upload, validated."""

    category: str
    description: str
    #: Whether to analyze the files after the commit.
    process: bool


@dataclass(slots=True)
class Part:
    """A received file: its upload, the first bytes held in memory (written
    by the commit), and the chunks waiting to be written."""

    upload: Upload
    filename: str
    content_type: str | None
    #: Bytes held in memory.
    head: bytes | bytearray = b""
    #: Chunks for the staging file, once the part has passed its room.
    queued: list = field(default_factory=list)
    #: Bytes received.
    size: int = 0
    #: Most bytes `head` may hold.
    room: int = 0
    #: Whether the part's bytes go to its staging file as they come.
    writing: bool = False

    def write_queued(self) -> None:
        """Writes the queued chunks (blocking)."""
        queued, self.queued = self.queued, []
        for chunk in queued:
            self.upload.write(chunk)


@dataclass(slots=True)
class Received:
    """Everything an upload request sent: its file parts (staged or held)
    and its text fields (not yet checked)."""

    spec: FormSpec
    files: list[Part]
    text: dict[str, str]

    def missing_file(self) -> FieldError | None:
        """The failure when no file part came."""
        if self.files:
            return None
        name = self.spec.file_field
        return FieldError(name, "required", f"a file part named `{name}` is required")

    def commit(self, store: Store, category: str, description: str) -> list[FileMeta]:
        """Writes what is still held or queued, syncs and commits every file
        in one go (blocking: one job per request, one directory sync per
        batch): all of them become visible, or none, and no staging file is
        left either way."""
        staged: list[Staged] = []
        try:
            for part in self.files:
                part.write_queued()
                part.upload.write(part.head)
                part.head = b""
                staged.append(part.upload.finish())
        except BaseException:
            for s in staged:
                s.discard()
            self.discard()
            raise
        batch = [(s, NewFile(p.filename, p.content_type, category, description))
                 for s, p in zip(staged, self.files)]
        return store.commit_all(batch)

    def discard(self) -> None:
        """Drops every staged file."""
        for part in self.files:
            part.upload.discard()


def _latin1_to_utf8(raw: bytes) -> str:
    # Header bytes are UTF-8 in practice; python-multipart reads them as latin-1.
    return raw.decode("utf-8", errors="replace")


def _quoted(name: str) -> str:
    return json.dumps(name, ensure_ascii=False)


def _invalid(field_name: str, code: str, message: str) -> ApiError:
    return errors.single(field_name, code, message)


def _field_too_large(name: str, limit: int) -> ApiError:
    return ApiError(413, "payload_too_large",
                    f"form field {_quoted(name)} exceeds the limit of {limit} bytes")


def _too_many_parts(spec: FormSpec) -> ApiError:
    return ApiError(413, "payload_too_large", f"more than {spec.max_parts} parts in the form")


def _not_a_file(name: str) -> ApiError:
    return _invalid(name, "not_a_file", f"`{name}` must be a file part (with a filename)")


def _too_many_files(spec: FormSpec) -> ApiError:
    return _invalid(spec.file_field, "too_many_files",
                    f"at most {spec.max_files} file(s) per request")


def _unknown(name: str, spec: FormSpec) -> ApiError:
    return _invalid(name, "unknown_field",
                    f"unexpected form field {_quoted(name)}; expected {spec.file_field}, "
                    f"category, description, {spec.flag_field}")


def malformed(message: str) -> ApiError:
    """400 `malformed_multipart`."""
    return errors.bad_request("malformed_multipart", f"malformed multipart body: {message}")


def boundary_of(content_type: str | None) -> bytes:
    """The multipart boundary of a request: 415 unless `multipart/form-data`,
    400 when there is no usable boundary."""
    essence = (content_type or "").split(";", 1)[0].strip().lower()
    if essence != "multipart/form-data":
        raise errors.unsupported_media_type("multipart/form-data")
    try:
        _, options = parse_options_header(content_type)
    except Exception:
        options = {}
    boundary = options.get(b"boundary", b"")
    if not boundary:
        raise errors.bad_request("malformed_multipart", "no usable multipart boundary")
    return boundary


def check_request(content_type: str | None, content_length: str | None,
                  max_request: int) -> bytes:
    """The boundary of an upload request: 415 unless `multipart/form-data`,
    400 without a usable boundary, 413 when `Content-Length` is over
    `max_request`."""
    boundary = boundary_of(content_type)
    if content_length is not None and content_length.strip().isdigit() \
            and int(content_length) > max_request:
        raise errors.payload_too_large(max_request)
    return boundary


def stage_parts(store: Store, spec: FormSpec,
                parts: list[tuple[str, str | None, str | None, bytes]]) -> Received:
    """A form some framework has already parsed into whole parts
    (`(name, filename or None, content type or None, content)`, in order),
    held to the same rules as a streamed one: unknown fields, file parts
    without a file name, too many files or parts, oversized text and files
    (413). The framework holds the contents already, so they stay where
    they are until the commit writes them (nothing touches the disk here)."""
    files: list[Part] = []
    text: dict[str, str] = {}
    max_file = store.opts.max_file_bytes
    try:
        for count, (name, filename, content_type, content) in enumerate(parts, 1):
            if name == spec.file_field:
                if filename is None:
                    raise _not_a_file(name)
                if len(files) == spec.max_files:
                    raise _too_many_files(spec)
                if len(content) > max_file:
                    raise _field_too_large(name, max_file)
                files.append(Part(store.begin_upload(), filename, content_type, head=content,
                                  size=len(content)))
            elif count > spec.max_parts:
                raise _too_many_parts(spec)
            elif name in spec.text_fields:
                if len(content) > MAX_TEXT_FIELD:
                    raise _field_too_large(name, MAX_TEXT_FIELD)
                text[name] = content.decode("utf-8", errors="replace")
            else:
                raise _unknown(name, spec)
    except BaseException:
        for part in files:
            part.upload.discard()
        raise
    return Received(spec, files, text)


class FormReader:
    """Reads one upload form pushed to it chunk by chunk. Cheap calls
    (`feed`, `close`) may run on an event loop; `flush` and `discard` touch
    the disk and belong on a thread."""

    def __init__(self, store: Store, spec: FormSpec, content_type: str | None,
                 content_length: str | None, max_request: int) -> None:
        """415/400/413 when the request cannot be an acceptable form."""
        boundary = check_request(content_type, content_length, max_request)
        self._store = store
        self.spec = spec
        self._framing = Framing(boundary)
        # Bytes before the first boundary (a preamble, bounded by the
        # framing guard) are skipped, as the reference's parser does; only a
        # possible partial delimiter is kept.
        self._delimiter = b"--" + boundary
        self._preamble: bytearray | None = bytearray()
        self._max_request = max_request
        self._max_file = store.opts.max_file_bytes
        self._received = 0
        self._files: list[Part] = []
        self._text: dict[str, str] = {}
        #: Parts seen so far, and bytes held in memory by finished parts.
        self._parts = 0
        self._held = 0
        #: Parts with chunks waiting for `flush`.
        self._due: list[Part] = []
        self._ended = False
        # The part being read.
        self._headers: list[tuple[bytes, bytes]] = []
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._name = ""
        self._file: Part | None = None
        self._value: bytearray | None = None
        try:
            # The framing guard bounds header blocks before the parser sees
            # them; the parser's own bounds only back it up.
            self._parser = MultipartParser(boundary, {
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value_data,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
                "on_end": self._end,
            }, max_header_count=MAX_HEADER_BLOCK, max_header_size=MAX_HEADER_BLOCK)
        except FormParserError as e:
            raise malformed(str(e)) from None

    # -- feeding -----------------------------------------------------------

    def feed(self, chunk: bytes) -> None:
        """Parses the next chunk of the body; file bytes are held or queued
        for `flush`. 413 past the request limit or a bound, 400 for a broken
        form, 422 for a form of the wrong shape."""
        if not isinstance(chunk, bytes):
            chunk = bytes(chunk)
        self._framing.scan(chunk)
        self._received += len(chunk)
        if self._received > self._max_request:
            raise errors.payload_too_large(self._max_request)
        if self._preamble is not None:
            chunk = self._skip_preamble(chunk)
            if not chunk:
                return
        try:
            self._parser.write(chunk)
        except FormParserError as e:
            raise malformed(str(e)) from None

    def _skip_preamble(self, chunk: bytes) -> bytes:
        """What follows the preamble, once the first delimiter has come."""
        pending = self._preamble
        pending += chunk
        at = pending.find(self._delimiter)
        if at < 0:
            del pending[:max(len(pending) - len(self._delimiter) + 1, 0)]
            return b""
        self._preamble = None
        return bytes(pending[at:])

    @property
    def flush_due(self) -> bool:
        """Whether file bytes are waiting to be written (a part past its room
        in memory)."""
        return bool(self._due)

    def flush(self) -> None:
        """Hashes and writes the waiting bytes of every file (blocking)."""
        due, self._due = self._due, []
        for part in due:
            part.write_queued()

    def close(self) -> Received:
        """The whole form, once the body has ended: 400 when its closing
        boundary never came. Held bytes remain (`Received.commit` writes
        them)."""
        if not self._ended:
            raise malformed("the body ended before the closing boundary")
        received = Received(self.spec, self._files, self._text)
        self._files = []
        return received

    def discard(self) -> None:
        """Drops every staging file of this form (blocking, quick)."""
        parts = self._files + ([self._file] if self._file is not None else [])
        self._files, self._file, self._due = [], None, []
        for part in parts:
            part.upload.discard()

    # -- parser callbacks ----------------------------------------------------

    def _part_begin(self) -> None:
        self._headers = []
        self._header_name.clear()
        self._header_value.clear()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers.append((bytes(self._header_name).strip().lower(),
                              bytes(self._header_value).strip()))
        self._header_name.clear()
        self._header_value.clear()

    def _header(self, name: str) -> str | None:
        wanted = name.encode("ascii")
        for key, value in self._headers:
            if key == wanted:
                return value.decode("latin-1")
        return None

    def _headers_finished(self) -> None:
        spec = self.spec
        _, params = parse_options_header(self._header("content-disposition") or "")
        name = _latin1_to_utf8(params.get(b"name", b""))
        raw_filename = params.get(b"filename")
        self._name = name
        self._parts += 1
        if name == spec.file_field:
            if raw_filename is None:
                raise _not_a_file(name)
            if len(self._files) == spec.max_files:
                raise _too_many_files(spec)
            content_type = self._header("content-type")
            self._file = Part(
                self._store.begin_upload(), _latin1_to_utf8(raw_filename),
                _latin1_to_utf8(content_type.encode("latin-1"))
                if content_type is not None else None,
                head=bytearray(), room=max(IO_BUFFER - self._held, 0))
        elif self._parts > spec.max_parts:
            raise _too_many_parts(spec)
        elif name in spec.text_fields:
            self._value = bytearray()
        else:
            raise _unknown(name, spec)

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        part = self._file
        if part is not None:
            n = end - start
            if part.size + n > self._max_file:
                raise _field_too_large(self._name, self._max_file)
            part.size += n
            if part.writing:
                if not part.queued:
                    self._due.append(part)
                part.queued.append(memoryview(data)[start:end])
            elif len(part.head) + n <= part.room:
                part.head += memoryview(data)[start:end]
            else:
                # Past its room: the part goes to its staging file from now on.
                part.writing = True
                part.queued = [part.head, memoryview(data)[start:end]]
                part.head = b""
                self._due.append(part)
        elif self._value is not None:
            if len(self._value) + end - start > MAX_TEXT_FIELD:
                raise _field_too_large(self._name, MAX_TEXT_FIELD)
            self._value += data[start:end]

    def _part_end(self) -> None:
        if self._file is not None:
            self._held += len(self._file.head)
            self._files.append(self._file)
            self._file = None
        elif self._value is not None:
            self._text[self._name] = self._value.decode("utf-8", errors="replace")
            self._value = None

    def _end(self) -> None:
        self._ended = True
