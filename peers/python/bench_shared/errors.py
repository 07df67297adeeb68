"""The contract's error values: `{"error": code, "message": ..., "details": [...]}`.

`ApiError` carries the HTTP status as a number so that every framework can
turn it into its own response in a few lines; nothing here imports one.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class FieldError:
    """One failing field: a path (`personal_info.email`, `items[2].quantity`),
    a machine code and a message."""

    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass(slots=True)
class ApiError(Exception):
    """An error answer: status, stable code, message, failing fields and any
    headers the status calls for (`Allow`, `WWW-Authenticate`, …)."""

    status: int
    code: str
    message: str
    details: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status == 401:
            self.headers.setdefault("WWW-Authenticate", "Bearer")
        if self.status == 413:
            # The rest of the body is not read: the connection cannot be reused.
            self.headers.setdefault("Connection", "close")

    def body(self) -> dict:
        return {
            "error": self.code,
            "message": self.message,
            "details": [d.as_dict() for d in self.details],
        }

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


def bad_request(code: str, message: str, details: list[FieldError] | None = None) -> ApiError:
    return ApiError(400, code, message, details or [])


def malformed_json(message: str) -> ApiError:
    return ApiError(400, "malformed_json", message)


def not_found(message: str) -> ApiError:
    return ApiError(404, "not_found", message)


def method_not_allowed(allow: list[str] | str) -> ApiError:
    allowed = allow if isinstance(allow, str) else ", ".join(allow)
    return ApiError(
        405,
        "method_not_allowed",
        f"method not allowed; allowed: {allowed}",
        headers={"Allow": allowed},
    )


def conflict(code: str, message: str, details: list[FieldError] | None = None) -> ApiError:
    return ApiError(409, code, message, details or [])


def payload_too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"request body exceeds the limit of {limit} bytes")


def unsupported_media_type(expected: str) -> ApiError:
    return ApiError(415, "unsupported_media_type", f"expected Content-Type: {expected}")


def validation(errors: list[FieldError]) -> ApiError:
    """422 listing every failing field."""
    return ApiError(
        422, "validation_failed", f"{len(errors)} field(s) failed validation", list(errors)
    )


def single(field_name: str, code: str, message: str) -> ApiError:
    """422 for one failing field."""
    return validation([FieldError(field_name, code, message)])


def check(errors: list[FieldError]) -> None:
    """Raises the 422 when `errors` is not empty."""
    if errors:
        raise validation(errors)


def unauthorized(code: str, message: str) -> ApiError:
    return ApiError(401, code, message)


def forbidden(code: str, message: str) -> ApiError:
    return ApiError(403, code, message)


def unavailable(code: str, message: str) -> ApiError:
    return ApiError(503, code, message)


def too_many(code: str, message: str) -> ApiError:
    return ApiError(429, code, message)


def internal(message: str) -> ApiError:
    """500 `internal_error`: a fault of the server, never of the input."""
    return ApiError(500, "internal_error", message)


def fault(e: BaseException | None = None) -> ApiError:
    """The 500 every peer answers for an exception of its own that no
    handler turned into an `ApiError` (the same words in every framework):
    `storage failure: …` for the file system's, `internal error: <type>: …`
    for others, `internal error` when the framework does not say which."""
    if e is None:
        return internal("internal error")
    if isinstance(e, OSError):
        return internal(f"storage failure: {e}")
    return internal(f"internal error: {type(e).__name__}: {e}")
