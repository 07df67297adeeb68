"""Whether a pooled PostgreSQL connection (SQLAlchemy's) is still usable,
without a round trip: an idle connection has nothing to read unless the server sent
something (the error it sends before closing a connection it terminates,
or the end of the stream). A pool that asks before lending a connection
replaces the ones a restarted or unreachable server left behind instead of
failing a request with each, as the reference's connections are replaced
when their task sees the close."""

from __future__ import annotations

import select


def server_spoke(fd: int) -> bool:
    """Whether the socket `fd` of an idle connection is readable (or gone)."""
    try:
        readable, _, _ = select.select([fd], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def dbapi_is_stale(dbapi_connection) -> bool:
    """For SQLAlchemy's `checkout` event: asyncpg (behind SQLAlchemy's
    adapter) knows when its connection was closed; psycopg is asked through
    its socket."""
    raw = getattr(dbapi_connection, "_connection", None)
    if raw is not None and hasattr(raw, "is_closed"):
        return raw.is_closed()
    fileno = getattr(dbapi_connection, "fileno", None)
    return fileno is not None and (dbapi_connection.closed or server_spoke(fileno()))
