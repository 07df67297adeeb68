"""`gate.cores`: the CPUs a pool may use, counted as Rust's
`available_parallelism` counts them (affinity, lowered by a cgroup v2
quota), and the gate's bound."""

from __future__ import annotations

import os
import threading

import pytest

from bench_shared import gate
from bench_shared.errors import ApiError


def fake_root(tmp_path, cpu_max: str | None, cgroup: str = "0::/bench.slice/x\n") -> str:
    (tmp_path / "proc/self").mkdir(parents=True)
    (tmp_path / "proc/self/cgroup").write_text(cgroup)
    if cpu_max is not None:
        (tmp_path / "sys/fs/cgroup/bench.slice/x").mkdir(parents=True)
        (tmp_path / "sys/fs/cgroup/bench.slice/x/cpu.max").write_text(cpu_max)
    return str(tmp_path)


@pytest.mark.parametrize("cpu_max, want", [
    ("max 100000\n", None),
    ("200000 100000\n", 2),
    ("150000 100000\n", 2),  # rounded up, as Rust does
    ("50000 100000\n", 1),
    ("garbage\n", None),
    (None, None),
])
def test_the_cgroup_quota_is_read(tmp_path, cpu_max, want):
    assert gate._cgroup_quota(fake_root(tmp_path, cpu_max)) == want


def test_a_cgroup_v1_process_has_no_quota_read(tmp_path):
    assert gate._cgroup_quota(fake_root(tmp_path, "100000 100000", "4:cpu:/x\n")) is None


def test_cores_is_the_affinity_lowered_by_the_quota(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1, 2, 3})
    monkeypatch.setattr(gate, "_cgroup_quota", lambda: None)
    assert gate.cores() == 4
    monkeypatch.setattr(gate, "_cgroup_quota", lambda: 2)
    assert gate.cores() == 2
    monkeypatch.setattr(gate, "_cgroup_quota", lambda: 8)
    assert gate.cores() == 4
    assert gate.Gate().workers == 4


def test_the_gate_refuses_beyond_workers_and_waiting_room():
    g = gate.Gate(workers=1, max_waiting=1, name="test-gate")
    release = threading.Event()
    running = [g.submit(release.wait), g.submit(release.wait)]
    with pytest.raises(ApiError) as e:
        g.submit(release.wait)
    assert (e.value.status, e.value.code) == (503, "busy")
    release.set()
    assert all(f.result(timeout=5) for f in running)
    assert g.load() == 0
    assert g.run(lambda: 7) == 7
