"""The validation category in FastAPI: pydantic v2 models carry every
constraint (Annotated/Field; validators only for what Field cannot say:
exact decimals, RFC 3339 date-times, order totals, null meaning the
default), every failing field is reported with its path, batches report per
item.

Bodies are read with exact numbers (`bench_shared.validation.jsontext`) and
validated in pydantic's strict Python mode: pydantic's JSON mode turns a
number such as `0.10` into a binary float before a `Decimal` field sees it,
which loses the scale the contract asks to keep.

(No `from __future__ import annotations` here: the routes' dependencies are
built inside `create_app`, and FastAPI must see them as objects.)"""

from decimal import Decimal
from typing import Annotated, Any, Callable, Optional, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    WrapValidator,
    field_validator,
)
from pydantic_core import PydanticCustomError

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
from bench_shared.validation.patterns import CATEGORY, EMAIL, RUST, SKU, STATUS, USERNAME, ZIP
from bench_shared.validation.stats import Counter, Stats

from .common import bodiless, field_path, new_app, read_json_bytes

# ---------------------------------------------------------------- field types


def _rule(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A bench_shared rule as a pydantic validator function (its failure
    code becomes the error type)."""

    def run(value: Any) -> Any:
        try:
            return check(value)
        except RuleError as e:
            raise PydanticCustomError(e.code, e.message) from None

    return run


def _decimal(value: Any) -> Decimal:
    """An exact decimal from a JSON number or a numeric string."""
    kind = type(value)
    if kind is str:
        return decimals.from_text(value)
    if kind is int:
        return decimals.from_int(value)
    if isinstance(value, Decimal):
        return decimals.from_json_number(value)
    raise RuleError(
        "type", f"expected a decimal number or numeric string, got {rules.json_type(value)}"
    )


def _null_is(default: Callable[[], Any]) -> BeforeValidator:
    """`null` stands for the field's default (as when it is left out)."""
    return BeforeValidator(lambda v: default() if v is None else v)


def _json_values(variants: Optional[list[dict[str, Any]]]) -> Optional[list[dict[str, Any]]]:
    """Variant values are kept as sent; numbers read as exact decimals are
    written back as JSON numbers."""
    if variants is not None:
        for variant in variants:
            for key, value in variant.items():
                if not isinstance(value, (str, int, type(None))):
                    variant[key] = _plain(value)
    return variants


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


Int64 = Annotated[int, Field(ge=I64_MIN, le=I64_MAX)]
Id = Annotated[int, Field(ge=1, le=I64_MAX)]
Money = Annotated[
    Decimal, BeforeValidator(_rule(_decimal)), PlainSerializer(decimals.text, return_type=str)
]
DateTime = Annotated[str, AfterValidator(_rule(datetimes.normalize))]
Number = Annotated[float, Field(allow_inf_nan=False)]
Preference = Annotated[Any, PlainValidator(_rule(rules.preference))]
STRICT = ConfigDict(strict=True)

# --------------------------------------------------------------------- models


class SimpleUser(BaseModel):
    """`id`, `name`, `email`, optional `age`: types only."""

    model_config = STRICT

    id: Int64
    name: str
    email: str
    age: Optional[Int64] = None


class AdvancedUser(BaseModel):
    """A user with ranges, lengths and patterns on every field."""

    model_config = STRICT

    id: Annotated[int, Field(ge=1, le=1_000_000)]
    username: Annotated[str, Field(min_length=3, max_length=20, pattern=RUST[USERNAME])]
    email: Annotated[str, Field(pattern=RUST[EMAIL])]
    age: Annotated[int, Field(ge=13, le=120)]
    height: Annotated[float, Field(gt=0.5, lt=3.0, allow_inf_nan=False)]
    is_active: Annotated[bool, _null_is(lambda: True)] = True
    tags: Optional[list[str]] = None
    metadata: Optional[dict[str, str]] = None


class Address(BaseModel):
    """A US postal address."""

    model_config = STRICT

    street: Annotated[str, Field(min_length=5, max_length=100)]
    city: Annotated[str, Field(min_length=2, max_length=50)]
    state: Annotated[str, Field(min_length=2, max_length=2)]
    zip_code: Annotated[str, Field(pattern=RUST[ZIP])]
    country: Annotated[str, _null_is(lambda: "USA")] = "USA"


class ComplexUser(BaseModel):
    """A user with nested models and date-times."""

    model_config = STRICT

    id: Id
    personal_info: AdvancedUser
    billing_address: Address
    shipping_address: Optional[Address] = None
    preferences: Annotated[dict[str, Preference], _null_is(dict)] = Field(default_factory=dict)
    created_at: DateTime
    updated_at: Optional[DateTime] = None


class Product(BaseModel):
    """A catalogue product with an exact decimal price."""

    model_config = STRICT

    name: Annotated[str, Field(min_length=1, max_length=200)]
    price: Annotated[Money, Field(ge=Decimal("0.01"), le=Decimal("999999.99"))]
    category: Annotated[str, Field(pattern=RUST[CATEGORY])]
    description: Optional[Annotated[str, Field(max_length=1000)]] = None
    sku: Annotated[str, Field(pattern=RUST[SKU])]
    in_stock: Annotated[bool, _null_is(lambda: True)] = True
    stock_quantity: Annotated[int, Field(ge=0, le=100_000)]
    dimensions: Optional[dict[str, Number]] = None
    tags: Annotated[list[str], _null_is(list)] = Field(default_factory=list)
    variants: Annotated[Optional[list[dict[str, Any]]], AfterValidator(_json_values)] = None


class OrderItem(BaseModel):
    """One line of an order."""

    model_config = STRICT

    product_id: Id
    quantity: Annotated[int, Field(ge=1, le=1000)]
    unit_price: Annotated[Money, Field(ge=Decimal("0.01"))]


class Order(BaseModel):
    """An order; `total_amount` is computed when absent and checked when given."""

    model_config = STRICT

    id: Id
    customer_id: Id
    items: Annotated[list[OrderItem], Field(min_length=1)]
    shipping_address: Address
    billing_address: Optional[Address] = None
    total_amount: Optional[Annotated[Money, Field(ge=Decimal(0))]] = Field(
        None, validate_default=True
    )
    order_date: DateTime
    status: Annotated[str, Field(pattern=RUST[STATUS])]

    @field_validator("total_amount")
    @classmethod
    def _total(cls, given: Optional[Decimal], info: ValidationInfo) -> Optional[Decimal]:
        items = info.data.get("items")
        if items is None:
            return given
        try:
            return orders.checked_total(((i.quantity, i.unit_price) for i in items), given)
        except RuleError as e:
            raise PydanticCustomError(e.code, e.message) from None


class MegaBatch(BaseModel):
    """Users, products and orders in one envelope."""

    model_config = STRICT

    users: list[AdvancedUser]
    products: list[Product]
    orders: list[Order]
    timestamp: DateTime
    batch_id: Annotated[str, Field(pattern=RUST[SKU])]


# --------------------------------------------------------- failures → details

_CODES = {
    "missing": "required",
    "string_too_short": "length",
    "string_too_long": "length",
    "too_short": "length",
    "too_long": "length",
    "greater_than": "range",
    "greater_than_equal": "range",
    "less_than": "range",
    "less_than_equal": "range",
    "finite_number": "range",
    "string_pattern_mismatch": "pattern",
}
# Fields whose values are map entries: a null there is a wrong type, not a
# missing field.
_MAPS = frozenset({"metadata", "dimensions", "preferences"})


def details(e: ValidationError) -> list[FieldError]:
    """Every failure with its path and the reference's code."""
    out = []
    for err in e.errors(include_url=False, include_context=False):
        kind, loc, message = err["type"], err["loc"], err["msg"]
        code = _CODES.get(kind) or ("type" if kind.endswith("_type") else kind)
        if code == "type":
            given = err.get("input")
            if given is None and loc and isinstance(loc[-1], str) and (
                len(loc) < 2 or loc[-2] not in _MAPS
            ):
                code, message = "required", "must not be null"
            elif kind == "float_type" and type(given) is int:
                code, message = "range", "number is out of range"
        out.append(FieldError(field_path(loc), code, message))
    return out


def _each(value: Any, handler: Callable[[Any], Any]) -> Any:
    """A batch item: the model, or its failures (paths relative to it)."""
    try:
        return handler(value)
    except ValidationError as e:
        return ItemFailure(details(e))


def _batch_of(model: type[BaseModel]) -> TypeAdapter:
    return TypeAdapter(list[Annotated[model, WrapValidator(_each)]])  # type: ignore[valid-type]


USERS = _batch_of(AdvancedUser)
PRODUCTS = _batch_of(Product)
ORDERS = _batch_of(Order)

# ------------------------------------------------------------------ the app


M = TypeVar("M", bound=BaseModel)


async def _parsed(request: Request) -> Any:
    """The body's JSON value: 415, 413, 400 as the contract says."""
    return jsontext.parse(await read_json_bytes(request, MAX_BODY_BYTES))


def _validate(model: type[M], value: Any) -> M:
    """`value` as `model`, or a 422 naming every failing field."""
    try:
        return model.model_validate(value)
    except ValidationError as e:
        raise errors.validation(details(e)) from None


def _valid(key: str, model: BaseModel) -> Response:
    """`{"valid": true, "<key>": <normalized model>}`."""
    body = b'{"valid":true,"' + key.encode() + b'":' + model.model_dump_json().encode() + b"}"
    return Response(body, media_type="application/json")


def _overflow(e: RuleError, field: str) -> ApiError:
    """A 422 for a total that the reference's decimals cannot hold."""
    return errors.validation([FieldError(field, e.code, e.message)])


def create_app() -> FastAPI:
    app = new_app("validation")
    stats = Stats()

    def counted(
        model: type[M], counter: Counter, default: bytes | None = None
    ) -> Callable[[Request], Any]:
        """A dependency: the body validated as `model` (`default` when the
        request has none at all and the endpoint documents one), the outcome
        counted (malformed or invalid bodies count as invalid)."""

        async def dependency(request: Request) -> M:
            if default is not None and bodiless(request):
                raw = default
            else:
                raw = await read_json_bytes(request, MAX_BODY_BYTES)
            try:
                value = _validate(model, jsontext.parse(raw))
            except ApiError:
                counter.record(0, 1)
                raise
            counter.record(1, 0)
            return value

        return dependency

    @app.get("/health")
    async def health() -> JSONResponse:
        return JSONResponse(stats.health())

    @app.get("/validation/stats")
    async def validation_stats() -> JSONResponse:
        return JSONResponse(stats.body())

    @app.post("/validate/simple-user")
    async def simple_user(
        user: Annotated[SimpleUser, Depends(counted(SimpleUser, stats["simple_user"]))],
    ) -> Response:
        return _valid("user", user)

    @app.post("/validate/advanced-user")
    async def advanced_user(
        user: Annotated[AdvancedUser, Depends(counted(AdvancedUser, stats["advanced_user"]))],
    ) -> Response:
        return _valid("user", user)

    @app.post("/validate/complex-user")
    async def complex_user(
        user: Annotated[ComplexUser, Depends(counted(ComplexUser, stats["complex_user"]))],
    ) -> Response:
        return _valid("user", user)

    @app.post("/validate/product")
    async def product(
        item: Annotated[Product, Depends(counted(Product, stats["product"]))],
    ) -> Response:
        return _valid("product", item)

    @app.post("/validate/error-handling")
    async def error_handling(
        user: Annotated[AdvancedUser, Depends(counted(AdvancedUser, stats["error_handling"], INVALID_USER))],
    ) -> Response:
        return _valid("user", user)

    async def batch_report(
        request: Request, adapter: TypeAdapter, endpoint: str
    ) -> batch.BatchReport:
        """Every item of the batch checked on its own, the outcome counted."""
        items = batch.items(await _parsed(request), batch.ENVELOPES[endpoint])
        report = batch.report(adapter.validate_python(items))
        stats[endpoint].record(report.valid, report.invalid)
        return report

    @app.post("/validate/batch-users")
    async def batch_users(request: Request) -> JSONResponse:
        report = await batch_report(request, USERS, "batch_users")
        return JSONResponse(report.body())

    @app.post("/validate/batch-products")
    async def batch_products(request: Request) -> JSONResponse:
        report = await batch_report(request, PRODUCTS, "batch_products")
        return JSONResponse(report.body())

    @app.post("/validate/batch-orders")
    async def batch_orders(request: Request) -> JSONResponse:
        report = await batch_report(request, ORDERS, "batch_orders")
        try:
            total = orders.sum_of((o.total_amount for o in report.valid_items), "batch total")
        except RuleError as e:
            raise _overflow(e, "total_amount") from None
        body = report.body()
        body["total_amount"] = decimals.text(total)
        return JSONResponse(body)

    @app.post("/validate/mega-batch")
    async def mega_batch(request: Request) -> JSONResponse:
        raw = await read_json_bytes(request, MAX_BODY_BYTES)
        counter = stats["mega_batch"]
        try:
            mega = _validate(MegaBatch, jsontext.parse(raw))
        except ApiError:
            counter.record(0, 1)
            raise
        counter.record(1, 0)
        try:
            summary = envelope.summary(
                mega.batch_id,
                mega.timestamp,
                len(mega.users),
                [(p.price, p.stock_quantity) for p in mega.products],
                [o.total_amount for o in mega.orders],  # type: ignore[misc]
            )
        except RuleError as e:
            raise _overflow(e, "orders") from None
        return JSONResponse(summary)

    return app
