"""Ids, client file names, categories and content types: what a client may
say about a file, made safe. No client string ever becomes a path."""

from __future__ import annotations

import secrets

#: Longest id accepted in a URL.
MAX_ID_LEN = 64

_ID_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789-")
_CATEGORY_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789-_")
_TOKEN_EXTRA = frozenset(b"!#$&-^_.+")
_ATTR_CHARS = frozenset(b"!#$&+-.^_`|~")
_OCTET_STREAM = "application/octet-stream"


def new_id() -> str:
    """A fresh server-generated id: `f-` and 20 random hex digits."""
    return f"f-{secrets.randbits(80):020x}"


def is_valid_id(id_: str) -> bool:
    """Whether `id_` has the shape of an id (`[a-z0-9][a-z0-9-]*`, at most 64
    bytes). Ids are only ever looked up in the index; this only lets obvious
    garbage be refused without a lookup."""
    if not id_ or len(id_) > MAX_ID_LEN or not id_.isascii():
        return False
    raw = id_.encode("ascii")
    return raw[0] != ord("-") and all(b in _ID_BYTES for b in raw)


def _is_control(c: str) -> bool:
    # Rust's char::is_control: the Unicode `Cc` category.
    o = ord(c)
    return o < 0x20 or 0x7F <= o < 0xA0


def sanitize_filename(raw: str) -> str:
    """The client's file name reduced to something safe to show and to put in
    a `Content-Disposition`: its last path component, without control
    characters or quotes, at most 200 characters; `upload.bin` when nothing
    is left."""
    base = raw.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c for c in base if not _is_control(c) and c not in '";\0')[:200]
    trimmed = cleaned.strip().lstrip(".").strip()
    return trimmed or "upload.bin"


def is_valid_category(category: str) -> bool:
    """Whether `category` is a slug: 1–32 of `a-z`, `0-9`, `-`, `_`."""
    if not category.isascii() or not 1 <= len(category) <= 32:
        return False
    return all(b in _CATEGORY_BYTES for b in category.encode("ascii"))


def _is_token(s: str) -> bool:
    return (0 < len(s) <= 64 and s.isascii()
            and all(chr(b).isalnum() or b in _TOKEN_EXTRA for b in s.encode("ascii")))


def normalize_content_type(declared: str | None) -> str:
    """The declared content type when it is a plain `type/subtype`
    (parameters dropped, lower-cased); `application/octet-stream` otherwise."""
    if declared is None:
        return _OCTET_STREAM
    essence = declared.split(";", 1)[0].strip().lower()
    kind, slash, sub = essence.partition("/")
    if slash and _is_token(kind) and _is_token(sub):
        return essence
    return _OCTET_STREAM


def content_disposition(kind: str, filename: str) -> str:
    """A `Content-Disposition` value naming `filename`: an ASCII fallback and
    the exact UTF-8 name (RFC 6266 / RFC 8187)."""
    ascii_name = "".join(c if c.isascii() and c != "\\" else "_" for c in filename)
    encoded = "".join(
        chr(b) if (chr(b).isascii() and chr(b).isalnum()) or b in _ATTR_CHARS else f"%{b:02X}"
        for b in filename.encode("utf-8")
    )
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"
