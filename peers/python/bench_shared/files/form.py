"""Upload forms read as they arrive: `multipart/form-data` bodies pushed
chunk by chunk into python-multipart's streaming `MultipartParser`; each
file part streams into a staging `Upload` (sha256 on the way, per-file
limit), text fields are bounded, and nothing is committed until the whole
request was good. A refused or broken request is discarded, which removes
every staging file.

The reader only parses and stages. Checking the text fields' values is the
framework's validation (pydantic, Catzilla models); committing is
`Received.commit` (blocking: sync, rename, directory sync)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from .. import errors
from ..errors import ApiError, FieldError
from .meta import FileMeta, NewFile
from .store import Store
from .upload import Staged, Upload

#: Largest text field (`category`, `description`, the flag).
MAX_TEXT_FIELD = 64 * 1024
#: Most headers per part and longest header line (python-multipart's bounds).
MAX_PART_HEADERS = 8
MAX_HEADER_LINE = 4096 + 128
#: Text parts allowed besides the file parts (each text field may repeat;
#: the last value wins, as in the reference).
MAX_TEXT_PARTS = 64
#: Staged bytes taken before they should be written out (`flush_due`).
FLUSH_BYTES = 1024 * 1024

# python-multipart logs a warning for every malformed body it sees; a bad
# request is answered with a 400, not logged (nothing on the hot path).
logging.getLogger("python_multipart").setLevel(logging.ERROR)


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


@dataclass(slots=True)
class Part:
    """A received file, staged but not yet synced."""

    upload: Upload
    filename: str
    content_type: str | None


@dataclass(slots=True)
class Received:
    """Everything an upload request sent: its file parts (staged) and its
    text fields (not yet checked)."""

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
        """Syncs and commits every file in one go (blocking): all of them
        become visible, or none, and no staging file is left either way."""
        staged: list[Staged] = []
        try:
            for part in self.files:
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


def _invalid(field_name: str, code: str, message: str) -> ApiError:
    return errors.single(field_name, code, message)


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
    if not boundary or len(boundary) > 200:
        raise malformed("no usable multipart boundary")
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
    without a file name, too many files, oversized text (413) and files
    (413); each file written to a staging file with its sha256 (blocking).
    On failure nothing staged is left."""
    files: list[Part] = []
    text: dict[str, str] = {}
    text_parts = 0
    try:
        for name, filename, content_type, content in parts:
            if name == spec.file_field:
                if filename is None:
                    raise _invalid(name, "not_a_file",
                                   f"`{name}` must be a file part (with a filename)")
                if len(files) == spec.max_files:
                    raise _invalid(name, "too_many_files",
                                   f"at most {spec.max_files} file(s) per request")
                part = Part(store.begin_upload(), filename, content_type)
                files.append(part)
                part.upload.write(content)
            elif name in spec.text_fields:
                text_parts += 1
                if text_parts > MAX_TEXT_PARTS:
                    raise malformed(f"more than {MAX_TEXT_PARTS} text parts")
                if len(content) > MAX_TEXT_FIELD:
                    raise ApiError(413, "payload_too_large",
                                   f"form field {name!r} exceeds the limit of "
                                   f"{MAX_TEXT_FIELD} bytes")
                text[name] = content.decode("utf-8", errors="replace")
            else:
                raise _invalid(name, "unknown_field",
                               f"unexpected form field {name!r}; expected {spec.file_field}, "
                               f"category, description, {spec.flag_field}")
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
        # Bytes before the first boundary (a preamble) are skipped, as the
        # reference's parser does; only a possible partial delimiter is kept.
        self._delimiter = b"--" + boundary
        self._preamble: bytearray | None = bytearray()
        self._max_request = max_request
        self._received = 0
        self._files: list[Part] = []
        self._text: dict[str, str] = {}
        self._text_parts = 0
        self._dirty: list[Upload] = []
        self._ended = False
        # The part being read.
        self._headers: list[tuple[bytes, bytes]] = []
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._name = ""
        self._file: Part | None = None
        self._value: bytearray | None = None
        try:
            self._parser = MultipartParser(boundary, {
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value_data,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
                "on_end": self._end,
            }, max_header_count=MAX_PART_HEADERS, max_header_size=MAX_HEADER_LINE)
        except FormParserError as e:
            raise malformed(str(e)) from None

    # -- feeding -----------------------------------------------------------

    def feed(self, chunk: bytes) -> None:
        """Parses the next chunk of the body; file bytes are taken by their
        upload (written by `flush`). 413 past the request limit, 400 for a
        broken form, 422 for a form of the wrong shape."""
        self._received += len(chunk)
        if self._received > self._max_request:
            raise errors.payload_too_large(self._max_request)
        if not isinstance(chunk, bytes):
            chunk = bytes(chunk)
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
        """Whether enough bytes are pending to be written out now."""
        return sum(u.pending_bytes for u in self._dirty) >= FLUSH_BYTES

    def flush(self) -> None:
        """Hashes and writes the pending bytes of every file (blocking)."""
        dirty, self._dirty = self._dirty, []
        for upload in dirty:
            upload.flush()

    def close(self) -> Received:
        """The whole form, once the body has ended: 400 when its closing
        boundary never came. Pending bytes may remain (`flush` or
        `Received.commit` writes them)."""
        if not self._ended:
            raise malformed("the body ended before the closing boundary")
        received = Received(self.spec, self._files, self._text)
        self._files = []
        return received

    def discard(self) -> None:
        """Drops every staging file of this form (blocking, quick)."""
        parts = self._files + ([self._file] if self._file is not None else [])
        self._files, self._file, self._dirty = [], None, []
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
        if name == spec.file_field:
            if raw_filename is None:
                raise _invalid(name, "not_a_file",
                               f"`{name}` must be a file part (with a filename)")
            if len(self._files) == spec.max_files:
                raise _invalid(name, "too_many_files",
                               f"at most {spec.max_files} file(s) per request")
            content_type = self._header("content-type")
            self._file = Part(self._store.begin_upload(), _latin1_to_utf8(raw_filename),
                              _latin1_to_utf8(content_type.encode("latin-1"))
                              if content_type is not None else None)
        elif name in spec.text_fields:
            self._text_parts += 1
            if self._text_parts > MAX_TEXT_PARTS:
                raise malformed(f"more than {MAX_TEXT_PARTS} text parts")
            self._value = bytearray()
        else:
            raise _invalid(name, "unknown_field",
                           f"unexpected form field {name!r}; expected {spec.file_field}, "
                           f"category, description, {spec.flag_field}")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._file is not None:
            upload = self._file.upload
            if end > start and upload.pending_bytes == 0:
                self._dirty.append(upload)
            upload.accept(memoryview(data)[start:end])
        elif self._value is not None:
            if len(self._value) + end - start > MAX_TEXT_FIELD:
                raise ApiError(413, "payload_too_large",
                               f"form field {self._name!r} exceeds the limit of "
                               f"{MAX_TEXT_FIELD} bytes")
            self._value += data[start:end]

    def _part_end(self) -> None:
        if self._file is not None:
            self._files.append(self._file)
            self._file = None
        elif self._value is not None:
            self._text[self._name] = self._value.decode("utf-8", errors="replace")
            self._value = None

    def _end(self) -> None:
        self._ended = True
