"""Bounds as the reference's: a payload's size as serde_json's compact JSON,
the 64 KiB payload and 2,048-byte URL bounds (422), the queue's capacity
and byte budget (429), and the URLs network tasks may reach."""

from __future__ import annotations

import json

import pytest

from bench_shared.errors import ApiError
from bench_shared.tasks import Priority, Queue, QueueOptions, TaskSpec, TaskType
from bench_shared.tasks.model import payload_bytes
from bench_shared.tasks.request import MAX_PAYLOAD_BYTES, MAX_URL_BYTES, failures, task_spec
from bench_shared.tasks.target import LOOPBACK_ONLY_MESSAGE, UrlRefused, parse_target


@pytest.mark.parametrize("payload,serde", [
    ({}, "{}"),
    ({"iterations": 1000}, '{"iterations":1000}'),
    ({"a": [1, 2.5, None, True, "x"]}, '{"a":[1,2.5,null,true,"x"]}'),
    ({"é": "ü\u20ac\U0001f600"}, '{"é":"ü\u20ac\U0001f600"}'),
    ({"s": 'q"\\\n\t\x01\x7f/'}, '{"s":"q\\"\\\\\\n\\t\\u0001\x7f/"}'),
    # Floats: serde_json's fixed notation reaches 1e-5, its exponents are
    # not padded.
    ({"f": 1e-5, "g": -1.5e-5}, '{"f":0.00001,"g":-0.000015}'),
    ({"f": 1e-7, "g": 2.5e-10, "h": 1e-100}, '{"f":1e-7,"g":2.5e-10,"h":1e-100}'),
    ({"f": 1e15, "g": 1e16, "h": 1.5e300}, '{"f":1000000000000000.0,"g":1e+16,"h":1.5e+300}'),
    ({"f": 0.1, "g": -0.0, "h": 123.0}, '{"f":0.1,"g":-0.0,"h":123.0}'),
    # Integers beyond 64 bits are floats to serde_json.
    ({"u": (1 << 64) - 1, "i": -(1 << 63)}, '{"u":18446744073709551615,"i":-9223372036854775808}'),
    ({"u": 1 << 64, "i": -(1 << 63) - 1, "n": 10**20},
     '{"u":1.8446744073709552e+19,"i":-9.223372036854776e+18,"n":1e+20}'),
    # Strings that look like numbers are strings.
    ({"s": "1e-05 and 12345678901234567890"}, '{"s":"1e-05 and 12345678901234567890"}'),
])
def test_payload_bytes_are_serde_jsons(payload, serde):
    assert payload_bytes(payload) == len(serde.encode("utf-8"))


def _email(data_bytes: int) -> dict:
    """An email payload whose compact JSON is exactly `data_bytes` + 29 bytes."""
    return {"recipients": ["a@b.org"], "data": {"x": "y" * data_bytes}}


def test_payloads_are_bounded_at_64_kib_as_compact_json():
    base = payload_bytes(_email(0))
    fits = _email(MAX_PAYLOAD_BYTES - base)
    assert payload_bytes(fits) == MAX_PAYLOAD_BYTES
    assert task_spec({"task_type": "email_sending", "payload": fits}).payload is fits
    over = _email(MAX_PAYLOAD_BYTES - base + 1)
    with pytest.raises(ApiError) as refused:
        task_spec({"task_type": "email_sending", "payload": over, "max_retries": 11})
    e = refused.value
    assert (e.status, e.code) == (422, "validation_failed")
    assert [(d.field, d.code) for d in e.details] == [("payload", "too_large"),
                                                     ("max_retries", "range")]
    assert e.details[0].message == (
        f"must be at most 65536 bytes as JSON (is {MAX_PAYLOAD_BYTES + 1}, most of it in "
        "`data`)")
    # In a batch, under the task's path, whatever the task's type.
    found = failures({"tasks": [{"task_type": "computation"},
                                {"task_type": "mining", "payload": {"b": "x" * 70_000}}]}, True)
    assert [(f.field, f.code) for f in found] == [("tasks[1].task_type", "one_of"),
                                                  ("tasks[1].payload", "too_large")]


def test_the_largest_field_is_the_last_of_equals_in_key_order():
    payload = {"zz": "x" * 40_000, "aa": "y" * 40_000, "mm": "z" * 100}
    found = failures({"task_type": "email_sending", "payload": payload}, False)
    assert [f.code for f in found][-1] == "too_large"
    assert found[-1].message.endswith("most of it in `zz`)")


def test_urls_are_bounded_at_2048_bytes():
    fits = "/" + "a" * (MAX_URL_BYTES - 1)
    assert task_spec({"task_type": "network_request", "payload": {"url": fits}})
    for long in ("/" + "a" * MAX_URL_BYTES, "/" + "é" * 1024):
        found = failures({"task_type": "network_request", "payload": {"url": long}}, False)
        assert [(f.field, f.code, f.message) for f in found] == [
            ("payload.url", "too_long", "must be at most 2048 bytes long")]
    found = failures({"task_type": "network_request", "payload": {"url": 5}}, False)
    assert [(f.field, f.code) for f in found] == [("payload.url", "invalid_type")]


# --- the queue's capacity and byte budget ---------------------------------------


def _spec(blob: str = "", priority: Priority = Priority.NORMAL) -> TaskSpec:
    return TaskSpec(TaskType.EMAIL_SENDING, priority, {"data": {"blob": blob}}, 0, 0, 60)


def _refusal(call) -> tuple[int, str, str]:
    with pytest.raises(ApiError) as refused:
        call()
    return refused.value.status, refused.value.code, refused.value.message


def test_the_byte_budget_refuses_without_dropping_anything():
    one = payload_bytes(_spec("x" * 100).payload)
    q = Queue(QueueOptions(workers=1, max_queued_payload_bytes=3 * one), lambda t, s: {})
    ids = [q.submit(_spec("x" * 100))["id"] for _ in range(3)]
    assert q.stats()["queued_payload_bytes"] == 3 * one
    assert _refusal(lambda: q.submit(_spec())) == (
        429, "queue_bytes_full", f"the queued payloads would exceed {3 * one} bytes")
    # A batch is refused whole, and counted whole.
    assert _refusal(lambda: q.submit_batch([_spec(), _spec()], True, 2))[1] == "queue_bytes_full"
    s = q.stats()
    assert (s["submitted"], s["rejected"], s["active"]) == (3, 3, 3)
    # A finished task makes room; its retry needs the room again.
    q.cancel(ids[0])
    assert q.stats()["queued_payload_bytes"] == 2 * one
    filler = q.submit(_spec("x" * 100))["id"]
    assert _refusal(lambda: q.retry(ids[0]))[1] == "queue_bytes_full"
    q.cancel(filler)
    assert q.retry(ids[0])["status"] == "pending"
    assert q.stats()["queued_payload_bytes"] == 3 * one


def test_capacity_is_checked_before_bytes_and_closing_before_both():
    q = Queue(QueueOptions(workers=1, capacity=1, max_queued_payload_bytes=10), lambda t, s: {})
    assert _refusal(lambda: q.submit(_spec("x" * 100)))[1] == "queue_bytes_full"
    q.submit(TaskSpec(TaskType.COMPUTATION, Priority.LOW, {}, 0, 0, 60))
    assert _refusal(lambda: q.submit(_spec("x" * 100))) == (
        429, "queue_full", "the queue is full (1 unfinished tasks)")
    q.close()
    assert _refusal(lambda: q.submit(_spec()))[:2] == (503, "shutting_down")
    assert q.stats()["rejected"] == 2


# --- URLs -------------------------------------------------------------------------


@pytest.mark.parametrize("url,host,port,path", [
    ("/health", None, None, "/health"),
    ("/a/./b/../c?x=é&y=<'>#frag", None, None, "/a/c?x=%C3%A9&y=%3C%27%3E"),
    ("/a/%2E%2e/b/.", None, None, "/b/"),
    ("/ü{}", None, None, "/%C3%BC%7B%7D"),
    ("http://127.0.0.1:8300/health", "127.0.0.1", 8300, "/health"),
    ("http://127.0.0.1:8300#.x.example/", "127.0.0.1", 8300, "/"),
    ("http://127.0.0.1:8300?q", "127.0.0.1", 8300, "/?q"),
    ("HTTP://LocalHost:80/x", "localhost", None, "/x"),
    ("http://[::1]:80/", "[::1]", None, "/"),
    ("http://[0:0:0:0:0:0:0:1]:9/", "[::1]", 9, "/"),
    ("http://127.1.2.3", "127.1.2.3", None, "/"),
    ("http://127.1/", "127.0.0.1", None, "/"),
    ("http://0x7f.1:81/", "127.0.0.1", 81, "/"),
    ("http://2130706433/", "127.0.0.1", None, "/"),
    ("http:\\\\localhost\\a\\b", "localhost", None, "/a/b"),
    ("http://@localhost/", "localhost", None, "/"),
])
def test_network_urls_of_this_machine(url, host, port, path):
    target = parse_target(url)
    assert (target.host, target.port, target.path) == (host, port, path)


@pytest.mark.parametrize("url,code", [
    ("https://example.com", "loopback_only"),
    ("http://example.com", "loopback_only"),
    ("http://10.0.0.1/", "loopback_only"),
    ("http://127.0.0.1@evil.com/", "invalid_url"),
    ("http://localhost.evil.com/", "loopback_only"),
    ("http://localhost./", "loopback_only"),
    ("ftp://127.0.0.1/", "loopback_only"),
    ("//evil.com/x", "loopback_only"),
    ("/\\evil.com", "loopback_only"),
    ("http://[::2]/", "loopback_only"),
    ("http://[::ffff:127.0.0.1]/", "loopback_only"),
    ("mailto:a@localhost", "loopback_only"),
    ("/health\r\nX-Injected: 1", "invalid_url"),
    ("/health HTTP/1.1", "invalid_url"),
    ("/a\tb", "invalid_url"),
    ("http://localhost/a\nb", "invalid_url"),
    ("http://127.0.0.1/\x7f", "invalid_url"),
    ("http://127.0.0.1/\u00a0", "invalid_url"),
    (" /health", "invalid_url"),
    ("/health ", "invalid_url"),
    ("http://localhost:99999/", "invalid_url"),
    ("http://localhost:8a/", "invalid_url"),
    ("http://user@localhost/", "invalid_url"),
    ("http://:pw@localhost/", "invalid_url"),
    ("http://", "invalid_url"),
    ("http://[::1/", "invalid_url"),
    ("http://256.0.0.1/", "invalid_url"),
    ("http://1.2.3.4.5/", "invalid_url"),
    ("http://loc%zzal/", "invalid_url"),
    ("localhost:8080", "loopback_only"),
    ("health", "invalid_url"),
])
def test_network_urls_refused(url, code):
    with pytest.raises(UrlRefused) as refused:
        parse_target(url)
    assert refused.value.code == code
    if code == "loopback_only":
        assert refused.value.message == LOOPBACK_ONLY_MESSAGE
    found = failures({"task_type": "network_request", "payload": {"url": url}}, False)
    assert [(f.field, f.code) for f in found] == [("payload.url", code)]


def test_a_refused_url_is_reported_with_every_other_failure():
    body = json.loads('{"task_type": "network_request", "priority": "asap",'
                      ' "payload": {"url": "http://user@localhost/", "x": 1}}')
    assert [(f.field, f.code) for f in failures(body, False)] == [
        ("priority", "one_of"), ("payload.x", "unknown_field"), ("payload.url", "invalid_url")]
