"""The Workbench's real work: an I/O task writes, syncs and reads back the
reference's pattern (kept once, grown to the largest size asked), and a
network task GETs over kept-alive connections, counting the answer's body
only and failing above 1 MiB, as the reference's client does."""

from __future__ import annotations

import hashlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench_shared.mix import splitmix64
from bench_shared.tasks import Stop, TaskFailed, Workbench
from bench_shared.tasks.fetch import MAX_RESPONSE_BYTES


def pattern(n: int) -> bytes:
    return bytes(splitmix64(i) & 0xFF for i in range(n))


def test_io_writes_the_pattern_and_keeps_it(tmp_path):
    bench = Workbench(tmp_path)
    for size in (70_000, 3, 70_001):
        done = bench.io("t", 0, size, Stop())
        assert done == {"bytes": size, "sha256": hashlib.sha256(pattern(size)).hexdigest(),
                        "verified": True}
    assert len(bench._pattern._bytes) == 70_001
    assert list((tmp_path / "io").iterdir()) == [], "the file is deleted"
    stopped = Stop()
    stopped.set()
    with pytest.raises(TaskFailed, match="cancelled"):
        bench.io("t", 1, 200_000, stopped)  # bytes still to make: stops
    assert bench.io("t", 2, 100, stopped)["bytes"] == 100  # kept bytes: nothing to make


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    BODY = b"hello, task"

    def setup(self):
        super().setup()
        self.server.connections.append(self.connection)

    def log_message(self, *args):
        pass

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.server.paths.append(self.path)
        if self.path == "/big":
            body = b"x" * (MAX_RESPONSE_BYTES + 1)
            self._answer(200, body, {"Content-Length": str(len(body))})
        elif self.path == "/exactly-the-limit":
            body = b"x" * MAX_RESPONSE_BYTES
            self._answer(200, body, {"Content-Length": str(len(body))})
        elif self.path == "/big-chunked":
            self._answer(200, b"", {"Transfer-Encoding": "chunked"})
            chunk = b"y" * 65_536
            for _ in range(MAX_RESPONSE_BYTES // len(chunk) + 1):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/moved":
            self._answer(302, b"", {"Location": "/small", "Content-Length": "0"})
        elif self.path == "/close":
            self._answer(200, self.BODY, {"Content-Length": str(len(self.BODY)),
                                          "Connection": "close"})
            self.close_connection = True
        else:
            self._answer(200, self.BODY, {"Content-Length": str(len(self.BODY))})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections: list[socket.socket] = []
        self.paths: list[str] = []

    def handle_error(self, request, client_address):
        pass  # a client that stopped reading a large answer


@pytest.fixture
def server():
    s = _Server()
    threading.Thread(target=s.serve_forever, args=(0.01,), daemon=True).start()
    yield s
    s.shutdown()
    s.server_close()


def test_fetch_counts_the_body_and_keeps_connections_alive(tmp_path, server):
    bench = Workbench(tmp_path)
    port = server.server_address[1]
    url = f"http://127.0.0.1:{port}/small?x=1#frag"
    for _ in range(3):
        assert bench.fetch(url) == {"url": url, "status": 200, "bytes": len(_Handler.BODY)}
    assert len(server.connections) == 1, "one kept-alive connection"
    assert server.paths == ["/small?x=1"] * 3
    # Redirects are answers, not followed.
    moved = bench.fetch(f"http://localhost:{port}/moved")
    assert (moved["status"], moved["bytes"]) == (302, 0)
    assert server.paths[-1] == "/moved"
    # A /path goes to this server's own address.
    bench.set_own_addr("0.0.0.0", port)
    assert bench.fetch("/own")["status"] == 200
    assert server.paths[-1] == "/own"
    limit = bench.fetch(f"http://127.0.0.1:{port}/exactly-the-limit")
    assert limit["bytes"] == MAX_RESPONSE_BYTES


def test_fetch_fails_above_the_limit_and_survives_closed_connections(tmp_path, server):
    bench = Workbench(tmp_path)
    port = server.server_address[1]
    for path in ("/big", "/big-chunked"):
        with pytest.raises(TaskFailed, match=f"the answer is larger than {MAX_RESPONSE_BYTES} "
                                             "bytes"):
            bench.fetch(f"http://127.0.0.1:{port}{path}")
    # A connection the server closes is not reused; one it closed while
    # idle is replaced.
    for _ in range(2):
        assert bench.fetch(f"http://127.0.0.1:{port}/close")["status"] == 200
    before = len(server.connections)
    assert bench.fetch(f"http://127.0.0.1:{port}/small")["status"] == 200
    assert len(bench._http._idle[(("127.0.0.1",), port)]) == 1
    server.connections[-1].shutdown(socket.SHUT_RDWR)  # the server ends an idle connection
    assert bench.fetch(f"http://127.0.0.1:{port}/small")["status"] == 200
    assert len(server.connections) == before + 2


def test_fetch_failures_say_why(tmp_path, server):
    bench = Workbench(tmp_path)
    with pytest.raises(TaskFailed, match="no address of this server is known"):
        bench.fetch("/health")
    with pytest.raises(TaskFailed, match="may only reach this machine"):
        bench.fetch("http://example.com/")
    port = server.server_address[1]
    server.shutdown()
    server.server_close()
    with pytest.raises(TaskFailed, match=f"GET http://127.0.0.1:{port}/: "):
        bench.fetch(f"http://127.0.0.1:{port}/")
