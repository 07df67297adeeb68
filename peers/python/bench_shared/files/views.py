"""The JSON shapes of the category's answers, the same for every framework
(the reference's `manage`, `upload` and `processing` bodies)."""

from __future__ import annotations

from .meta import FileMeta
from .process import Processed


def summary(m: FileMeta) -> dict:
    """A file as listed and returned by uploads: metadata and its URLs."""
    return {
        "id": m.id,
        "filename": m.filename,
        "content_type": m.content_type,
        "category": m.category,
        "description": m.description,
        "size": m.size,
        "sha256": m.sha256,
        "created_at": m.created_at,
        "fixture": m.fixture,
        "derived_from": m.derived_from,
        "operation": m.operation,
        "download_url": f"/download/{m.id}",
        "stream_url": f"/stream/{m.id}",
    }


def info(m: FileMeta, derived: list[FileMeta], record: dict | None) -> dict:
    """`GET /files/{id}/info`: metadata, `ETag`, derived files and the
    automatic processing record."""
    body = summary(m)
    body["etag"] = m.etag
    body["derived_files"] = [summary(d) for d in derived]
    body["processing"] = record
    return body


def listing(total: int, page: list[FileMeta], limit: int, offset: int,
            category: str | None) -> dict:
    """`GET /files`."""
    return {"files": [summary(m) for m in page], "total": total, "limit": limit,
            "offset": offset, "category": category}


def single_upload(file: FileMeta, processing: dict | None) -> dict:
    """`POST /upload/single` (201)."""
    return {"file": summary(file), "processing": processing}


def multiple_upload(files: list[FileMeta], processing: list[dict] | None) -> dict:
    """`POST /upload/multiple` (201); `processing` lists `{file_id, job}`."""
    return {"files": [summary(f) for f in files], "count": len(files),
            "total_bytes": sum(f.size for f in files), "processing": processing}


def processed(id_: str, operation: str, result: Processed, micros: int) -> dict:
    """`POST /process/{id}`: an analysis, or the derived file and what was done."""
    if result.analysis is not None:
        body: dict = {"analysis": result.analysis}
    else:
        body = {"derived_file": summary(result.file), "details": result.details}
    body["file_id"] = id_
    body["operation"] = operation
    body["duration_ms"] = micros / 1000
    return body
