"""Serving a WSGI app the same way for every synchronous Python peer (Flask,
Django): gunicorn, `workers` processes (one where the stores, the task queue
and analytics live in process memory), the `gthread` worker with `THREADS`
threads each, access log off, keep-alive on. Equal and stated, so the two
frameworks differ only in their own code."""

from __future__ import annotations

from typing import Any, Callable

#: Threads of each gthread worker process, the same for every WSGI peer.
THREADS = 8


def describe() -> str:
    """The configuration in words, for version lines and the registry."""
    import gunicorn

    return f"gunicorn {gunicorn.__version__}, gthread × {THREADS} threads per process"


def serve(factory: Callable[[], Callable[..., Any]], host: str, port: int,
          workers: int = 1) -> None:
    """Runs the app `factory` builds in `workers` processes until
    SIGTERM/SIGINT (gunicorn drains in-flight requests). The factory runs in
    each worker, before it accepts connections, so threads it starts (the
    task queue, the file reaper) live in the process that serves, and state
    is seeded before `/health` answers."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self) -> None:
            settings = {
                "bind": f"{host}:{port}",
                "workers": workers,
                "worker_class": "gthread",
                "threads": THREADS,
                "accesslog": None,
                "errorlog": "-",
                "loglevel": "warning",
                "keepalive": 5,
                "timeout": 120,
                "graceful_timeout": 30,
                # Request line and header bounds like the reference's.
                "limit_request_line": 8190,
                "limit_request_fields": 100,
                "limit_request_field_size": 8190,
            }
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self) -> Callable[..., Any]:
            return factory()

    Server().run()
