"""Makes `bench_shared` and the peer packages importable from the tests,
as `serve.py` does, whatever directory pytest is started from."""

from __future__ import annotations

import os
import sys

PEERS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if PEERS not in sys.path:
    sys.path.insert(0, PEERS)
