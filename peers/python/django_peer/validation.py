"""The validation category in Django: DRF serializers carry every constraint
(strict field types, lengths, ranges, patterns; custom fields only for what
DRF's fields cannot say: exact decimals, RFC 3339 date-times, null meaning the
default; `validate()` for order totals). Every failing field is reported with
its path, batches report per item.

Bodies are read with exact numbers (`bench_shared.validation.jsontext`):
numbers with a fraction arrive as `Decimal`, so a price keeps its scale."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.validators import RegexValidator
from django.urls import path
from rest_framework import serializers
from rest_framework.decorators import api_view

from bench_shared import errors
from bench_shared.errors import ApiError, FieldError
from bench_shared.validation import (
    INVALID_USER,
    I64_MAX,
    I64_MIN,
    MAX_BODY_BYTES,
    ItemFailure,
    RuleError,
    batch,
    datetimes,
    decimals,
    envelope,
    jsontext,
    orders,
    rules,
)
from bench_shared.validation.patterns import CATEGORY, COMPILED, EMAIL, SKU, STATUS, USERNAME, ZIP
from bench_shared.validation.stats import Stats

from . import common
from .common import (
    NullIsDefault,
    StrictBool,
    StrictDict,
    StrictFloat,
    StrictInt,
    StrictList,
    StrictStr,
    bounds,
    fail,
    json,
)

OPTIONAL = {"required": False, "allow_null": True, "default": None}

# ---------------------------------------------------------------- field types


def pattern(name: str) -> RegexValidator:
    return RegexValidator(COMPILED[name], message=f"must match the {name} pattern",
                          code="pattern")


class Money(serializers.Field):
    """An exact decimal from a JSON number or a numeric string, written back
    as an exact decimal string."""

    def __init__(self, *, ge: Decimal | None = None, le: Decimal | None = None, **kwargs):
        super().__init__(**kwargs)
        if ge is not None or le is not None:
            self.validators.append(bounds(ge=ge, le=le))

    def to_internal_value(self, data: Any) -> Decimal:
        kind = type(data)
        try:
            if kind is str:
                return decimals.from_text(data)
            if kind is int:
                return decimals.from_int(data)
            if kind is Decimal:
                return decimals.from_json_number(data)
        except RuleError as e:
            raise fail(e.code, e.message) from None
        raise fail("type", "expected a decimal number or numeric string, got "
                           f"{rules.json_type(data)}")

    def to_representation(self, value: Decimal) -> str:
        return decimals.text(value)


class DateTime(StrictStr):
    """An RFC 3339 date-time, written in the reference's form."""

    def to_internal_value(self, data):
        try:
            return datetimes.normalize(super().to_internal_value(data))
        except RuleError as e:
            raise fail(e.code, e.message) from None


class Preference(serializers.Field):
    """A string, a 64-bit integer or a boolean."""

    def to_internal_value(self, data):
        try:
            return rules.preference(data)
        except RuleError as e:
            raise fail(e.code, e.message) from None

    def to_representation(self, value):
        return value


class NullIsTrue(NullIsDefault, StrictBool):
    pass


class NullIsDefaultStr(NullIsDefault, StrictStr):
    pass


class NullIsEmptyDict(NullIsDefault, StrictDict):
    pass


class NullIsEmptyList(NullIsDefault, StrictList):
    pass


class AnyValue(serializers.Field):
    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return _plain(value)


def _plain(value: Any) -> Any:
    """Numbers read as exact decimals written back as JSON numbers."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def Int64(**kwargs) -> StrictInt:  # noqa: N802 (a field factory)
    return StrictInt(min_value=I64_MIN, max_value=I64_MAX, **kwargs)


# --------------------------------------------------------------------- models


class SimpleUserSerializer(serializers.Serializer):
    """`id`, `name`, `email`, optional `age`: types only."""

    id = Int64()
    name = StrictStr()
    email = StrictStr()
    age = Int64(**OPTIONAL)


class AdvancedUserSerializer(serializers.Serializer):
    """A user with ranges, lengths and patterns on every field."""

    id = StrictInt(min_value=1, max_value=1_000_000)
    username = StrictStr(min_length=3, max_length=20, validators=[pattern(USERNAME)])
    email = StrictStr(validators=[pattern(EMAIL)])
    age = StrictInt(min_value=13, max_value=120)
    height = StrictFloat(gt=0.5, lt=3.0)
    is_active = NullIsTrue(default=True)
    tags = StrictList(child=StrictStr(), **OPTIONAL)
    metadata = StrictDict(child=StrictStr(), **OPTIONAL)


class AddressSerializer(serializers.Serializer):
    """A US postal address."""

    street = StrictStr(min_length=5, max_length=100)
    city = StrictStr(min_length=2, max_length=50)
    state = StrictStr(min_length=2, max_length=2)
    zip_code = StrictStr(validators=[pattern(ZIP)])
    country = NullIsDefaultStr(default="USA")


class ComplexUserSerializer(serializers.Serializer):
    """A user with nested serializers and date-times."""

    id = StrictInt(min_value=1, max_value=I64_MAX)
    personal_info = AdvancedUserSerializer()
    billing_address = AddressSerializer()
    shipping_address = AddressSerializer(**OPTIONAL)
    preferences = NullIsEmptyDict(child=Preference(), default=dict)
    created_at = DateTime()
    updated_at = DateTime(**OPTIONAL)


class ProductSerializer(serializers.Serializer):
    """A catalogue product with an exact decimal price."""

    name = StrictStr(min_length=1, max_length=200)
    price = Money(ge=Decimal("0.01"), le=Decimal("999999.99"))
    category = StrictStr(validators=[pattern(CATEGORY)])
    description = StrictStr(max_length=1000, **OPTIONAL)
    sku = StrictStr(validators=[pattern(SKU)])
    in_stock = NullIsTrue(default=True)
    stock_quantity = StrictInt(min_value=0, max_value=100_000)
    dimensions = StrictDict(child=StrictFloat(), **OPTIONAL)
    tags = NullIsEmptyList(child=StrictStr(), default=list)
    variants = StrictList(child=StrictDict(child=AnyValue()), **OPTIONAL)


class OrderItemSerializer(serializers.Serializer):
    """One line of an order."""

    product_id = StrictInt(min_value=1, max_value=I64_MAX)
    quantity = StrictInt(min_value=1, max_value=1000)
    unit_price = Money(ge=Decimal("0.01"))


class OrderSerializer(serializers.Serializer):
    """An order; `total_amount` is computed when absent and checked when given."""

    id = StrictInt(min_value=1, max_value=I64_MAX)
    customer_id = StrictInt(min_value=1, max_value=I64_MAX)
    items = StrictList(child=OrderItemSerializer(), min_length=1)
    shipping_address = AddressSerializer()
    billing_address = AddressSerializer(**OPTIONAL)
    total_amount = Money(ge=Decimal(0), **OPTIONAL)
    order_date = DateTime()
    status = StrictStr(validators=[pattern(STATUS)])

    def validate(self, attrs):
        lines = ((i["quantity"], i["unit_price"]) for i in attrs["items"])
        try:
            attrs["total_amount"] = orders.checked_total(lines, attrs.get("total_amount"))
        except RuleError as e:
            raise serializers.ValidationError(
                {"total_amount": [serializers.ErrorDetail(e.message, code=e.code)]}) from None
        return attrs


class MegaBatchSerializer(serializers.Serializer):
    """Users, products and orders in one envelope."""

    users = StrictList(child=AdvancedUserSerializer())
    products = StrictList(child=ProductSerializer())
    orders = StrictList(child=OrderSerializer())
    timestamp = DateTime()
    batch_id = StrictStr(validators=[pattern(SKU)])


# ------------------------------------------------------------------ the views

stats = Stats()


def _parsed(request) -> Any:
    return common.json_value(request, MAX_BODY_BYTES, jsontext.parse)


def _counted(
    request, serializer_class, endpoint: str, default: bytes | None = None
) -> serializers.Serializer:
    """The body validated by the serializer (`default` when the request has
    none at all and the endpoint documents one), the outcome counted
    (malformed or invalid bodies count as invalid)."""
    counter = stats[endpoint]
    try:
        if default is not None and common.bodiless(request):
            value = jsontext.parse(default)
        else:
            value = _parsed(request)
        s = common.checked(serializer_class, value)
    except ApiError:
        counter.record(0, 1)
        raise
    counter.record(1, 0)
    return s


def _valid(key: str, s: serializers.Serializer):
    return json({"valid": True, key: s.data})


def _overflow(e: RuleError, field: str) -> ApiError:
    return errors.validation([FieldError(field, e.code, e.message)])


def _batch(request, serializer_class, endpoint: str) -> batch.BatchReport:
    """Every item of the batch checked on its own, the outcome counted."""
    items = batch.items(_parsed(request), batch.ENVELOPES[endpoint])
    child = serializer_class()
    results = []
    for item in items:
        try:
            results.append(child.run_validation(item))
        except serializers.ValidationError as e:
            results.append(ItemFailure(common.details(e.detail)))
    report = batch.report(results)
    stats[endpoint].record(report.valid, report.invalid)
    return report


@api_view(["GET"])
def health(request):
    return json(stats.health())


@api_view(["GET"])
def validation_stats(request):
    return json(stats.body())


@api_view(["POST"])
def simple_user(request):
    return _valid("user", _counted(request, SimpleUserSerializer, "simple_user"))


@api_view(["POST"])
def advanced_user(request):
    return _valid("user", _counted(request, AdvancedUserSerializer, "advanced_user"))


@api_view(["POST"])
def complex_user(request):
    return _valid("user", _counted(request, ComplexUserSerializer, "complex_user"))


@api_view(["POST"])
def product(request):
    return _valid("product", _counted(request, ProductSerializer, "product"))


@api_view(["POST"])
def error_handling(request):
    return _valid("user", _counted(request, AdvancedUserSerializer, "error_handling", INVALID_USER))


@api_view(["POST"])
def batch_users(request):
    return json(_batch(request, AdvancedUserSerializer, "batch_users").body())


@api_view(["POST"])
def batch_products(request):
    return json(_batch(request, ProductSerializer, "batch_products").body())


@api_view(["POST"])
def batch_orders(request):
    report = _batch(request, OrderSerializer, "batch_orders")
    try:
        total = orders.sum_of((o["total_amount"] for o in report.valid_items), "batch total")
    except RuleError as e:
        raise _overflow(e, "total_amount") from None
    body = report.body()
    body["total_amount"] = decimals.text(total)
    return json(body)


@api_view(["POST"])
def mega_batch(request):
    mega = _counted(request, MegaBatchSerializer, "mega_batch").validated_data
    try:
        summary = envelope.summary(
            mega["batch_id"],
            mega["timestamp"],
            len(mega["users"]),
            [(p["price"], p["stock_quantity"]) for p in mega["products"]],
            [o["total_amount"] for o in mega["orders"]],
        )
    except RuleError as e:
        raise _overflow(e, "orders") from None
    return json(summary)


urlpatterns = [
    path("health", health),
    path("validation/stats", validation_stats),
    path("validate/simple-user", simple_user),
    path("validate/advanced-user", advanced_user),
    path("validate/complex-user", complex_user),
    path("validate/product", product),
    path("validate/error-handling", error_handling),
    path("validate/batch-users", batch_users),
    path("validate/batch-products", batch_products),
    path("validate/batch-orders", batch_orders),
    path("validate/mega-batch", mega_batch),
]

handler404 = common.handler404
handler500 = common.handler500
handler400 = common.handler400
