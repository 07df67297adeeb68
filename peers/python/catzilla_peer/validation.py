"""The validation category in Catzilla: the models are Catzilla `BaseModel`s
whose fields are Catzilla `Field`s carrying the constraints (lengths, regex,
ranges, list sizes, defaults, nested models, lists of models); every failing
field is reported with its path and batches report per item.

What Catzilla 0.2.3's models cannot do, and how this module works around it
inside Catzilla's own extension points (a `Field` subclass per kind of value,
whose `check` runs the strict type rule and then Catzilla's own
`Field.validate_python` for the declared constraints; and `Model.validate`,
Catzilla's validation entry point, overridden to keep failures structured):

- `validator`/`root_validator` in `catzilla.validation` are placeholders
  that return the function and never run it; the hooks that do run are
  `Field.validate_python` (per field), `BaseModel.validate` and
  `__post_init__` (instances only).
- Its model loop reports failures as one `"; "`-joined string without paths,
  wraps a nested model's failures into text and stops a `List[Model]` at its
  first bad item (`items[2].quantity` is never reported when item 1 also
  fails): `Model.validate` walks the fields itself, recursing into nested
  models and every list item with the path.
- It coerces (`"7"` and `3.9` become ints, `True` passes as an int, `"yes"`
  as a bool, `"1.5"` as a float): the field classes check JSON types first.
- It does not check list items, dict values, `Decimal` or date-times, and
  refuses `Union` at class definition: `Strings`, `StrMap`, `Numbers`,
  `Preferences`, `Variants`, `Money` and `DateTime` check them with the
  shared rules (`bench_shared.validation`).
- `null` for a field with a default stays `null` in Catzilla; here it means
  the default, as in the reference."""

from __future__ import annotations

import copy
import math
from decimal import Decimal
from typing import Any, Dict, List, Optional

from catzilla import BaseModel, Field, ValidationError

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
from bench_shared.validation.stats import Counter, Stats

from .common import bodiless, json_response, new_app, read_json_text, routes

_BAD = object()  # a field value that failed (its failures are recorded)


def _at(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _code(message: str) -> str:
    """The reference's code for one of Catzilla's constraint messages."""
    if message.startswith("Value must be"):
        return "range"
    if message.startswith(("String must be", "List must have")):
        return "length"
    if message.startswith("String does not match"):
        return "pattern"
    return "type"


def _wrong(path: str, expected: str, value: Any, out: list[FieldError]) -> Any:
    out.append(FieldError(path, "type", f"expected {expected}, got {rules.json_type(value)}"))
    return _BAD


# ------------------------------------------------------------ field classes


class Checked(Field):
    """A Catzilla `Field` that checks one JSON value where it stands:
    `check(value, path, out)` gives the normalized value, or `_BAD` with the
    failures appended to `out`. The base runs Catzilla's own constraint
    checks (`Field.validate_python`)."""

    def check(self, value: Any, path: str, out: list[FieldError]) -> Any:
        try:
            return self.validate_python(value)
        except ValidationError as e:
            message = str(e)
            out.append(FieldError(path, _code(message), message))
            return _BAD

    def fallback(self) -> Any:
        """The value of the field when absent or null (a fresh copy)."""
        return copy.copy(self.default)


class Text(Checked):
    """A string; lengths and regex are Catzilla's."""


class Int(Checked):
    """A JSON integer (no fraction, no boolean); ranges are Catzilla's."""

    def check(self, value: Any, path: str, out: list[FieldError]) -> Any:
        if type(value) is not int:
            if isinstance(value, Decimal):
                out.append(FieldError(path, "type", f"expected an integer, got {value}"))
                return _BAD
            return _wrong(path, "an integer", value, out)
        return super().check(value, path, out)


class Float(Checked):
    """Any finite JSON number as a float; ranges are Catzilla's."""

    def check(self, value: Any, path: str, out: list[FieldError]) -> Any:
        number = _float(value, path, out)
        return number if number is _BAD else super().check(number, path, out)


def _float(value: Any, path: str, out: list[FieldError]) -> Any:
    if type(value) is not int and not isinstance(value, Decimal):
        return _wrong(path, "a number", value, out)
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        out.append(FieldError(path, "range", "number is out of range"))
        return _BAD
    return number


class Bool(Checked):
    """A JSON boolean (no strings, no numbers)."""

    def check(self, value: Any, path: str, out: list[FieldError]) -> Any:
        return value if type(value) is bool else _wrong(path, "a boolean", value, out)


class Money(Checked):
    """An exact decimal from a number or a numeric string, within `ge`/`le`
    (Catzilla passes `Decimal` fields through unchecked)."""

    def check(self, value: Any, path: str, out: list[FieldError]) -> Any:
        try:
            if type(value) is str:
                amount = decimals.from_text(value)
            elif type(value) is int:
                amount = decimals.from_int(value)
            elif isinstance(value, Decimal):
                amount = decimals.from_json_number(value)
            else:
                return _wrong(path, "a decimal number or numeric string", value, out)
        except RuleError as e:
            out.append(FieldError(path, e.code, e.message))
            return _BAD
        if (self.ge is not None and amount < self.ge) or (self.le is not None and amount > self.le):
            bound = f"at least {self.ge}" + ("" if self.le is None else f" and at most {self.le}")
            out.append(FieldError(path, "range", f"must be {bound}"))
            return _BAD
        return amount


class DateTime(Checked):
    """An RFC 3339 string, normalized as the reference writes it."""

    def check(self, value: Any, path: str, out: list[FieldError]) -> Any:
        if type(value) is not str:
            return _wrong(path, "a string", value, out)
        try:
            return datetimes.normalize(value)
        except RuleError as e:
            out.append(FieldError(path, e.code, e.message))
            return _BAD


def _each_value(value: Any, path: str, out: list[FieldError], item) -> Any:
    """A JSON object whose every value is checked by `item(v, path)`."""
    if not isinstance(value, dict):
        return _wrong(path, "an object", value, out)
    result, ok = {}, True
    for key, v in value.items():
        checked = item(v, _at(path, key))
        if checked is _BAD:
            ok = False
        else:
            result[key] = checked
    return result if ok else _BAD


def _string(value: Any, path: str, out: list[FieldError]) -> Any:
    return value if type(value) is str else _wrong(path, "a string", value, out)


class Strings(Checked):
    """A list of strings (Catzilla checks only that it is a list)."""

    def check(self, value: Any, path: str, out: list[FieldError]) -> Any:
        if not isinstance(value, list):
            return _wrong(path, "an array", value, out)
        bad = [i for i, v in enumerate(value) if type(v) is not str]
        for i in bad:
            _wrong(f"{path}[{i}]", "a string", value[i], out)
        return _BAD if bad else super().check(value, path, out)


class StrMap(Checked):
    """An object of string values (Catzilla does not check `Dict`s)."""

    def check(self, value: Any, path: str, out: list[FieldError]) -> Any:
        return _each_value(value, path, out, lambda v, p: _string(v, p, out))


class Numbers(Checked):
    """An object of finite numbers."""

    def check(self, value: Any, path: str, out: list[FieldError]) -> Any:
        return _each_value(value, path, out, lambda v, p: _float(v, p, out))


class Preferences(Checked):
    """An object of strings, integers or booleans (Catzilla has no `Union`)."""

    def check(self, value: Any, path: str, out: list[FieldError]) -> Any:
        def one(v: Any, p: str) -> Any:
            try:
                return rules.preference(v)
            except RuleError as e:
                out.append(FieldError(p, e.code, e.message))
                return _BAD

        return _each_value(value, path, out, one)


def _plain(value: Any) -> Any:
    """A JSON value kept as sent; exact decimals written back as numbers."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class Variants(Checked):
    """A list of objects with any values, kept as sent."""

    def check(self, value: Any, path: str, out: list[FieldError]) -> Any:
        if not isinstance(value, list):
            return _wrong(path, "an array", value, out)
        result, ok = [], True
        for i, item in enumerate(value):
            if isinstance(item, dict):
                result.append(_plain(item))
            else:
                _wrong(f"{path}[{i}]", "an object", item, out)
                ok = False
        return result if ok else _BAD


# ------------------------------------------------------------------- models


class Model(BaseModel):
    """A Catzilla model validated field by field with every failure kept
    structured (path, code, message), nested models and every list item
    included. `validate` returns the normalized dict or raises a 422."""

    @classmethod
    def validate(cls, data: Any) -> dict:
        out: list[FieldError] = []
        value = cls.check(data, "", out)
        if out or value is _BAD:
            raise errors.validation(out)
        return value

    @classmethod
    def check(cls, data: Any, path: str, out: list[FieldError]) -> Any:
        if not isinstance(data, dict):
            return _wrong(path, "an object", data, out)
        values: dict[str, Any] = {}
        ok = True
        for name, check, optional, fallback in cls._plan():
            where = f"{path}.{name}" if path else name
            value = data.get(name)
            if value is None:
                if optional:
                    values[name] = fallback()
                else:
                    out.append(FieldError(where, "required",
                                          "is required" if name not in data else "must not be null"))
                    ok = False
                continue
            checked = check(value, where, out)
            if checked is _BAD:
                ok = False
            else:
                values[name] = checked
        return values if cls.after(values, path, out) and ok else _BAD

    @classmethod
    def after(cls, values: dict, path: str, out: list[FieldError]) -> bool:
        """Model-level rules over the fields that passed; False when one fails."""
        return True

    @classmethod
    def _plan(cls) -> list:
        """Per field, in Catzilla's field order: its name, how its value is
        checked, whether it may be left out, and its default."""
        plan = cls.__dict__.get("_fields_plan")
        if plan is None:
            plan = [(name, _checker(field), field.optional, _fallback(field))
                    for name, field in cls._fields.items()]
            cls._fields_plan = plan
        return plan


def _checker(field: Field):
    """How one field's value is checked: nested models and lists of models
    are walked with their paths (every item), other fields check themselves."""
    if field._is_nested_model:
        return field._nested_model_class.check
    if field._is_list_of_models:
        model, least = field._list_item_model_class, field.min_items

        def models(value: Any, path: str, out: list[FieldError]) -> Any:
            if not isinstance(value, list):
                return _wrong(path, "an array", value, out)
            items = [model.check(v, f"{path}[{i}]", out) for i, v in enumerate(value)]
            if any(item is _BAD for item in items):
                return _BAD
            if least is not None and len(items) < least:
                out.append(FieldError(path, "length", f"must have at least {least} item(s)"))
                return _BAD
            return items

        return models
    return field.check


def _fallback(field: Field):
    if isinstance(field, Checked):
        return field.fallback
    return lambda: field.default


class SimpleUser(Model):
    """`id`, `name`, `email`, optional `age`: types only."""

    id: int = Int(ge=I64_MIN, le=I64_MAX)
    name: str = Text()
    email: str = Text()
    age: Optional[int] = Int(None, ge=I64_MIN, le=I64_MAX)


class AdvancedUser(Model):
    """A user with ranges, lengths and patterns on every field."""

    id: int = Int(ge=1, le=1_000_000)
    username: str = Text(min_length=3, max_length=20, regex=PYTHON[USERNAME])
    email: str = Text(regex=PYTHON[EMAIL])
    age: int = Int(ge=13, le=120)
    height: float = Float(gt=0.5, lt=3.0)
    is_active: bool = Bool(True)
    tags: Optional[List[str]] = Strings(None)
    metadata: Optional[Dict[str, str]] = StrMap(None)


class Address(Model):
    """A US postal address."""

    street: str = Text(min_length=5, max_length=100)
    city: str = Text(min_length=2, max_length=50)
    state: str = Text(min_length=2, max_length=2)
    zip_code: str = Text(regex=PYTHON[ZIP])
    country: str = Text("USA")


class ComplexUser(Model):
    """A user with nested models and date-times."""

    id: int = Int(ge=1, le=I64_MAX)
    personal_info: AdvancedUser
    billing_address: Address
    shipping_address: Optional[Address] = None
    preferences: Dict[str, Any] = Preferences({})
    created_at: str = DateTime()
    updated_at: Optional[str] = DateTime(None)


class Product(Model):
    """A catalogue product with an exact decimal price."""

    name: str = Text(min_length=1, max_length=200)
    price: Decimal = Money(ge=Decimal("0.01"), le=Decimal("999999.99"))
    category: str = Text(regex=PYTHON[CATEGORY])
    description: Optional[str] = Text(None, max_length=1000)
    sku: str = Text(regex=PYTHON[SKU])
    in_stock: bool = Bool(True)
    stock_quantity: int = Int(ge=0, le=100_000)
    dimensions: Optional[Dict[str, float]] = Numbers(None)
    tags: List[str] = Strings([])
    variants: Optional[List[Dict[str, Any]]] = Variants(None)


class OrderItem(Model):
    """One line of an order."""

    product_id: int = Int(ge=1, le=I64_MAX)
    quantity: int = Int(ge=1, le=1000)
    unit_price: Decimal = Money(ge=Decimal("0.01"))


class Order(Model):
    """An order; `total_amount` is computed when absent and checked when given."""

    id: int = Int(ge=1, le=I64_MAX)
    customer_id: int = Int(ge=1, le=I64_MAX)
    items: List[OrderItem] = Field(min_items=1)
    shipping_address: Address
    billing_address: Optional[Address] = None
    total_amount: Optional[Decimal] = Money(None, ge=Decimal(0))
    order_date: str = DateTime()
    status: str = Text(regex=PYTHON[STATUS])

    @classmethod
    def after(cls, values: dict, path: str, out: list[FieldError]) -> bool:
        """The total: computed when absent, equal to Σ quantity × unit_price
        when given (checked when the items and the total passed)."""
        items = values.get("items")
        if items is None or "total_amount" not in values:
            return True
        lines = ((item["quantity"], item["unit_price"]) for item in items)
        try:
            values["total_amount"] = orders.checked_total(lines, values["total_amount"])
        except RuleError as e:
            out.append(FieldError(_at(path, "total_amount"), e.code, e.message))
            return False
        return True


class MegaBatch(Model):
    """Users, products and orders in one envelope."""

    users: List[AdvancedUser]
    products: List[Product]
    orders: List[Order]
    timestamp: str = DateTime()
    batch_id: str = Text(regex=PYTHON[SKU])


# ------------------------------------------------------------------ the app


def _product_out(product: dict) -> dict:
    return {**product, "price": decimals.text(product["price"])}


def _each(model: type[Model], items: list) -> list:
    """Per-item results: the normalized item or its failures (paths relative
    to the item)."""
    results = []
    for item in items:
        out: list[FieldError] = []
        value = model.check(item, "", out)
        results.append(ItemFailure(out) if out or value is _BAD else value)
    return results


def create_app():
    app = new_app()
    stats = Stats()

    def parsed(request) -> Any:
        return jsontext.parse(read_json_text(request, MAX_BODY_BYTES))

    def counted(model: type[Model], counter: Counter, request, default: bytes | None) -> dict:
        """The body validated as `model` (`default` when the request has
        none at all and the endpoint documents one), the outcome counted
        (malformed or invalid bodies count as invalid)."""
        if default is not None and bodiless(request):
            text = default.decode()
        else:
            text = read_json_text(request, MAX_BODY_BYTES)
        try:
            value = model.validate(jsontext.parse(text))
        except ApiError:
            counter.record(0, 1)
            raise
        counter.record(1, 0)
        return value

    def single(model: type[Model], endpoint: str, key: str, out=lambda v: v, default=None):
        counter = stats[endpoint]

        def handler(request):
            value = counted(model, counter, request, default)
            return json_response({"valid": True, key: out(value)})

        return handler

    def batch_report(request, model: type[Model], endpoint: str) -> batch.BatchReport:
        items = batch.items(parsed(request), batch.ENVELOPES[endpoint])
        report = batch.report(_each(model, items))
        stats[endpoint].record(report.valid, report.invalid)
        return report

    def health(_request):
        return json_response(stats.health())

    def validation_stats(_request):
        return json_response(stats.body())

    def batch_users(request):
        return json_response(batch_report(request, AdvancedUser, "batch_users").body())

    def batch_products(request):
        return json_response(batch_report(request, Product, "batch_products").body())

    def batch_orders(request):
        report = batch_report(request, Order, "batch_orders")
        try:
            total = orders.sum_of((o["total_amount"] for o in report.valid_items), "batch total")
        except RuleError as e:
            raise errors.validation([FieldError("total_amount", e.code, e.message)]) from None
        return json_response({**report.body(), "total_amount": decimals.text(total)})

    def mega_batch(request):
        mega = counted(MegaBatch, stats["mega_batch"], request, None)
        try:
            summary = envelope.summary(
                mega["batch_id"],
                mega["timestamp"],
                len(mega["users"]),
                [(p["price"], p["stock_quantity"]) for p in mega["products"]],
                [o["total_amount"] for o in mega["orders"]],
            )
        except RuleError as e:
            raise errors.validation([FieldError("orders", e.code, e.message)]) from None
        return json_response(summary)

    routes(app, "/health", GET=health)
    routes(app, "/validation/stats", GET=validation_stats)
    routes(app, "/validate/simple-user", POST=single(SimpleUser, "simple_user", "user"))
    routes(app, "/validate/advanced-user", POST=single(AdvancedUser, "advanced_user", "user"))
    routes(app, "/validate/complex-user", POST=single(ComplexUser, "complex_user", "user"))
    routes(app, "/validate/product", POST=single(Product, "product", "product", _product_out))
    routes(app, "/validate/error-handling",
           POST=single(AdvancedUser, "error_handling", "user", default=INVALID_USER))
    routes(app, "/validate/batch-users", POST=batch_users)
    routes(app, "/validate/batch-products", POST=batch_products)
    routes(app, "/validate/batch-orders", POST=batch_orders)
    routes(app, "/validate/mega-batch", POST=mega_batch)
    return app
