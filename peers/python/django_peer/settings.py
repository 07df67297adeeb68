"""The one settings module of the peer, production-style: no debug, no
sessions/auth/admin, only the middleware the contract needs; a database,
the `rows` app and templates only in the database category. The category
is chosen at start (`django_peer.serve` sets `DJANGO_PEER_MODULE`), and
`ROOT_URLCONF` is that category's module."""

from __future__ import annotations

import os

_MODULE = os.environ.get("DJANGO_PEER_MODULE", "basic")
_BODY_LIMITS = {
    "basic": 1 << 20,
    "validation": 2 * 1024 * 1024,
    "file_operations": 256 * 1024 * 1024,
    "background_tasks": 1 << 20,
    "real_world": 1 << 20,
    "database": 1 << 20,
    "middleware": 4096,
}

DEBUG = False
SECRET_KEY = "bench-django-peer-not-secret"  # nothing is signed: no sessions, no CSRF
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = f"django_peer.{_MODULE}"
WSGI_APPLICATION = None

# No database, no models: the state lives in bench_shared's in-process stores
# (but in the database category, below).
DATABASES: dict = {}
INSTALLED_APPS = ["rest_framework"]
MIDDLEWARE = ["django_peer.common.ContractMiddleware"]
TEMPLATES: list = []

if _MODULE == "database":
    from django_peer.rows.config import database_settings

    DATABASES = {"default": database_settings()}
    INSTALLED_APPS = ["rest_framework", "django_peer.rows"]
    TEMPLATES = [{
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [os.path.join(os.path.dirname(__file__), "templates")],
        "OPTIONS": {"context_processors": []},
    }]

if _MODULE == "middleware":
    # The category's stacks, outermost first (django_peer/middleware.py):
    # each of the peer's classes acts on its route group only, as
    # django-cors-headers acts on CORS_URLS_REGEX's paths.
    from bench_shared import middleware as _mw

    INSTALLED_APPS = ["rest_framework", "corsheaders"]
    MIDDLEWARE = [
        "django_peer.middleware.TimingMiddleware",
        "django_peer.common.ContractMiddleware",
        "django_peer.middleware.RequestIdMiddleware",
        "django_peer.middleware.CountingMiddleware",
        "django_peer.middleware.AccessLogMiddleware",
        "django_peer.middleware.SecurityHeadersMiddleware",
        "django_peer.middleware.CountedCorsMiddleware",
        "django_peer.middleware.HeavyGZipMiddleware",
        "django_peer.middleware.BearerAuthMiddleware",
        "django_peer.middleware.RateLimitMiddleware",
        "django_peer.middleware.TimeoutMiddleware",
    ]
    CORS_URLS_REGEX = _mw.HEAVY_REGEX
    CORS_ALLOWED_ORIGINS = list(_mw.CORS_ORIGINS)
    CORS_ALLOW_METHODS = list(_mw.CORS_METHODS)
    CORS_ALLOW_HEADERS = list(_mw.CORS_HEADERS)
    CORS_EXPOSE_HEADERS = list(_mw.CORS_EXPOSE)
    CORS_PREFLIGHT_MAX_AGE = _mw.CORS_MAX_AGE
    CORS_ALLOW_CREDENTIALS = False

USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False
APPEND_SLASH = False
PREPEND_WWW = False

# Bodies are read as streams by the views, which refuse what is too large
# with the contract's 413; Django's own limits are set to the same bound so
# that nothing reaches `request.body`/`request.POST` beyond it (and the
# middleware maps Django's RequestDataTooBig to the same 413).
DATA_UPLOAD_MAX_MEMORY_SIZE = _BODY_LIMITS.get(_MODULE, 1 << 20)
FILE_UPLOAD_MAX_MEMORY_SIZE = 0
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
DATA_UPLOAD_MAX_NUMBER_FILES = 100

# Django's default logging: with DEBUG off its console handler is silent and
# no ADMINS get mail; the `django.request` warnings for every 4xx are dropped.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {"django.request": {"level": "ERROR"}},
}
DEFAULT_CHARSET = "utf-8"

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_THROTTLE_CLASSES": [],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "django_peer.common.JSONOnly",
    "EXCEPTION_HANDLER": "django_peer.common.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "UNAUTHENTICATED_TOKEN": None,
    "COERCE_DECIMAL_TO_STRING": True,
    "UNICODE_JSON": True,
    "COMPACT_JSON": True,
    "STRICT_JSON": True,
}
