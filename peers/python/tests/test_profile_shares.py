"""scripts/profile_peer.py's reading of py-spy's collapsed stacks: each
sample counts for the layer of its innermost known frame, process lines
are not frames, and the shares cover every sample."""

from __future__ import annotations

import importlib.util
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
_spec = importlib.util.spec_from_file_location(
    "profile_peer", os.path.join(ROOT, "scripts", "profile_peer.py"))
profile_peer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(profile_peer)

PROCESS = 'process 7:"python peers/python/serve.py flask database"'
RAW = "\n".join([
    f"{PROCESS};handle (gunicorn/workers/gthread.py:553);db (flask_peer/database.py:80);"
    "execute (sqlalchemy/orm/session.py:2300);_exec (psycopg/cursor.py:97) 6",
    f"{PROCESS};handle (gunicorn/workers/gthread.py:553);db (flask_peer/database.py:80);"
    "execute (sqlalchemy/orm/session.py:2300) 3",
    f"{PROCESS};handle (gunicorn/workers/gthread.py:553);dispatch (flask/app.py:900) 2",
    f"{PROCESS};run (threading.py:982) 1",
    f"{PROCESS};mystery (somewhere/else.py:1) 1",
    "not a stack line",
])


def test_samples_count_for_their_innermost_known_frame():
    counts, total = profile_peer.shares(RAW)
    assert total == 13
    assert counts == {"driver": 6, "ORM: SQLAlchemy": 3, "framework": 2,
                      "HTTP server and event loop": 1, "other (the standard library)": 1}


def test_a_process_line_is_no_frame():
    assert profile_peer.layer(PROCESS) is None
    assert profile_peer.layer("f (django/db/models/query.py:1)") == "ORM: Django"
    assert profile_peer.layer("f (django/core/handlers/base.py:1)") == "framework"
