"""Removing a temporary directory once this process has ended, however it
ended: exit handlers do not run after `os._exit`, a crash or SIGKILL."""

from __future__ import annotations

import subprocess

# Waits for end of input (its parent is gone: every write end is closed),
# then removes the directory.
_REAPER = 'while read -r _; do :; done; rm -rf -- "$0"'


def remove_when_gone(path: str) -> subprocess.Popen:
    """A tiny `sh` that removes `path` once this process (and every child
    that inherited the pipe) has ended; its own session, so a signal to our
    process group spares it. Closing its `stdin` makes it remove `path` now."""
    return subprocess.Popen(["/bin/sh", "-c", _REAPER, path], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
