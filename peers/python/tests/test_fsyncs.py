"""Equal work on disk, server by server: the reference `file_operations`
server and every Python peer make the same fsync and fdatasync calls per
`upload_multiple`, `upload_single` and delete request (`strace -c` attached
to every process and thread of the running server while the requests are
sent).

Catzilla's form reader keeps one part per field name (a documented
limitation in frameworks.toml), so its `upload_multiple` stores one file:
it is held to the reference's count for the files it stored.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SERVE = os.path.join(ROOT, "peers", "python", "serve.py")
REQUESTS = 3  # of each kind, per server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def multipart(files: list[tuple[str, str, bytes]], fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = "equal-work-boundary"
    out = bytearray()
    for name, filename, data in files:
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; "
                f"filename=\"{filename}\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n").encode()
        out += data + b"\r\n"
    for name, value in fields.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                f"{value}\r\n").encode()
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def send(port: int, method: str, path: str, body: bytes = b"",
         content_type: str | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Content-Type": content_type} if content_type else {}
        conn.request(method, path, body=body or None, headers=headers)
        answer = conn.getresponse()
        return answer.status, json.loads(answer.read() or b"null")
    finally:
        conn.close()


class Server:
    """A started server, its whole process tree traceable."""

    def __init__(self, command: list[str], port: int) -> None:
        self.port = port
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"{command} exited"
            try:
                if send(port, "GET", "/health")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{command} did not answer /health")

    def processes(self) -> list[str]:
        """The server's process and its descendants (strace -f attaches
        each one's threads)."""
        pids, frontier = [], [self.process.pid]
        while frontier:
            pid = frontier.pop()
            pids.append(pid)
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    try:
                        stat = open(f"/proc/{entry}/stat").read()
                    except OSError:
                        continue
                    if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                        frontier.append(int(entry))
        return [str(pid) for pid in pids]

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def traced(server: Server, requests) -> tuple[int, list]:
    """fsync + fdatasync calls made by the server while `requests()` runs."""
    tracer = shutil.which("strace")
    assert tracer, "strace is needed (scripts/test.sh installs it: apt-get install -y strace)"
    with tempfile.NamedTemporaryFile(suffix=".strace") as summary:
        pids = server.processes()
        strace = subprocess.Popen(
            [tracer, "-f", "-c", "-o", summary.name, "-e", "trace=fsync,fdatasync",
             "-p", ",".join(pids)], stderr=subprocess.PIPE, text=True)
        attached = 0
        while attached < len(pids):
            line = strace.stderr.readline()
            assert line, f"strace ended before attaching: {strace.wait()}"
            attached += len(re.findall(r"attached", line))
        answers = requests()
        strace.send_signal(signal.SIGINT)
        strace.communicate(timeout=30)
        calls = 0
        for line in open(summary.name, encoding="utf-8"):
            parts = line.split()
            if parts and parts[-1] in ("fsync", "fdatasync"):
                calls += int(parts[3])
        return calls, answers


def measure(server: Server) -> dict[str, tuple[float, int]]:
    """Per request kind: fsyncs per request and files stored per request."""
    port = server.port
    three = [("files", f"{n}.bin", os.urandom(size))
             for n, size in (("a", 1024), ("b", 2048), ("c", 4096))]
    multiple, multiple_type = multipart(three, {"category": "batch", "batch_process": "false"})
    single, single_type = multipart([("file", "s.txt", os.urandom(1024))],
                                    {"category": "documents", "auto_process": "false"})

    def post(body: bytes, content_type: str, path: str):
        def run() -> list:
            out = []
            for _ in range(REQUESTS):
                status, answer = send(port, "POST", path, body, content_type)
                assert status == 201, answer
                out.append(answer)
            return out
        return run

    out = {}
    calls, answers = traced(server, post(multiple, multiple_type, "/upload/multiple"))
    out["upload_multiple"] = (calls / REQUESTS, answers[0]["count"])
    calls, answers = traced(server, post(single, single_type, "/upload/single"))
    out["upload_single"] = (calls / REQUESTS, 1)
    ids = [a["file"]["id"] for a in answers]

    def delete() -> list:
        out = []
        for fid in ids:
            status, answer = send(port, "DELETE", f"/files/{fid}")
            assert status == 200, answer
            out.append(answer)
        return out

    calls, _ = traced(server, delete)
    out["delete"] = (calls / REQUESTS, 1)
    return out


@pytest.fixture(scope="module")
def reference() -> dict[str, tuple[float, int]]:
    subprocess.run(["cargo", "build", "--quiet", "--locked", "-p", "file-operations"],
                   cwd=ROOT, check=True)
    port = free_port()
    server = Server([os.path.join(ROOT, "target", "debug", "file-operations"),
                     "--port", str(port), "--threads", "2"], port)
    try:
        return measure(server)
    finally:
        server.stop()


def test_the_reference_syncs_what_its_commit_protocol_says(reference) -> None:
    # Per file: content and metadata; per commit: files/ and meta/; a batch
    # of several: its intent record and batches/ twice. A delete: files/ and meta/.
    assert reference == {"upload_multiple": (11, 3), "upload_single": (4, 1), "delete": (2, 1)}


@pytest.mark.parametrize("framework", ["fastapi", "flask", "django", "catzilla"])
def test_python_peers_sync_as_the_reference(reference, framework: str) -> None:
    port = free_port()
    server = Server([sys.executable, SERVE, framework, "file_operations", "--port", str(port)],
                    port)
    try:
        seen = measure(server)
    finally:
        server.stop()
    by_files = {3: reference["upload_multiple"][0], 1: reference["upload_single"][0]}
    for kind, (calls, files) in seen.items():
        want = reference[kind][0] if kind == "delete" else by_files[files]
        assert calls == want, f"{framework} {kind}: {calls} fsyncs per request, reference {want}"
    if framework != "catzilla":
        assert seen["upload_multiple"][1] == 3
