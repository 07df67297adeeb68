"""What every category of the Django peer shares: the contract's error form
for every failure (our `ApiError`, DRF's exceptions and serializer errors,
Django's 404/500 and RequestDataTooBig), a content negotiation that always
answers JSON, bodies read from the request stream with the contract's limits,
strict DRF serializer fields (exact JSON types, as the reference's serde
models) and the serializer errors turned into field paths (`items[2].quantity`)."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, Callable, Iterator, Mapping

from django.core.exceptions import RequestDataTooBig
from django.db.utils import DatabaseError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response
from rest_framework.settings import api_settings

from bench_shared import errors, http
from bench_shared.db import failures
from bench_shared.errors import ApiError, FieldError
from bench_shared.validation.rules import json_type


# ------------------------------------------------------------------ responses


def error_response(e: ApiError) -> JsonResponse:
    """The contract's error body, with the error's headers."""
    response = JsonResponse(e.body(), status=e.status)
    for name, value in e.headers.items():
        response[name] = value
    return response


class ContractMiddleware:
    """Sets Content-Length on sized responses, and turns an `ApiError` (or a
    fault) raised by a plain Django view, or by a streaming body being set
    up, into the contract's JSON; Django's own RequestDataTooBig becomes
    the contract's 413."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # A sized body is sent with Content-Length, never chunked (Django's
        # CommonMiddleware would do this, with checks the peer does not need).
        if not response.streaming and not response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
        return response

    def process_exception(self, request, exception: Exception):
        if isinstance(exception, ApiError):
            return error_response(exception)
        if isinstance(exception, RequestDataTooBig):
            from django.conf import settings

            return error_response(errors.payload_too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE))
        if isinstance(exception, Http404):
            return error_response(errors.not_found("no such route"))
        if isinstance(exception, DatabaseError):
            return error_response(failures.translate(exception))
        return error_response(errors.fault(exception))


def handler404(request, exception=None) -> JsonResponse:
    return error_response(errors.not_found("no such route"))


def handler500(request) -> JsonResponse:
    return error_response(errors.fault())


def handler400(request, exception=None) -> JsonResponse:
    return error_response(errors.bad_request("bad_request", str(exception or "bad request")))


class JSONOnly(BaseContentNegotiation):
    """Every answer is JSON, whatever `Accept` says (no browsable API)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _allow(view) -> str:
    """The view's methods, as DRF writes them in `Allow` (it answers
    OPTIONS itself, so that is listed too)."""
    return ", ".join(getattr(view, "allowed_methods", []))


def exception_handler(exc: Exception, context: dict) -> Response:
    """DRF's EXCEPTION_HANDLER: every failure in the contract's form (DRF's
    own 405/415/400/404 bodies differ from it)."""
    if isinstance(exc, ApiError):
        e = exc
    elif isinstance(exc, drf.MethodNotAllowed):
        e = errors.method_not_allowed(_allow(context.get("view")))
    elif isinstance(exc, drf.UnsupportedMediaType):
        e = errors.unsupported_media_type("application/json")
    elif isinstance(exc, drf.ParseError):
        e = errors.malformed_json(f"malformed JSON: {exc.detail}")
    elif isinstance(exc, (drf.NotFound, Http404)):
        e = errors.not_found(str(getattr(exc, "detail", "not found")))
    elif isinstance(exc, drf.ValidationError):
        e = errors.validation(details(exc.detail))
    elif isinstance(exc, RequestDataTooBig):
        from django.conf import settings

        e = errors.payload_too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    elif isinstance(exc, drf.APIException):
        e = ApiError(exc.status_code, exc.default_code, str(exc.detail))
    elif isinstance(exc, DatabaseError):
        e = failures.translate(exc)
    else:
        e = errors.fault(exc)
    return Response(e.body(), status=e.status, headers=e.headers)


def json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(data, status=status, headers=headers)


# ---------------------------------------------------------------- requests


def query(request) -> dict[str, str]:
    """The query parameters, the first value of each."""
    return {name: values[0] for name, values in request.GET.lists()}


def header(request, name: str) -> str | None:
    return request.headers.get(name)


def body_chunks(request) -> Iterator[bytes]:
    """The request body as it arrives: Django's stream bounded by
    Content-Length, or the server's de-chunked input when the body is sent
    chunked (Django would read nothing of it)."""
    raw = request._request if hasattr(request, "_request") else request
    meta = raw.META
    if meta.get("CONTENT_LENGTH"):
        read = raw.read
    elif "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower():
        read = meta["wsgi.input"].read
    else:
        return
    while True:
        chunk = read(http.READ_SIZE)
        if not chunk:
            return
        yield chunk


def read_body(request, limit: int) -> bytes:
    """The whole body; 413 past `limit` (declared or read), after draining."""
    return http.read_limited(body_chunks(request), request.META.get("CONTENT_LENGTH"), limit)


def bodiless(request) -> bool:
    """Whether the request has no body at all (`http.is_bodiless`)."""
    return http.bodiless(request.headers.get)


def read_json_bytes(request, limit: int) -> bytes:
    """The body of a JSON request: 415 unless declared JSON, 413 past `limit`."""
    meta = request.META
    return http.read_json(meta.get("CONTENT_TYPE"), body_chunks(request),
                          meta.get("CONTENT_LENGTH"), limit)


def client_address(request) -> str | None:
    """The client's IP address as the server saw the connection (WSGI's
    `REMOTE_ADDR`; None when unknown)."""
    return request.META.get("REMOTE_ADDR") or None


def json_value(request, limit: int, parse: Callable[[bytes], Any] = http.parse_json) -> Any:
    """The JSON value of the body: 415, 413, 400 as the contract says."""
    return parse(read_json_bytes(request, limit))


# ------------------------------------------------------- serializer errors

# DRF error codes → the contract's field codes (as the FastAPI peer maps
# pydantic's).
CODES = {
    "required": "required",
    "null": "required",
    "blank": "length",
    "min_length": "length",
    "max_length": "length",
    "empty": "length",
    "min_value": "range",
    "max_value": "range",
    "max_digits": "range",
    "max_whole_digits": "range",
    "max_decimal_places": "decimal_places",
    "invalid_choice": "one_of",
    "not_a_list": "type",
    "not_a_dict": "type",
}


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def details(detail: Any, path: str = "") -> list[FieldError]:
    """DRF's nested error detail flattened: every failing field with its path."""
    out: list[FieldError] = []
    _flatten(detail, path, out)
    return out


def _flatten(detail: Any, path: str, out: list[FieldError]) -> None:
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key == api_settings.NON_FIELD_ERRORS_KEY:
                _flatten(value, path, out)
            else:
                _flatten(value, _join(path, key), out)
    elif isinstance(detail, list):
        if any(isinstance(d, (dict, list)) for d in detail):
            for index, item in enumerate(detail):
                if item:
                    _flatten(item, _join(path, index), out)
        else:
            for d in detail:
                _flatten(d, path, out)
    else:
        code = getattr(detail, "code", None) or "invalid"
        message = str(detail)
        if code == "null":
            message = "must not be null"
        out.append(FieldError(path, CODES.get(code, code), message))


def check(serializer_class: type[serializers.Serializer], data: Any,
          context: dict | None = None) -> dict:
    """`data` validated by the serializer: its validated data, or a 422
    naming every failing field."""
    s = serializer_class(data=data, context=context or {})
    if not s.is_valid():
        raise errors.validation(details(s.errors))
    return s.validated_data


def checked(serializer_class: type[serializers.Serializer], data: Any,
            context: dict | None = None) -> serializers.Serializer:
    """The valid serializer (for `.data`), or a 422."""
    s = serializer_class(data=data, context=context or {})
    if not s.is_valid():
        raise errors.validation(details(s.errors))
    return s


# ----------------------------------------------------------- strict fields


def fail(code: str, message: str) -> serializers.ValidationError:
    return serializers.ValidationError(message, code=code)


def bounds(gt: Any = None, ge: Any = None, lt: Any = None, le: Any = None) -> Callable:
    """A validator for exclusive or inclusive bounds (code `range`)."""

    def check_bounds(value: Any) -> None:
        if gt is not None and not value > gt:
            raise fail("range", f"must be greater than {gt}")
        if ge is not None and not value >= ge:
            raise fail("range", f"must be at least {ge}")
        if lt is not None and not value < lt:
            raise fail("range", f"must be less than {lt}")
        if le is not None and not value <= le:
            raise fail("range", f"must be at most {le}")

    return check_bounds


class NullIsDefault:
    """`null` stands for the field's default (as when it is left out)."""

    def validate_empty_values(self, data):
        if data is None:
            return True, self.get_default()
        return super().validate_empty_values(data)


class StrictInt(serializers.IntegerField):
    """A JSON integer (not a boolean, a float or a numeric string)."""

    default_error_messages = {"type": "expected an integer, got {kind}"}

    def to_internal_value(self, data):
        if type(data) is not int:
            self.fail("type", kind=json_type(data))
        return data

    def to_representation(self, value):
        return value


class StrictFloat(serializers.FloatField):
    """A JSON number (an integer or a fraction), finite."""

    default_error_messages = {"type": "expected a number, got {kind}",
                              "finite": "number is out of range"}

    def __init__(self, *, gt=None, ge=None, lt=None, le=None, **kwargs):
        super().__init__(**kwargs)
        if any(b is not None for b in (gt, ge, lt, le)):
            self.validators.append(bounds(gt, ge, lt, le))

    def to_internal_value(self, data):
        kind = type(data)
        if kind is bool or not isinstance(data, (int, float, Decimal)):
            self.fail("type", kind=json_type(data))
        try:
            value = float(data)
        except OverflowError:
            self.fail("finite")
        if not math.isfinite(value):
            self.fail("finite")
        return value


class StrictStr(serializers.CharField):
    """A JSON string, kept as sent (no trimming; blank allowed unless a
    minimum length says otherwise)."""

    default_error_messages = {"type": "expected a string, got {kind}"}

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        # CharField skips its validators for "": blank is refused here when
        # a minimum length would refuse it.
        kwargs.setdefault("allow_blank", not kwargs.get("min_length"))
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if type(data) is not str:
            self.fail("type", kind=json_type(data))
        return data


class StrictBool(serializers.BooleanField):
    """`true` or `false`."""

    default_error_messages = {"type": "expected a boolean, got {kind}"}

    def to_internal_value(self, data):
        if type(data) is not bool:
            self.fail("type", kind=json_type(data))
        return data


class StrictDict(serializers.DictField):
    """A JSON object (keys kept as sent), at most `max_length` entries."""

    default_error_messages = {"max_length": "must have at most {max_length} entries"}

    def __init__(self, *, max_length: int | None = None, **kwargs):
        self.max_length = max_length
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("not_a_dict", input_type=json_type(data))
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class StrictList(serializers.ListField):
    """A JSON array."""

    def to_internal_value(self, data):
        if not isinstance(data, list):
            self.fail("not_a_list", input_type=json_type(data))
        return super().to_internal_value(data)


class StrictSerializer(serializers.Serializer):
    """A JSON object with only the declared fields (`unknown_field` for any
    other), every failure reported at once."""

    forbid_unknown = True

    def to_internal_value(self, data):
        unknown: dict[str, list] = {}
        if self.forbid_unknown and isinstance(data, Mapping):
            fields = self.fields
            for key in data:
                if key not in fields:
                    unknown[key] = [ErrorDetail("unknown field", code="unknown_field")]
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as e:
            if unknown and isinstance(e.detail, dict):
                e.detail.update(unknown)
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value
