"""Equal work: the same operations applied to the Rust crate (`shared`, through
`crates/shared/examples/equal_work.rs`) and to `bench_shared` (through
`replay.py`) must observe the same listings, counts and statistics, leave the
same files on disk and make the same number of fsyncs (`test_fsyncs.py`
holds the servers to it too, request by request), and every listing must
read only its page's records, as the Rust indexes do (the Python replay
counts the records a listing looks up). A Python peer that scanned where
the reference looks up, synced less, kept other records or ordered them
otherwise would be measured on different work.

Scripts are random operation sequences from fixed seeds (uploads of one or
several files, deletes, evictions past a small quota; submits of every type
and priority, delayed tasks, batches, failures with retries, cancels, manual
retries, evictions past a small retention, a full queue), each op followed by
an observation on both sides.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

import pytest

import replay

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
HERE = os.path.dirname(os.path.abspath(__file__))

TYPES = ("computation", "io_operation", "network_request", "data_processing",
         "email_sending", "report_generation")
PRIORITIES = ("low", "normal", "high", "urgent")
STATUSES = ("pending", "running", "completed", "failed", "cancelled", "retrying")
CATEGORIES = ("documents", "images", "batch", "archive")


@pytest.fixture(scope="session")
def rust_replay() -> str:
    """The Rust replay, built (quickly, when `cargo test` already did)."""
    subprocess.run(["cargo", "build", "--quiet", "--locked", "-p", "shared", "--example",
                    "equal_work"], cwd=ROOT, check=True)
    path = os.path.join(ROOT, "target", "debug", "examples", "equal_work")
    assert os.access(path, os.X_OK), path
    return path


def run_rust(binary: str, script: dict, prefix: list[str] | None = None) -> dict:
    done = subprocess.run([*(prefix or []), binary], input=json.dumps(script).encode(),
                          capture_output=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)


def run_python(script: dict, prefix: list[str] | None = None) -> dict:
    done = subprocess.run([*(prefix or []), sys.executable, os.path.join(HERE, "replay.py")],
                          input=json.dumps(script).encode(), capture_output=True, check=False,
                          timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)


def assert_same(script: dict, rust: dict, python: dict) -> None:
    """Observation by observation, naming the first op where they differ."""
    ops = script["ops"]
    assert len(rust["observations"]) == len(python["observations"]) == len(ops)
    for i, (r, p) in enumerate(zip(rust["observations"], python["observations"])):
        assert r == p, (f"op {i} {json.dumps(ops[i])} observed differently\n"
                        f"  rust:   {json.dumps(r, sort_keys=True)}\n"
                        f"  python: {json.dumps(p, sort_keys=True)}")
    assert rust.get("disk") == python.get("disk")


# --- scripts ---------------------------------------------------------------------

def task(rng: random.Random) -> dict:
    return {
        "type": rng.choice(TYPES),
        "priority": rng.choice(PRIORITIES),
        # Delayed tasks wait for hours: they stay pending, to be cancelled.
        "delay": 3600 if rng.random() < 0.15 else 0,
        "max_retries": rng.choice((0, 0, 1, 2)),
        "fail": rng.choice((0, 0, 0, 1, 2, 5)),
        "pad": "x" * rng.choice((0, 10, 200, 600)),
    }


def task_script(seed: int, ops: int = 160) -> dict:
    rng = random.Random(seed)
    submitted = 0
    out: list[dict] = []
    for _ in range(ops):
        roll = rng.random()
        if roll < 0.35:
            out.append({"op": "submit", **task(rng)})
            submitted += 1
        elif roll < 0.45:
            n = rng.randint(1, 6)
            out.append({"op": "batch", "tasks": [task(rng) for _ in range(n)],
                        "parallel": rng.random() < 0.7, "max_concurrent": rng.randint(1, 3)})
            submitted += n
        elif roll < 0.55 and submitted:
            out.append({"op": "cancel", "task": rng.randrange(submitted + 2)})
        elif roll < 0.65 and submitted:
            out.append({"op": "retry", "task": rng.randrange(submitted + 2)})
        elif roll < 0.70 and submitted:
            out.append({"op": "get", "task": rng.randrange(submitted)})
        elif roll < 0.92:
            pick = lambda names: rng.choice(names) if rng.random() < 0.5 else None  # noqa: E731
            out.append({"op": "list", "status": pick(STATUSES), "type": pick(TYPES),
                        "priority": pick(PRIORITIES), "limit": rng.randint(1, 25),
                        "offset": rng.choice((0, 0, 1, 5, 30))})
        else:
            out.append({"op": "stats"})
    out.append({"op": "stats"})
    return {"domain": "tasks", "ops": out,
            "options": {"capacity": 15, "retain_finished": 30,
                        "max_queued_payload_bytes": 2_500}}


def file_script(seed: int, directory: str, ops: int = 120) -> dict:
    rng = random.Random(seed)
    uploaded = 0
    out: list[dict] = []
    for _ in range(ops):
        roll = rng.random()
        if roll < 0.45:
            n = 1 if rng.random() < 0.5 else rng.randint(2, 4)
            out.append({"op": "upload", "category": rng.choice(CATEGORIES),
                        "description": f"upload {uploaded}",
                        "files": [{"size": rng.choice((0, 1, 700, 4096, 9000)),
                                   "seed": rng.randrange(256),
                                   "name": rng.choice(("a.txt", "b.bin", "../c d.png", "é.csv")),
                                   "type": rng.choice(("text/plain", None, "image/png"))}
                                  for _ in range(n)]})
            uploaded += n
        elif roll < 0.58 and uploaded:
            target = rng.randrange(uploaded + 1)
            out.append({"op": "delete", "file": rng.choice((target, "test-file-1"))})
        elif roll < 0.65 and uploaded:
            out.append({"op": "info", "file": rng.randrange(uploaded)})
        elif roll < 0.93:
            out.append({"op": "list",
                        "category": rng.choice((None, None, *CATEGORIES, "nothing-here")),
                        "limit": rng.randint(1, 30), "offset": rng.choice((0, 0, 2, 9, 40))})
        else:
            out.append({"op": "snapshot"})
    out.append({"op": "snapshot"})
    out.append({"op": "list", "category": None, "limit": 100, "offset": 0})
    return {"domain": "files", "ops": out,
            "options": {"dir": directory, "max_stored_files": 12,
                        "max_stored_bytes": 60_000, "max_file_bytes": 8_192}}


# --- the comparisons -----------------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_task_queue_observes_the_same(rust_replay: str, seed: int) -> None:
    script = task_script(seed)
    assert_same(script, run_rust(rust_replay, script), run_python(script))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_file_store_observes_the_same(rust_replay: str, seed: int) -> None:
    with tempfile.TemporaryDirectory() as rust_dir, tempfile.TemporaryDirectory() as py_dir:
        rust = run_rust(rust_replay, file_script(seed, rust_dir))
        script = file_script(seed, py_dir)
        assert_same(script, rust, run_python(script))


def test_percentiles_are_the_same_floats(rust_replay: str) -> None:
    """The same durations give bit-identical percentiles: both keep the same
    histogram (a sort of the window would give other values)."""
    rng = random.Random(7)
    ops = []
    for _ in range(40):
        ops.append({"push_micros": [rng.choice((rng.randrange(40), rng.randrange(5_000_000),
                                                rng.randrange(1 << 40)))
                                    for _ in range(rng.randint(0, 90))]})
    script = {"domain": "window", "ops": ops}
    assert_same(script, run_rust(rust_replay, script), run_python(script))


def test_password_hashes_are_the_same_strings(rust_replay: str) -> None:
    """The same password and salt give the same PHC string on both sides
    (argon2id, the reference's cost), and each side verifies the other's."""
    rng = random.Random(5)
    alphabet = "abcXYZ019 !$é漢🙂"
    cases = [("".join(rng.choice(alphabet) for _ in range(rng.randint(8, 40))),
              bytes(rng.randrange(256) for _ in range(16)).hex()) for _ in range(6)]
    options = {"memory_kib": 19_456, "iterations": 2, "parallelism": 1}
    ops = [{"password": p, "salt_hex": s} for p, s in cases]
    script = {"domain": "hash", "options": options, "ops": ops}
    rust, python = run_rust(rust_replay, script), run_python(script)
    assert_same(script, rust, python)
    assert all(o["hash"].startswith("$argon2id$v=19$m=19456,t=2,p=1$")
               for o in rust["observations"])
    # Each side checks the other's hashes, and refuses a wrong password.
    checks = []
    for (password, _), o in zip(cases, python["observations"]):
        checks += [{"verify": o["hash"], "password": password},
                   {"verify": o["hash"], "password": password + "x"}]
    script = {"domain": "hash", "options": options, "ops": checks}
    for side in (run_rust(rust_replay, script), run_python(script)):
        assert [o["verified"] for o in side["observations"]] == [True, False] * len(cases)


def strace() -> str:
    path = shutil.which("strace")
    assert path, "strace is needed (scripts/test.sh installs it: apt-get install -y strace)"
    return path


def fsyncs(summary: str) -> int:
    """Calls of fsync and fdatasync in an `strace -c` summary."""
    total = 0
    for line in open(summary, encoding="utf-8"):
        parts = line.split()
        if parts and parts[-1] in ("fsync", "fdatasync"):
            total += int(parts[3])
    return total


def test_the_file_store_syncs_as_often(rust_replay: str) -> None:
    """Uploads of one and several files, deletes and evictions: the same
    fsync and fdatasync calls on both sides (the batch intent record, the
    directory syncs of deletes and evictions included)."""
    tracer = strace()
    counts = []
    with tempfile.TemporaryDirectory() as work:
        for side in ("rust", "python"):
            directory = os.path.join(work, side)
            summary = os.path.join(work, f"{side}.strace")
            script = file_script(11, directory, ops=80)
            prefix = [tracer, "-f", "-c", "-o", summary, "-e", "trace=fsync,fdatasync"]
            seen = (run_rust(rust_replay, script, prefix) if side == "rust"
                    else run_python(script, prefix))
            counts.append((fsyncs(summary), seen))
    (rust_syncs, rust), (py_syncs, python) = counts
    assert rust["observations"] == python["observations"]
    assert rust_syncs >= 40, f"the script should sync: {rust_syncs}"
    assert py_syncs == rust_syncs, f"fsyncs: python {py_syncs}, rust {rust_syncs}"
