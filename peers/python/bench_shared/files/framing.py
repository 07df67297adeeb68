"""A guard in front of the multipart parser, the twin of the reference's
`files/framing.rs`: it follows the body's framing as it streams past and
cuts the body when a part's header block (its delimiter line and headers)
passes `MAX_HEADER_BLOCK` bytes (413) or no boundary comes within
`MAX_PREAMBLE` bytes (400), so header blocks and preambles are bounded by
size however they are cut into chunks, as in the reference."""

from __future__ import annotations

from .. import errors

#: Largest header block of a part: its delimiter line and headers.
MAX_HEADER_BLOCK = 8 * 1024
#: Most bytes up to the end of the first boundary.
MAX_PREAMBLE = 8 * 1024

# Where the body is, as the parser reads it.
_PREAMBLE = 0  # before the first `--boundary` (found anywhere)
_LINE = 1  # after a `--boundary`: `--` closes, else padding and CRLF
_HEADERS = 2  # the part's headers, up to their blank line
_CONTENT = 3  # the part's content, up to `\r\n--boundary`
_EPILOGUE = 4  # after the closing delimiter


def header_too_large() -> errors.ApiError:
    """413: a part's header block is over `MAX_HEADER_BLOCK`."""
    return errors.ApiError(413, "payload_too_large",
                           f"a part's header block exceeds {MAX_HEADER_BLOCK} bytes")


def no_boundary() -> errors.ApiError:
    """400: no boundary within `MAX_PREAMBLE`."""
    return errors.bad_request("malformed_multipart",
                              f"no multipart boundary in the first {MAX_PREAMBLE} bytes")


class _Pattern:
    """A byte pattern searched for across chunks."""

    __slots__ = ("needle", "tail")

    def __init__(self, needle: bytes) -> None:
        self.needle = needle
        #: The last bytes seen (fewer than the pattern), a match's possible start.
        self.tail = b""

    def feed(self, chunk: bytes, start: int) -> int | None:
        """Follows `chunk[start:]`: the offset in `chunk` just past the first
        match, if it ends there (the search starts afresh after it)."""
        needle, tail = self.needle, self.tail
        size = len(needle)
        if tail:
            # A match that starts in the tail ends in the first bytes.
            joined = tail + chunk[start:start + size - 1]
            at = joined.find(needle)
            if at >= 0:
                self.tail = b""
                return start + at + size - len(tail)
        at = chunk.find(needle, start)
        if at >= 0:
            self.tail = b""
            return at + size
        keep = size - 1
        if len(chunk) - start >= keep:
            self.tail = chunk[len(chunk) - keep:] if keep else b""
        else:
            self.tail = (tail + chunk[start:])[-keep:] if keep else b""
        return None


class Framing:
    """The framing state of one body."""

    __slots__ = ("_stage", "_seen", "_line", "_first", "_delimiter", "_line_end", "_blank")

    def __init__(self, boundary: bytes) -> None:
        self._stage = _PREAMBLE
        #: Bytes of the preamble, or of the current header block.
        self._seen = 0
        #: The first bytes of a delimiter line (to spot the closing `--`).
        self._line = b""
        self._first = _Pattern(b"--" + boundary)
        self._delimiter = _Pattern(b"\r\n--" + boundary)
        self._line_end = _Pattern(b"\r\n")
        self._blank = _Pattern(b"\r\n\r\n")

    def scan(self, chunk: bytes) -> None:
        """Follows `chunk`, the next bytes of the body: 413 when a header
        block grows too large, 400 when no boundary comes in time."""
        start = 0
        end = len(chunk)
        while start < end:
            stage = self._stage
            if stage == _LINE and len(self._line) < 2:
                self._line += chunk[start:start + 2 - len(self._line)]
                if self._line == b"--":
                    self._stage = stage = _EPILOGUE
            if stage == _EPILOGUE:
                return
            if stage == _CONTENT:
                found = self._delimiter.feed(chunk, start)
            else:
                if stage == _PREAMBLE:
                    pattern, limit, violation = self._first, MAX_PREAMBLE, no_boundary
                elif stage == _LINE:
                    pattern, limit, violation = self._line_end, MAX_HEADER_BLOCK, \
                        header_too_large
                else:
                    pattern, limit, violation = self._blank, MAX_HEADER_BLOCK, \
                        header_too_large
                found = pattern.feed(chunk, start)
                self._seen += (end if found is None else found) - start
                if self._seen > limit:
                    raise violation()
            if found is None:
                return
            if stage == _LINE:
                self._stage = _HEADERS
            elif stage == _HEADERS:
                self._stage = _CONTENT
            else:
                self._seen = 0
                self._line = b""
                self._stage = _LINE
            start = found
