"""Several processes, one set of counts: `bench_shared.counters` sums what
every process of a server counted (the ones that ended included), and a
peer started with `--workers 2` answers `/validation/stats` with what all
its processes validated, also after a worker was replaced."""

from __future__ import annotations

import atexit
import http.client
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from bench_shared import counters
from bench_shared.counters import Counters, share_between_processes
from test_fsyncs import ROOT, SERVE, free_port

VALID = json.dumps({"id": 1, "name": "Jo Doe", "email": "jo@example.com", "age": 30}).encode()
INVALID = json.dumps({"id": "x", "name": "Jo Doe", "email": "jo@example.com", "age": 30}).encode()


def test_counts_of_every_process_are_summed(tmp_path, monkeypatch):
    monkeypatch.setenv(counters.ENV, str(tmp_path))
    c = Counters("t", 3)
    c.add([(0, 1), (2, 5)])
    pid = os.fork()
    if pid == 0:  # a worker: counts in a file of its own, then ends
        try:
            c.add([(0, 10), (1, 1)])
        finally:
            os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    assert c.totals() == [11, 1, 5]
    # Its two files (counters other tests made reopen in the child too).
    assert len(list(tmp_path.glob("t-*.bin"))) == 2
    c.add([(1, 1)])
    assert c.totals() == [11, 2, 5]


def test_without_a_directory_counts_stay_in_the_process(monkeypatch):
    monkeypatch.delenv(counters.ENV, raising=False)
    c = Counters("t", 2)
    c.add([(1, 3)])
    assert c.totals() == [0, 3]


def test_only_the_parent_removes_the_shared_directory(monkeypatch):
    monkeypatch.delenv(counters.ENV, raising=False)
    directory = share_between_processes()
    atexit.unregister(counters.remove_shared)  # this test runs it itself
    parent = os.getpid()
    try:
        assert os.environ[counters.ENV] == directory and os.path.isdir(directory)
        pid = os.fork()
        if pid == 0:  # a worker ending normally runs the handler it inherited
            try:
                counters.remove_shared(directory, None, parent)
            finally:
                os._exit(0)
        assert os.waitpid(pid, 0)[1] == 0
        assert os.path.isdir(directory), "a worker's exit removed the parent's counters"
        counters.remove_shared(directory, None, parent)
        assert not os.path.exists(directory)
    finally:
        monkeypatch.delenv(counters.ENV, raising=False)


def post(port: int, body: bytes) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/validate/simple-user", body=body,
                     headers={"Content-Type": "application/json"})
        answer = conn.getresponse()
        answer.read()
        return answer.status
    finally:
        conn.close()


def simple_user_counts(port: int) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/validation/stats")
        return json.loads(conn.getresponse().read())["endpoints"]["simple_user"]
    finally:
        conn.close()


def workers_of(pid: int) -> set[int]:
    """The server's Python child processes (its workers)."""
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
                cmdline = open(f"/proc/{entry}/cmdline", "rb").read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid and b"python" in cmdline:
                out.add(int(entry))
    return out


def wait_for(check, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def answers(port: int) -> bool:
    try:
        return simple_user_counts(port) is not None
    except OSError:
        return False


@pytest.mark.parametrize("framework", ["flask", "fastapi"])
def test_a_peer_of_two_processes_counts_every_request(framework: str) -> None:
    port = free_port()
    server = subprocess.Popen([sys.executable, SERVE, framework, "validation", "--port", str(port),
                               "--workers", "2"], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: answers(port), f"{framework} did not start")
        # uvicorn also runs a resource tracker beside its two workers.
        wait_for(lambda: len(workers_of(server.pid)) >= 2, f"{framework} started no 2 workers")
        before = simple_user_counts(port)
        statuses = [post(port, VALID) for _ in range(6)] + [post(port, INVALID) for _ in range(4)]
        assert statuses == [200] * 6 + [422] * 4
        if framework == "flask":
            # A worker that ends (gunicorn starts another) keeps what it counted.
            old = workers_of(server.pid)
            os.kill(min(old), signal.SIGTERM)
            wait_for(lambda: len(workers_of(server.pid) - old) == 1 and answers(port),
                     "gunicorn did not replace the worker")
            assert post(port, VALID) == 200
            statuses.append(200)
        after = simple_user_counts(port)
        assert after["requests"] - before["requests"] == len(statuses)
        assert after["valid"] - before["valid"] == statuses.count(200)
        assert after["invalid"] - before["invalid"] == 4
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
