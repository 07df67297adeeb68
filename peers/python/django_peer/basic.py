"""The basic category in Django: plain text, JSON, path and query
parameters, echo, DRF serializer validation and chunked streams
(`StreamingHttpResponse`)."""

from __future__ import annotations

import re

from django.http import HttpResponse, StreamingHttpResponse
from django.urls import path
from rest_framework import serializers
from rest_framework.decorators import api_view

from bench_shared import basic, http

from . import common
from .common import (
    StrictBool,
    StrictDict,
    StrictFloat,
    StrictInt,
    StrictList,
    StrictStr,
    json,
    query,
)

MAX_BODY_BYTES = 1 << 20
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z")
uptime = http.Uptime()


def _words() -> StrictList:
    return StrictList(child=StrictStr(min_length=1, max_length=50), max_length=20,
                      required=False, allow_null=True, default=None)


class BenchmarkUserSerializer(serializers.Serializer):
    id = StrictInt(min_value=1, max_value=1_000_000_000)
    name = StrictStr(min_length=1, max_length=100)
    email = StrictStr(validators=[serializers.RegexField(EMAIL).validators[-1]])
    age = StrictInt(min_value=0, max_value=150, required=False, allow_null=True, default=None)
    is_active = StrictBool(default=True)
    tags = _words()
    metadata = StrictDict(child=StrictStr(), max_length=20, required=False, allow_null=True,
                          default=None)


class BenchmarkProductSerializer(serializers.Serializer):
    name = StrictStr(min_length=1, max_length=200)
    price = StrictFloat(gt=0, le=1_000_000)
    category = StrictStr(min_length=1, max_length=50)
    description = StrictStr(max_length=1000, required=False, allow_null=True, default=None)
    in_stock = StrictBool(default=True)
    variants = _words()


@api_view(["GET"])
def hello(request):
    return HttpResponse("Hello, World!", content_type="text/plain; charset=utf-8")


@api_view(["GET"])
def health(request):
    return json({"status": "ok", "category": "basic", "uptime_seconds": uptime.seconds()})


@api_view(["GET"])
def message(request):
    return json({"message": "Hello, World!"})


@api_view(["GET"])
def user(request, user_id: str):
    uid = basic.known_user(http.path_uint("id", user_id))
    return json(basic.user_record(uid))


@api_view(["GET"])
def users(request):
    limit, offset = basic.page_params(query(request))
    return HttpResponse(basic.users_page_json(limit, offset), content_type="application/json")


@api_view(["GET"])
def user_profile(request, user_id: str):
    uid = basic.known_user(http.path_uint("id", user_id))
    return json(basic.profile(uid))


@api_view(["POST"])
def echo(request):
    body = common.read_json_bytes(request, MAX_BODY_BYTES)
    return json({"echo": http.parse_json(body), "received_bytes": len(body)})


@api_view(["POST"])
def validate_user(request):
    data = common.json_value(request, MAX_BODY_BYTES)
    s = common.checked(BenchmarkUserSerializer, data)
    return json({"valid": True, "user": s.data})


@api_view(["POST"])
def validate_product(request):
    data = common.json_value(request, MAX_BODY_BYTES)
    s = common.checked(BenchmarkProductSerializer, data)
    return json({"valid": True, "product": s.data})


@api_view(["GET"])
def search(request):
    return json({"valid": True, "params": basic.search_params(query(request))})


def _encoded(chunks):
    for chunk in chunks:
        yield chunk.encode()


@api_view(["GET"])
def stream_json(request):
    count = basic.stream_count(query(request))
    return StreamingHttpResponse(_encoded(basic.json_stream_chunks(count)),
                                 content_type="application/json")


@api_view(["GET"])
def stream_csv(request):
    count = basic.stream_count(query(request))
    return StreamingHttpResponse(_encoded(basic.csv_chunks(count)),
                                 content_type="text/csv; charset=utf-8")


urlpatterns = [
    path("", hello),
    path("health", health),
    path("json", message),
    path("user/<str:user_id>", user),
    path("users", users),
    path("user/<str:user_id>/profile", user_profile),
    path("echo", echo),
    path("validate/user", validate_user),
    path("validate/product", validate_product),
    path("search/validate", search),
    path("stream/json", stream_json),
    path("stream/csv", stream_csv),
]

handler404 = common.handler404
handler500 = common.handler500
handler400 = common.handler400
