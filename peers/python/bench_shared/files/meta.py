"""What the store knows about a file, as kept on disk (`meta/<id>.json`)
and shown by `info`."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class FileMeta:
    """Metadata of one stored file; immutable once written."""

    id: str
    #: The client's file name, sanitized (metadata only, never a path).
    filename: str
    #: Media type served on download.
    content_type: str
    #: Category slug.
    category: str
    #: Free text from the uploader.
    description: str
    #: Size in bytes.
    size: int
    #: Lower-case hex sha256 of the content.
    sha256: str
    #: Creation time, RFC 3339 UTC with milliseconds.
    created_at: str
    #: Creation time in milliseconds since the epoch (ordering).
    created_ms: int
    #: Whether it is a seeded fixture (read-only).
    fixture: bool = False
    #: The file this one was derived from by processing.
    derived_from: str | None = None
    #: The operation that produced it (`compress`, `resize`, `convert`).
    operation: str | None = None

    @property
    def etag(self) -> str:
        """Strong `ETag` value: the quoted sha256."""
        return f'"{self.sha256}"'

    def to_json(self) -> bytes:
        """The on-disk form (optional fields left out when absent)."""
        record = {k: v for k, v in asdict(self).items()
                  if v is not None or k not in ("derived_from", "operation")}
        return json.dumps(record, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> "FileMeta | None":
        """The metadata in `raw`, or None when it is not a valid record."""
        try:
            record = json.loads(raw)
            meta = cls(**record)
        except (ValueError, TypeError):
            return None
        ok = (all(isinstance(getattr(meta, k), str) for k in
                  ("id", "filename", "content_type", "category", "description", "sha256",
                   "created_at"))
              and all(type(getattr(meta, k)) is int and getattr(meta, k) >= 0
                      for k in ("size", "created_ms"))
              and isinstance(meta.fixture, bool)
              and all(getattr(meta, k) is None or isinstance(getattr(meta, k), str)
                      for k in ("derived_from", "operation")))
        return meta if ok else None


@dataclass(frozen=True, slots=True)
class NewFile:
    """What an uploader says about a new file."""

    #: Client file name (sanitized by the store).
    filename: str
    #: Declared content type (normalized by the store).
    content_type: str | None
    #: Category slug (checked by the caller).
    category: str
    #: Description.
    description: str
