"""The Django peer: one URLconf per category on Django 5.2 + Django REST
framework (serializers for validation, `@api_view` views), served by
gunicorn through `wsgi_server` (`workers` processes of gthread threads,
access log off).

The category is chosen before `django.setup()`: `settings.py` reads it from
the environment and points `ROOT_URLCONF` at that category's module."""

from __future__ import annotations

import importlib
import os

#: gunicorn runs several worker processes (`serve.py --workers`).
MULTI_PROCESS = True

APPS = {
    "basic": "basic",
    "validation": "validation",
    "file_operations": "file_operations",
    "background_tasks": "background_tasks",
    "real_world_scenarios": "real_world",
    "database": "database",
    "async_operations": "async_operations",
    "middleware": "middleware",
}

#: The environment variable naming the category module `settings` routes to.
CATEGORY_ENV = "DJANGO_PEER_MODULE"


def version() -> str:
    import django
    import rest_framework

    import wsgi_server

    return (f"django {django.__version__} (djangorestframework {rest_framework.VERSION}, "
            f"{wsgi_server.describe()})")


def _setup(category: str) -> None:
    os.environ[CATEGORY_ENV] = APPS[category]
    os.environ["DJANGO_SETTINGS_MODULE"] = f"{__name__}.settings"
    import django

    django.setup(set_prefix=False)


def prepare_database(location) -> str:
    """Migrates and seeds the database through the ORM (once, before the
    workers start); gives the engine's name and version."""
    _setup("database")
    from .rows.seeding import prepare

    return prepare()


def serve(category: str, host: str, port: int, workers: int = 1) -> None:
    from django.core.wsgi import get_wsgi_application

    import wsgi_server

    _setup(category)

    def app():
        # In gunicorn's worker, before it accepts connections: the category's
        # URLconf and with it its state (stores, the task queue's threads;
        # threads started in the master would not survive the fork).
        from django.conf import settings

        application = get_wsgi_application()
        importlib.import_module(settings.ROOT_URLCONF)
        return application

    wsgi_server.serve(app, host, port, workers)
