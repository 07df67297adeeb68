"""The validation category in Flask: marshmallow schemas carry every
constraint (fields and `validate` rules; custom fields only for what
marshmallow cannot say: exact decimals, RFC 3339 date-times, strict JSON
types, null meaning the default; a schema validator for order totals); every
failing field is reported with its path, batches report per item.

Bodies are read with exact numbers (`bench_shared.validation.jsontext`):
a number such as `0.10` stays a `Decimal` with its scale, as the contract
asks, and is never a binary float before the money fields see it."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, Callable

from flask import Flask, Response
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

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
from bench_shared.validation.patterns import CATEGORY, EMAIL, PYTHON, SKU, STATUS, USERNAME, ZIP
from bench_shared.validation.stats import Stats

from .common import (
    bodiless,
    Coded,
    StrictBoolean,
    StrictInteger,
    StrictString,
    flatten,
    json_response,
    new_app,
    read_json_bytes,
    route,
)

# ---------------------------------------------------------------- field types


def _coded(e: RuleError) -> ValidationError:
    return ValidationError(Coded(e.code, e.message))


class NullIsDefault:
    """`null` stands for the field's default (as when it is left out)."""

    def deserialize(self, value: Any, attr: Any = None, data: Any = None, **kwargs: Any) -> Any:
        if value is None:
            default = self.load_default  # type: ignore[attr-defined]
            return default() if callable(default) else default
        return super().deserialize(value, attr, data, **kwargs)  # type: ignore[misc]


class Bool(NullIsDefault, StrictBoolean):
    pass


class Text(NullIsDefault, StrictString):
    pass


class Money(fields.Field):
    """An exact decimal from a JSON number or a numeric string."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Decimal:
        kind = type(value)
        try:
            if kind is str:
                return decimals.from_text(value)
            if kind is int:
                return decimals.from_int(value)
            if kind is Decimal:
                return decimals.from_json_number(value)
        except RuleError as e:
            raise _coded(e) from None
        raise ValidationError(Coded(
            "type", f"expected a decimal number or numeric string, got {rules.json_type(value)}"))


class Number(fields.Field):
    """A finite JSON number, as a float."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
            raise ValidationError(Coded("type", "Input should be a valid number"))
        try:
            number = float(value)
        except OverflowError:
            raise ValidationError(Coded("range", "number is out of range")) from None
        if not math.isfinite(number):
            raise ValidationError(Coded("range", "Input should be a finite number"))
        return number


class DateTime(StrictString):
    """An RFC 3339 date-time, normalized."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return datetimes.normalize(text)
        except RuleError as e:
            raise _coded(e) from None


class Preference(fields.Field):
    """A string, a 64-bit integer or a boolean."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        try:
            return rules.preference(value)
        except RuleError as e:
            raise _coded(e) from None


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class Variant(fields.Dict):
    """A variant object, values kept as sent (exact numbers written back as
    JSON numbers)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> dict:
        return {k: _plain(v) for k, v in super()._deserialize(value, attr, data, **kwargs).items()}


class Preferences(NullIsDefault, fields.Dict):
    pass


class Tags(NullIsDefault, fields.List):
    pass


def pattern(name: str) -> validate.Regexp:
    return validate.Regexp(PYTHON[name])


def Int64(**kw: Any) -> StrictInteger:
    return StrictInteger(validate=validate.Range(I64_MIN, I64_MAX), **kw)


def Id(**kw: Any) -> StrictInteger:
    return StrictInteger(validate=validate.Range(1, I64_MAX), **kw)


# --------------------------------------------------------------------- schemas

class Base(Schema):
    class Meta:
        unknown = EXCLUDE


class SimpleUser(Base):
    """`id`, `name`, `email`, optional `age`: types only."""

    id = Int64(required=True)
    name = StrictString(required=True)
    email = StrictString(required=True)
    age = Int64(load_default=None, allow_none=True)


class AdvancedUser(Base):
    """A user with ranges, lengths and patterns on every field."""

    id = StrictInteger(required=True, validate=validate.Range(1, 1_000_000))
    username = StrictString(required=True,
                            validate=[validate.Length(3, 20), pattern(USERNAME)])
    email = StrictString(required=True, validate=pattern(EMAIL))
    age = StrictInteger(required=True, validate=validate.Range(13, 120))
    height = Number(required=True, validate=validate.Range(
        0.5, 3.0, min_inclusive=False, max_inclusive=False))
    is_active = Bool(load_default=True)
    tags = fields.List(StrictString(), load_default=None, allow_none=True)
    metadata = fields.Dict(keys=StrictString(), values=StrictString(), load_default=None,
                           allow_none=True)


class Address(Base):
    """A US postal address."""

    street = StrictString(required=True, validate=validate.Length(5, 100))
    city = StrictString(required=True, validate=validate.Length(2, 50))
    state = StrictString(required=True, validate=validate.Length(2, 2))
    zip_code = StrictString(required=True, validate=pattern(ZIP))
    country = Text(load_default="USA")


class ComplexUser(Base):
    """A user with nested schemas and date-times."""

    id = Id(required=True)
    personal_info = fields.Nested(AdvancedUser, required=True)
    billing_address = fields.Nested(Address, required=True)
    shipping_address = fields.Nested(Address, load_default=None, allow_none=True)
    preferences = Preferences(keys=StrictString(), values=Preference(allow_none=True),
                              load_default=dict)
    created_at = DateTime(required=True)
    updated_at = DateTime(load_default=None, allow_none=True)


class Product(Base):
    """A catalogue product with an exact decimal price."""

    name = StrictString(required=True, validate=validate.Length(1, 200))
    price = Money(required=True,
                  validate=validate.Range(Decimal("0.01"), Decimal("999999.99")))
    category = StrictString(required=True, validate=pattern(CATEGORY))
    description = StrictString(load_default=None, allow_none=True,
                               validate=validate.Length(max=1000))
    sku = StrictString(required=True, validate=pattern(SKU))
    in_stock = Bool(load_default=True)
    stock_quantity = StrictInteger(required=True, validate=validate.Range(0, 100_000))
    dimensions = fields.Dict(keys=StrictString(), values=Number(), load_default=None,
                             allow_none=True)
    tags = Tags(StrictString(), load_default=list)
    variants = fields.List(Variant(keys=StrictString()), load_default=None, allow_none=True)


class OrderItem(Base):
    """One line of an order."""

    product_id = Id(required=True)
    quantity = StrictInteger(required=True, validate=validate.Range(1, 1000))
    unit_price = Money(required=True, validate=validate.Range(min=Decimal("0.01")))


class Order(Base):
    """An order; `total_amount` is computed when absent and checked when given."""

    id = Id(required=True)
    customer_id = Id(required=True)
    items = fields.List(fields.Nested(OrderItem), required=True,
                        validate=validate.Length(min=1))
    shipping_address = fields.Nested(Address, required=True)
    billing_address = fields.Nested(Address, load_default=None, allow_none=True)
    total_amount = Money(load_default=None, allow_none=True,
                         validate=validate.Range(min=Decimal(0)))
    order_date = DateTime(required=True)
    status = StrictString(required=True, validate=pattern(STATUS))

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _total(self, data: dict, original: Any, **_kwargs: Any) -> None:
        """The total: checked when given, computed when absent, once every
        item (and the given total) passed (a failing list leaves its valid
        part in `data`: items missing a field are the failing ones)."""
        items = data.get("items")
        if items is None or "total_amount" not in data:
            return
        sent = original.get("items") if isinstance(original, dict) else None
        if not isinstance(sent, list) or len(sent) != len(items) or not all(
                isinstance(i, dict) and all(k in i for k in ("product_id", "quantity", "unit_price"))
                for i in items):
            return
        try:
            data["total_amount"] = orders.checked_total(
                ((i["quantity"], i["unit_price"]) for i in items), data["total_amount"])
        except RuleError as e:
            raise ValidationError(Coded(e.code, e.message), "total_amount") from None


class MegaBatch(Base):
    """Users, products and orders in one envelope."""

    users = fields.List(fields.Nested(AdvancedUser), required=True)
    products = fields.List(fields.Nested(Product), required=True)
    orders = fields.List(fields.Nested(Order), required=True)
    timestamp = DateTime(required=True)
    batch_id = StrictString(required=True, validate=pattern(SKU))


# --------------------------------------------------------- failures → details

# Fields whose values are map entries: a null there is a wrong type, not a
# missing field.
_MAPS = ("metadata", "dimensions", "preferences")
_NULL = "Field may not be null."


def details(e: ValidationError) -> list[FieldError]:
    """Every failure with its path and the reference's code (`type` for a
    wrong JSON type; `required` for a null field, except list items and map
    values)."""
    out = []
    for f in flatten(e.messages, "", "type"):
        if f.message == _NULL:
            path = f.field
            parent = path.rpartition(".")[0].rpartition(".")[2].partition("[")[0]
            if path.endswith("]") or parent in _MAPS:
                out.append(FieldError(path, "type", "Input should be a valid value, not null"))
            else:
                out.append(FieldError(path, "required", "must not be null"))
        else:
            out.append(f)
    return out


def _load(schema: Schema, value: Any) -> dict:
    """`value` loaded by `schema`, or a 422 naming every failing field."""
    try:
        return schema.load(value)
    except ValidationError as e:
        raise errors.validation(details(e)) from None


def _item(schema: Schema) -> Callable[[Any], Any]:
    def load_one(value: Any) -> Any:
        try:
            return schema.load(value)
        except ValidationError as e:
            return ItemFailure(details(e))

    return load_one


def _written(value: Any) -> Any:
    """Exact decimals written as their text (`"29.90"` keeps its scale)."""
    if isinstance(value, Decimal):
        return decimals.text(value)
    if isinstance(value, dict):
        return {k: _written(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_written(v) for v in value]
    return value


SCHEMAS = {
    "simple_user": SimpleUser(),
    "advanced_user": AdvancedUser(),
    "complex_user": ComplexUser(),
    "product": Product(),
    "error_handling": AdvancedUser(),
}
USERS, PRODUCTS, ORDERS = _item(AdvancedUser()), _item(Product()), _item(Order())
MEGA = MegaBatch()


def _overflow(e: RuleError, field: str) -> ApiError:
    """A 422 for a total that the reference's decimals cannot hold."""
    return errors.validation([FieldError(field, e.code, e.message)])


# ------------------------------------------------------------------ the app


def create_app() -> Flask:
    app = new_app(__name__)
    stats = Stats()

    def counted(endpoint: str, default: bytes | None = None) -> dict:
        """The body loaded by the endpoint's schema (`default` when the
        request has none at all and the endpoint documents one), the outcome
        counted (malformed or invalid bodies count as invalid)."""
        counter = stats[endpoint]
        try:
            raw = default if default is not None and bodiless() else read_json_bytes(MAX_BODY_BYTES)
            value = _load(SCHEMAS.get(endpoint) or MEGA, jsontext.parse(raw))
        except ApiError:
            counter.record(0, 1)
            raise
        counter.record(1, 0)
        return value

    def valid(key: str, value: dict) -> Response:
        return json_response({"valid": True, key: _written(value)})

    @route(app, "/health", ["GET"])
    def health() -> Response:
        return json_response(stats.health())

    @route(app, "/validation/stats", ["GET"])
    def validation_stats() -> Response:
        return json_response(stats.body())

    @route(app, "/validate/simple-user", ["POST"])
    def simple_user() -> Response:
        return valid("user", counted("simple_user"))

    @route(app, "/validate/advanced-user", ["POST"])
    def advanced_user() -> Response:
        return valid("user", counted("advanced_user"))

    @route(app, "/validate/complex-user", ["POST"])
    def complex_user() -> Response:
        return valid("user", counted("complex_user"))

    @route(app, "/validate/product", ["POST"])
    def product() -> Response:
        return valid("product", counted("product"))

    @route(app, "/validate/error-handling", ["POST"])
    def error_handling() -> Response:
        return valid("user", counted("error_handling", INVALID_USER))

    def batch_report(load_one: Callable[[Any], Any], endpoint: str) -> batch.BatchReport:
        """Every item of the batch checked on its own, the outcome counted."""
        items = batch.items(
            jsontext.parse(read_json_bytes(MAX_BODY_BYTES)), batch.ENVELOPES[endpoint]
        )
        report = batch.report([load_one(item) for item in items])
        stats[endpoint].record(report.valid, report.invalid)
        return report

    @route(app, "/validate/batch-users", ["POST"])
    def batch_users() -> Response:
        return json_response(batch_report(USERS, "batch_users").body())

    @route(app, "/validate/batch-products", ["POST"])
    def batch_products() -> Response:
        return json_response(batch_report(PRODUCTS, "batch_products").body())

    @route(app, "/validate/batch-orders", ["POST"])
    def batch_orders() -> Response:
        report = batch_report(ORDERS, "batch_orders")
        try:
            total = orders.sum_of((o["total_amount"] for o in report.valid_items),
                                  "batch total")
        except RuleError as e:
            raise _overflow(e, "total_amount") from None
        body = report.body()
        body["total_amount"] = decimals.text(total)
        return json_response(body)

    @route(app, "/validate/mega-batch", ["POST"])
    def mega_batch() -> Response:
        mega = counted("mega_batch")
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
        return json_response(summary)

    return app
