"""bench_shared.middleware: bearer JWTs (every case the contract names, and
the ones it does not), the request-id rule, the token bucket, the handlers'
parameter and body rules, the access log's lines, the settings, the
synchronous timeout, and counters and one access log shared by the
processes of a server."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import jwt
import pytest

from bench_shared import counters, http as bhttp
from bench_shared import middleware as mw
from bench_shared.errors import ApiError
from test_fsyncs import ROOT, SERVE, free_port
from test_multiprocess import wait_for, workers_of

# The suite's key is 20 bytes: PyJWT warns about every token it signs or reads.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

SECRET = mw.DEFAULT_SECRET
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
CONTRACT = os.path.join(ROOT, "shared-endpoints", "middleware.json")


def token(claims: dict, key: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def future(seconds: int = 3600) -> int:
    return int(time.time()) + seconds


def refusal(call, *args) -> ApiError:
    with pytest.raises(ApiError) as e:
        call(*args)
    return e.value


# --- bearer JWT -------------------------------------------------------------------

VERIFIER = mw.Verifier(SECRET)


def rejected(authorization: str | None) -> ApiError:
    return refusal(VERIFIER.verify, authorization)


def test_a_valid_token_names_its_subject_and_scopes():
    bearer = "Bearer " + token({"sub": "ann", "scope": "read write", "exp": future()})
    assert VERIFIER.verify(bearer) == mw.Principal("ann", ("read", "write"))
    assert VERIFIER.verify("bearer " + token({"sub": "bob", "exp": future()})).scopes == ()


@pytest.mark.parametrize("authorization", [None, "", "Basic YmVuY2g6YmVuY2g=", "Token abc",
                                           "Bearerabc", "Bearer ", "Bearer    "])
def test_no_bearer_credentials_is_a_missing_token(authorization):
    e = rejected(authorization)
    assert (e.status, e.code) == (401, "missing_token")
    assert e.headers["WWW-Authenticate"] == 'Bearer realm="middleware"'


@pytest.mark.parametrize("case, authorization", [
    ("malformed", "Bearer not-a-jwt"),
    ("three bad parts", "Bearer a.b.c"),
    ("bad signature", "Bearer " + token({"sub": "ann", "exp": future()}, key="another-secret")),
    ("HS512", "Bearer " + token({"sub": "ann", "exp": future()}, algorithm="HS512")),
    ("alg none", "Bearer " + token({"sub": "ann", "exp": future()}, key=None, algorithm="none")),
    ("no exp", "Bearer " + token({"sub": "ann"})),
    ("no sub", "Bearer " + token({"exp": future()})),
    ("sub not a string", "Bearer " + token({"sub": 42, "exp": future()})),
    ("scope not a string", "Bearer " + token({"sub": "ann", "exp": future(), "scope": ["a"]})),
])
def test_every_other_bad_token_is_invalid(case, authorization):
    e = rejected(authorization)
    assert (e.status, e.code) == (401, "invalid_token"), case
    challenge = e.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="middleware", error="invalid_token", '
                                'error_description="'), case
    description = challenge.split('error_description="', 1)[1]
    assert description.endswith('"') and '"' not in description[:-1], challenge


def test_expiry_is_checked_without_leeway():
    e = rejected("Bearer " + token({"sub": "ann", "exp": int(time.time()) - 1}))
    assert (e.status, e.code) == (401, "token_expired")
    assert 'error="invalid_token"' in e.headers["WWW-Authenticate"]
    # Expired and badly signed: the signature is checked first.
    bad = token({"sub": "ann", "exp": int(time.time()) - 60}, key="another-secret")
    assert rejected("Bearer " + bad).code == "invalid_token"


def test_nbf_is_checked_and_iat_is_not_as_the_reference():
    e = rejected("Bearer " + token({"sub": "ann", "exp": future(), "nbf": future()}))
    assert (e.status, e.code) == (401, "invalid_token")
    ahead = token({"sub": "ann", "exp": future(), "iat": future()})
    assert VERIFIER.verify("Bearer " + ahead).subject == "ann"


def test_the_contracts_tokens_get_the_contracts_errors():
    with open(CONTRACT) as f:
        contract = json.load(f)
    cases = [c for c in contract["negative_cases"] if c["path"] == "/middleware-auth"]
    assert len(cases) >= 7
    for case in cases:
        authorization = case.get("request", {}).get("headers", {}).get("authorization")
        assert rejected(authorization).code == case["expect"]["error"], case["name"]
    valid = contract["endpoints"][[e["name"] for e in contract["endpoints"]].index("auth")]
    principal = VERIFIER.verify(valid["request"]["headers"]["authorization"])
    assert list(principal.scopes) == valid["expect"]["json"]["scopes"]["equals"]


def test_another_secret_refuses_the_contracts_token():
    other = mw.Verifier("not-the-suite-key")
    assert refusal(other.verify, "Bearer " + token({"sub": "a", "exp": future()})).code \
        == "invalid_token"


# --- request id ---------------------------------------------------------------------

@pytest.mark.parametrize("given", ["client-req.42_A", "a", "A" * 64, "flow-1", "._-"])
def test_a_valid_request_id_is_kept(given):
    assert mw.request_id(given) == (given, True)


@pytest.mark.parametrize("given", [None, "", "A" * 65, "bad id; drop table", "é", "a\n",
                                   "a/b", "id:1"])
def test_any_other_gets_a_new_uuid4(given):
    rid, echoed = mw.request_id(given)
    assert not echoed and UUID4.fullmatch(rid)
    assert mw.request_id(given)[0] != rid


# --- route groups -------------------------------------------------------------------

def test_route_groups_are_paths_with_their_methods():
    assert mw.LIGHT.covers("GET", "/middleware-light")
    assert mw.LIGHT.covers("HEAD", "/middleware-concurrent")
    assert not mw.LIGHT.covers("POST", "/middleware-light")  # a 405: timing only
    assert mw.HEAVY.covers("OPTIONS", "/middleware-heavy")  # preflights
    assert mw.HEAVY.covers("POST", "/middleware-post")
    assert not mw.HEAVY.covers("GET", "/middleware-post")
    assert not mw.HEAVY.covers("GET", "/middleware-light")
    for method, path in (("GET", "/"), ("GET", "/health"), ("GET", "/middleware-stats"),
                         ("GET", "/middleware-nope"), ("DELETE", "/middleware-heavy")):
        assert not mw.STACKED.covers(method, path)
    assert mw.STACKED.covers("GET", "/middleware-light") and mw.STACKED.covers("GET", "/middleware-auth")
    assert all(re.match(mw.HEAVY_REGEX, path) for path in mw.HEAVY.methods)
    assert not any(re.match(mw.HEAVY_REGEX, path) for path in mw.LIGHT.methods)


# --- token bucket -------------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_holds_one_seconds_worth_and_refills_continuously():
    clock = Clock()
    limiter = mw.RateLimiter(3, clock)
    assert [limiter.wait("ann") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.wait("ann") == pytest.approx(1 / 3)
    clock.now += 1 / 3
    assert limiter.wait("ann") == 0.0
    assert limiter.wait("ann") > 0
    clock.now += 3600  # a long pause refills to the capacity, not beyond
    assert [limiter.wait("ann") for _ in range(4)][-1] > 0


def test_each_subject_has_its_own_bucket():
    clock = Clock()
    limiter = mw.RateLimiter(1, clock)
    limiter.take("ann")
    e = refusal(limiter.take, "ann")
    assert (e.status, e.code, e.headers["Retry-After"]) == (429, "rate_limited", "1")
    limiter.take("bob")
    clock.now += 1
    limiter.take("ann")


def test_retry_after_is_whole_seconds_and_at_least_one():
    assert [mw.retry_after(w) for w in (0.0, 0.001, 0.5, 1.0, 1.01, 2.3)] == [1, 1, 1, 1, 2, 3]
    clock = Clock()
    limiter = mw.RateLimiter(1, clock)
    limiter.take("ann")
    clock.now += 0.25
    assert refusal(limiter.take, "ann").headers["Retry-After"] == "1"


def test_a_refused_request_takes_no_token():
    clock = Clock()
    limiter = mw.RateLimiter(2, clock)
    limiter.take("ann")
    limiter.take("ann")
    for _ in range(5):
        assert limiter.wait("ann") == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.wait("ann") == 0.0


# --- handlers' parameters and bodies ----------------------------------------------------

def test_heavy_parameters_defaults_and_bounds():
    assert mw.heavy_params({}) == (32, 0)
    assert mw.heavy_params({"count": "1", "delay_ms": "5000"}) == (1, 5000)
    assert mw.heavy_params({"count": "100", "delay_ms": "0"}) == (100, 0)
    for query, field in (({"count": "0"}, "count"), ({"count": "101"}, "count"),
                         ({"delay_ms": "5001"}, "delay_ms")):
        e = refusal(mw.heavy_params, query)
        assert (e.status, e.code, e.details[0].field) == (422, "validation_failed", field)
    # Unsigned, as the reference reads them: a negative number is no count.
    for query, field in (({"count": "-1"}, "count"), ({"delay_ms": "-1"}, "delay_ms"),
                         ({"count": "many"}, "count"), ({"count": "1.5"}, "count"),
                         ({"count": ""}, "count"), ({"delay_ms": "soon"}, "delay_ms"),
                         ({"count": "9" * 5000}, "count")):
        e = refusal(mw.heavy_params, query)
        assert (e.status, e.code, e.details[0].field) == (400, "invalid_query", field)


def test_heavy_items_name_the_subject():
    answer = mw.heavy("ann", "rid", 3)
    assert answer["count"] == 3 and answer["subject"] == "ann" and answer["request_id"] == "rid"
    assert answer["items"][2] == {"id": 2, "name": "item-2", "owner": "ann",
                                  "tags": ["middleware", "heavy"]}


def fields(data) -> list[str]:
    e = refusal(mw.post_input, data)
    assert (e.status, e.code) == (422, "validation_failed")
    return [d.field for d in e.details]


def test_post_bodies_are_json_as_the_reference_reads_it():
    assert mw.post_body(b'{"name": "w", "value": 1}') == ("w", 1)
    assert mw.post_body(b'{"name": "\\ud83d\\ude00", "value": 1}') == ("\U0001F600", 1)
    for body in (b'{"name": "\\ud800", "value": 1}', b'{"name": "w", "value": 1, "x": "\\udfff"}',
                 b'{"name": ', b''):
        e = refusal(mw.post_body, body)
        assert (e.status, e.code) == (400, "malformed_json"), body


def test_post_values_are_integers_exactly():
    assert mw.post_input({"name": "widget", "value": 42, "extra": [1]}) == ("widget", 42)
    assert mw.post_input({"name": "w", "value": -1_000_000_000}) == ("w", -1_000_000_000)
    assert mw.post_input({"name": "w", "value": 1_000_000_000}) == ("w", 1_000_000_000)
    for value in ("42", True, False, 1.5, 1.0, None, [1], {"v": 1}, 1_000_000_001,
                  -1_000_000_001, 10 ** 30):
        assert fields({"name": "w", "value": value}) == ["value"], value


def test_post_names_are_strings_of_1_to_100_characters():
    assert mw.post_input({"name": "é" * 100, "value": 0}) == ("é" * 100, 0)
    for name in ("", "x" * 101, 5, None, ["w"]):
        assert fields({"name": name, "value": 0}) == ["name"], name
    assert fields({}) == ["name", "value"]
    assert fields({"name": 1, "value": "1"}) == ["name", "value"]
    assert fields([{"name": "w", "value": 1}]) == [""]
    assert fields("widget") == [""]


def test_post_bodies_that_are_not_json_are_400():
    for body in (b'{"name": ', b"", b"\xff\xfe", b"NaN"):
        e = refusal(bhttp.parse_json, body)
        assert (e.status, e.code) == (400, "malformed_json")


# --- access log -----------------------------------------------------------------------

LINE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def test_a_log_line_is_one_json_object_with_the_fields_in_order():
    line = mw.log_line(at=1_700_000_000.25, request_id="rid", method="GET",
                       path="/middleware-heavy?count=2", status=200, duration_ms=1.23456,
                       subject=None)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    entry = json.loads(line)
    assert list(entry) == ["time", "request_id", "method", "path", "status", "duration_ms",
                           "subject"]
    assert entry == {"time": "2023-11-14T22:13:20.250Z", "request_id": "rid", "method": "GET",
                     "path": "/middleware-heavy", "status": 200, "duration_ms": 1.235,
                     "subject": None}
    assert LINE_TIME.fullmatch(mw.rfc3339(time.time()))


def test_each_line_is_one_write_and_counted(tmp_path, monkeypatch):
    monkeypatch.delenv(counters.ENV, raising=False)
    stats = mw.Stats()
    log = mw.AccessLog(str(tmp_path / "access.log"), stats)
    writes = []
    real = os.write
    monkeypatch.setattr(mw.os, "write", lambda fd, data: writes.append(data) or real(fd, data))
    log.write(started=time.perf_counter(), request_id="a", method="POST",
              path="/middleware-post", status=422, subject="ann")
    log.write(started=time.perf_counter(), request_id="b", method="OPTIONS",
              path="/middleware-heavy", status=200, subject=None)
    lines = (tmp_path / "access.log").read_bytes().splitlines(keepends=True)
    assert lines == writes
    assert [json.loads(x)["status"] for x in lines] == [422, 200]
    assert json.loads(lines[0])["subject"] == "ann"
    assert stats.snapshot()["logged"] == 2


def test_processes_append_whole_lines_to_one_log(tmp_path, monkeypatch):
    monkeypatch.setenv(counters.ENV, str(tmp_path))
    path = str(tmp_path / "access.log")
    stats = mw.Stats()
    log = mw.AccessLog(path, stats)

    def burst(who: str) -> None:
        for i in range(300):
            log.write(started=time.perf_counter(), request_id=f"{who}-{i}" + "x" * 200,
                      method="GET", path="/middleware-auth", status=200, subject=who)

    pid = os.fork()
    if pid == 0:  # a second worker of the server
        try:
            burst("child")
        finally:
            os._exit(0)
    burst("parent")
    assert os.waitpid(pid, 0)[1] == 0
    entries = [json.loads(line) for line in open(path)]
    assert len(entries) == 600 == stats.snapshot()["logged"]
    assert sorted(e["subject"] for e in entries) == ["child"] * 300 + ["parent"] * 300


# --- counters -------------------------------------------------------------------------

def test_stats_are_named_in_the_contracts_order_and_summed_over_processes(tmp_path, monkeypatch):
    monkeypatch.setenv(counters.ENV, str(tmp_path))
    stats = mw.Stats()
    stats.count("requests")
    stats.count_id(echoed=False)
    pid = os.fork()
    if pid == 0:
        try:
            stats.count("requests", 2)
            stats.count_id(echoed=True)
            stats.count("timed_out")
        finally:
            os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    snapshot = stats.snapshot()
    assert list(snapshot) == ["category", "requests", "ids_generated", "ids_echoed",
                              "cors_allowed", "auth_ok", "auth_rejected", "rate_limited",
                              "gzipped", "logged", "timed_out"]
    assert snapshot["category"] == "middleware"
    assert (snapshot["requests"], snapshot["ids_generated"], snapshot["ids_echoed"],
            snapshot["timed_out"], snapshot["gzipped"]) == (3, 1, 1, 1, 0)


# --- settings -------------------------------------------------------------------------

@pytest.fixture
def env(monkeypatch):
    """The four variables, restored after the test (configure writes them)."""
    for name in (mw.SECRET_ENV, mw.RATE_ENV, mw.TIMEOUT_ENV, mw.LOG_ENV):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    return monkeypatch


def test_flags_beat_the_environment_which_beats_the_defaults(env, tmp_path):
    env.setenv(mw.RATE_ENV, "7")
    env.setenv(mw.TIMEOUT_ENV, "250")
    log = tmp_path / "given.log"
    settings = mw.configure(jwt_secret="k", request_timeout_ms="500", access_log=str(log))
    assert settings == mw.Settings("k", 7, 500, str(log))
    assert mw.Settings.from_env() == settings  # what every worker reads
    assert log.exists()


def test_without_an_access_log_one_is_made_in_a_temporary_directory(env):
    settings = mw.configure()
    assert (settings.jwt_secret, settings.rate_limit, settings.request_timeout_ms) == \
        (mw.DEFAULT_SECRET, 1_000_000, 1000)
    assert os.path.basename(settings.access_log) == f"middleware-access-{os.getpid()}.log"
    assert os.path.basename(os.path.dirname(settings.access_log)).startswith("bench-middleware-")
    assert os.path.exists(settings.access_log)


@pytest.mark.parametrize("flags", [{"rate_limit": "0"}, {"rate_limit": "fast"},
                                   {"request_timeout_ms": "-5"}, {"jwt_secret": ""},
                                   {"access_log": "/nonexistent-dir/x.log"}])
def test_bad_settings_are_refused(env, flags):
    with pytest.raises(ValueError):
        mw.configure(**flags)


# --- helpers of the layers --------------------------------------------------------------

def test_gzip_is_asked_by_accept_encoding():
    assert mw.accepts_gzip("gzip")
    assert mw.accepts_gzip("deflate, GZIP;q=0.5, br")
    for header in (None, "", "identity", "x-gzip", "gzip;q=0", "deflate, gzip; q=0.0"):
        assert not mw.accepts_gzip(header), header


def test_server_timing_is_milliseconds_with_three_decimals():
    value = mw.server_timing(time.perf_counter() - 0.0125)
    assert re.fullmatch(r"app;dur=\d+\.\d{3}", value)
    assert 12.5 <= float(value.split("=")[1]) < 1000


def test_preflights_need_origin_and_a_requested_method():
    assert mw.is_preflight("OPTIONS", "http://allowed.example", "POST")
    assert not mw.is_preflight("OPTIONS", None, "POST")
    assert not mw.is_preflight("OPTIONS", "http://allowed.example", None)
    assert not mw.is_preflight("GET", "http://allowed.example", "POST")


def test_a_synchronous_deadline_answers_504_while_the_handler_finishes(monkeypatch):
    monkeypatch.delenv(counters.ENV, raising=False)
    stats = mw.Stats()
    deadline = mw.Deadline(50, stats)
    finished = threading.Event()

    def slow() -> str:
        time.sleep(0.3)
        finished.set()
        return "late"

    started = time.monotonic()
    e = refusal(deadline.run, slow)
    waited = time.monotonic() - started
    assert (e.status, e.code) == (504, "timeout") and "50 ms" in e.message
    assert 0.04 < waited < 0.25 and not finished.is_set()
    assert finished.wait(2)
    assert deadline.run(lambda x: x * 2, 21) == 42
    assert stats.snapshot()["timed_out"] == 1


# --- a server of two processes ------------------------------------------------------------

TOKEN = token({"sub": "bench-user", "scope": "read", "exp": future()})


def get(port: int, path: str, headers: dict | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


def stats_of(port: int) -> dict | None:
    try:
        status, body = get(port, "/middleware-stats")
    except OSError:
        return None
    return json.loads(body) if status == 200 else None


@pytest.mark.parametrize("framework", ["flask", "fastapi"])
def test_two_processes_count_and_log_every_request_once(framework, tmp_path):
    port = free_port()
    log = tmp_path / "access.log"
    server = subprocess.Popen([sys.executable, SERVE, framework, "middleware", "--port", str(port),
                               "--workers", "2", "--access-log", str(log)], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        wait_for(lambda: stats_of(port) is not None, f"{framework} did not start")
        wait_for(lambda: len(workers_of(server.pid)) >= 2, f"{framework} started no 2 workers")
        before = stats_of(port)
        auth = {"Authorization": "Bearer " + TOKEN}
        statuses = [get(port, "/middleware-auth", auth)[0] for _ in range(12)]
        statuses += [get(port, "/middleware-heavy?count=0", auth)[0] for _ in range(3)]
        statuses += [get(port, "/middleware-auth")[0] for _ in range(5)]
        assert statuses == [200] * 12 + [422] * 3 + [401] * 5
        after = stats_of(port)
        delta = {name: after[name] - before[name] for name in mw.COUNTERS}
        assert delta == {"requests": 20, "ids_generated": 20, "ids_echoed": 0,
                         "cors_allowed": 0, "auth_ok": 15, "auth_rejected": 5,
                         "rate_limited": 0, "gzipped": 0, "logged": 20, "timed_out": 0}
        entries = [json.loads(line) for line in log.read_text().splitlines()]
        assert [e["status"] for e in entries] == statuses
        assert {e["subject"] for e in entries} == {"bench-user", None}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
