"""What a database failure means for an answer, for any driver or ORM: a
unique index refusing an email is a 409; a deadlock or serialization
failure may be retried; anything else the database (or the way to it)
does wrong is a 503 `database_unavailable` the client may try again,
never a 500."""

from __future__ import annotations

from .. import errors
from . import rules

#: Attempts of a transaction PostgreSQL aborted to break a deadlock or a
#: serialization conflict (the reference's count).
ATTEMPTS = 5
_RETRYABLE = {"40P01", "40001"}


def _sqlstate(e: BaseException) -> str | None:
    for candidate in (e, getattr(e, "orig", None), getattr(e, "__cause__", None)):
        for attr in ("sqlstate", "pgcode"):
            code = getattr(candidate, attr, None)
            if isinstance(code, str):
                return code
    return None


def retryable(e: BaseException) -> bool:
    """A deadlock or serialization failure: the transaction may run again."""
    return _sqlstate(e) in _RETRYABLE


def is_unique_email(e: BaseException) -> bool:
    """A unique violation on `users.email` (SQLite's message names the
    column, PostgreSQL's the constraint `users_email_key`)."""
    text = str(getattr(e, "orig", e))
    return _sqlstate(e) == "23505" and "email" in text or "users.email" in text


def translate(e: BaseException) -> errors.ApiError:
    """The answer for a database failure."""
    if is_unique_email(e):
        return rules.taken("email")
    reason = str(getattr(e, "orig", None) or e).strip().splitlines()
    return rules.unavailable(reason[0] if reason else type(e).__name__)
