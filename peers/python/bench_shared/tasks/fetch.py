"""The GET of a network task, as the reference's one shared reqwest client
does it: keep-alive connections reused from a pool (idle ones kept 90 s, a
connection the server closed while idle replaced once), no redirects
followed, no proxy, 5 s to connect and 10 s for the whole exchange, and
only the answer's body counted, up to 1 MiB (a larger answer fails the
task, as the reference's does)."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections import deque

from .queue import TaskFailed

#: Largest answer body a network task reads.
MAX_RESPONSE_BYTES = 1024 * 1024
#: How long a network task may take to connect (seconds).
CONNECT_TIMEOUT = 5.0
#: How long a network task's whole exchange may take (seconds).
FETCH_TIMEOUT = 10.0
#: How long an idle connection is kept for reuse (reqwest's default).
IDLE_TIMEOUT = 90.0
_READ = 64 * 1024


def too_large() -> TaskFailed:
    return TaskFailed(f"the answer is larger than {MAX_RESPONSE_BYTES} bytes")


class _Connection(http.client.HTTPConnection):
    """A connection to the first of `addresses` that accepts one."""

    def __init__(self, addresses: tuple[str, ...], port: int) -> None:
        super().__init__(addresses[0] if addresses else "", port, timeout=CONNECT_TIMEOUT)
        self.addresses = addresses
        self.idle_since = 0.0

    def connect(self) -> None:
        error: OSError = OSError("no address to connect to")
        for address in self.addresses:
            try:
                self.sock = socket.create_connection((address, self.port), self.timeout)
            except OSError as e:
                error = e
                continue
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return
        raise error


class _Stale(Exception):
    """A reused connection turned out closed before it answered."""


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    return left


class Client:
    """GETs to this machine over a pool of keep-alive connections, shared
    by every work thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: dict[tuple[tuple[str, ...], int], deque[_Connection]] = {}

    def _take(self, key: tuple[tuple[str, ...], int]) -> _Connection | None:
        expired = []
        found = None
        now = time.monotonic()
        with self._lock:
            idle = self._idle.get(key)
            while idle and now - idle[0].idle_since > IDLE_TIMEOUT:
                expired.append(idle.popleft())
            if idle:
                found = idle.pop()
        for conn in expired:
            conn.close()
        return found

    def _give(self, key: tuple[tuple[str, ...], int], conn: _Connection) -> None:
        conn.idle_since = time.monotonic()
        with self._lock:
            self._idle.setdefault(key, deque()).append(conn)

    def get(self, addresses: tuple[str, ...], port: int, host: str, path: str,
            url: str) -> tuple[int, int]:
        """GETs `path` with `Host: host`: (status, body bytes); TaskFailed
        when it cannot, or when the body is larger than the limit."""
        deadline = time.monotonic() + FETCH_TIMEOUT
        key = (addresses, port)
        conn = self._take(key)
        if conn is not None:
            try:
                return self._exchange(key, conn, host, path, url, deadline, reused=True)
            except _Stale:
                pass  # closed by the server while idle: once more on a new one
        return self._exchange(key, _Connection(addresses, port), host, path, url, deadline,
                              reused=False)

    def _exchange(self, key: tuple[tuple[str, ...], int], conn: _Connection, host: str,
                  path: str, url: str, deadline: float, reused: bool) -> tuple[int, int]:
        try:
            if conn.sock is None:
                conn.timeout = min(CONNECT_TIMEOUT, _left(deadline))
                conn.connect()
            sock = conn.sock
            sock.settimeout(_left(deadline))
            conn.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", host)
            conn.putheader("Accept", "*/*")
            conn.endheaders()
            answer = conn.getresponse()
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            if reused and isinstance(e, ConnectionError):
                raise _Stale from None
            raise TaskFailed(f"GET {url}: {e}") from None
        try:
            if answer.length is not None and answer.length > MAX_RESPONSE_BYTES:
                raise too_large()
            size = 0
            while answer.length is None or answer.length > 0:
                sock.settimeout(_left(deadline))
                chunk = answer.read1(_READ)
                if not chunk:
                    break
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise too_large()
            if answer.length:  # the server hung up within the body
                raise http.client.IncompleteRead(b"", answer.length)
            answer.close()  # read to its end: the connection may carry the next one
        except (OSError, http.client.HTTPException) as e:
            answer.close()
            conn.close()
            raise TaskFailed(f"reading the answer: {e}") from None
        except TaskFailed:
            answer.close()
            conn.close()
            raise
        if answer.will_close:
            conn.close()
        else:
            self._give(key, conn)
        return answer.status, size
