"""Orders: requests checked against the catalog (prices come from it, a
client total must agree to the cent), stock reserved for all items at once,
and the newest orders retained in a bounded log with evictions counted."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from decimal import Decimal

from .. import errors
from ..errors import FieldError
from .catalog import Catalog
from .wire import cents_text, compact_json, format_time, is_blank, money

MAX_ITEMS = 50
MAX_QUANTITY = 1000
MAX_ADDRESS_BYTES = 1024
ORDER_OVERHEAD = 256  # what a retained order costs beyond its addresses and lines
LINE_COST = 64
ADDRESS_REQUIRED = ("street", "city", "zip_code", "country")
PAYMENT_METHODS = ("credit_card", "paypal", "bank_transfer")
STATUSES = ("pending", "confirmed", "processing", "shipped", "delivered", "cancelled")
# The largest `rust_decimal` value: client totals beyond it are not amounts.
_DECIMAL_MAX = Decimal(2**96 - 1)
_DECIMAL_MIN_STEP = Decimal(1).scaleb(-28)


@dataclass(slots=True)
class OrderRequest:
    """`POST /api/orders` once its shape is checked (types, required and
    unknown fields): what the rules below still judge."""

    shipping_address: dict[str, str]
    items: list[tuple[int, int]]  # (product_id, quantity) as sent
    payment_method: str
    user_id: int | None = None
    status: str | None = None
    total_amount: float | None = None
    billing_address: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class ValidOrder:
    """A request that passed every rule: distinct products with quantities."""

    lines: list[tuple[int, int]]
    shipping: dict[str, str]
    billing: dict[str, str] | None  # None when it is the shipping address
    payment_method: str
    total_cents: int
    address_bytes: int


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One priced line of an order."""

    product_id: int
    name: str
    quantity: int
    unit_cents: int

    def as_json(self) -> dict:
        return {
            "product_id": self.product_id,
            "name": self.name,
            "quantity": self.quantity,
            "unit_price": money(self.unit_cents),
            "line_total": money(self.unit_cents * self.quantity),
        }


@dataclass(frozen=True, slots=True)
class Order:
    """A placed order."""

    id: int
    user_id: int
    items: tuple[OrderLine, ...]
    total_cents: int
    shipping: dict[str, str]
    billing: dict[str, str] | None
    payment_method: str
    created_ns: int  # unix nanoseconds
    cost: int  # estimated bytes it holds

    @property
    def created_at(self) -> int:
        """Unix seconds."""
        return self.created_ns // 1_000_000_000

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "status": "pending",
            "items": [line.as_json() for line in self.items],
            "item_count": len(self.items),
            "total_amount": money(self.total_cents),
            "shipping_address": self.shipping,
            "billing_address": self.billing if self.billing is not None else self.shipping,
            "payment_method": self.payment_method,
            "created_at": format_time(self.created_at),
        }


def _check_address(name: str, address: dict[str, str], found: list[FieldError]) -> None:
    for key in ADDRESS_REQUIRED:
        if key not in address:
            found.append(FieldError(f"{name}.{key}", "required", "is required"))
    if len(address) > 10:
        found.append(FieldError(name, "length", "at most 10 fields"))
    for key in sorted(address):
        value = address[key]
        if not key or len(key.encode()) > 50:
            found.append(FieldError(name, "length", "field names are 1 to 50 characters"))
        elif is_blank(value) or len(value) > 200:
            found.append(FieldError(f"{name}.{key}", "length",
                                    "must be 1 to 200 characters, not blank"))


def _client_total(given: float) -> Decimal | None:
    """The amount a client wrote, read as the reference reads it (a double,
    then the shortest text of it); None when it is no amount (negative,
    finer than a cent, beyond a decimal's range)."""
    try:
        number = float(given)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        # The reference's JSON reader refuses NaN and numbers beyond a double.
        raise errors.malformed_json("malformed JSON: total_amount is not a finite number")
    amount = Decimal(repr(number))
    if abs(amount) > _DECIMAL_MAX:
        return None
    if amount.as_tuple().exponent < -28:  # rust_decimal keeps 28 places at most
        amount = amount.quantize(_DECIMAL_MIN_STEP)
    amount = amount.normalize()
    if amount < 0 or -amount.as_tuple().exponent > 2:
        return None
    return amount


def _address_size(name: str, address: dict[str, str] | None, found: list[FieldError]) -> int:
    if address is None:
        return 0
    size = len(compact_json(address).encode("utf-8", "surrogatepass"))
    if size > MAX_ADDRESS_BYTES:
        found.append(FieldError(name, "size", f"at most {MAX_ADDRESS_BYTES} bytes as JSON"))
    return size


def validate(request: OrderRequest, catalog: Catalog, user: int) -> ValidOrder:
    """Checks every rule against the catalog for `user`, reporting every
    failing field (422); an order for someone else is a 403."""
    if request.user_id is not None and request.user_id != user:
        raise errors.forbidden("forbidden", f"user {user} cannot order for user {request.user_id}")
    found: list[FieldError] = []
    if request.status is not None:
        if request.status not in STATUSES:
            found.append(FieldError("status", "pattern", f"must be one of {', '.join(STATUSES)}"))
        elif request.status != "pending":
            found.append(FieldError("status", "initial_status", "new orders start as pending"))
    if request.payment_method not in PAYMENT_METHODS:
        found.append(FieldError("payment_method", "pattern",
                                f"must be one of {', '.join(PAYMENT_METHODS)}"))
    _check_address("shipping_address", request.shipping_address, found)
    if request.billing_address is not None:
        _check_address("billing_address", request.billing_address, found)
    if not 1 <= len(request.items) <= MAX_ITEMS:
        found.append(FieldError("items", "length", f"must hold 1 to {MAX_ITEMS} items"))
    lines: list[tuple[int, int]] = []
    total = 0
    seen: set[int] = set()
    for k, (product_id, quantity) in enumerate(request.items):
        product = catalog.seed(product_id) if 0 <= product_id < 2**32 else None
        quantity_ok = 1 <= quantity <= MAX_QUANTITY
        if product is None:
            found.append(FieldError(f"items[{k}].product_id", "unknown_product",
                                    f"no product {product_id}"))
        elif product.id in seen:
            found.append(FieldError(f"items[{k}].product_id", "duplicate",
                                    f"product {product.id} is already in the order"))
        else:
            seen.add(product.id)
            if quantity_ok:
                lines.append((product.id, quantity))
                total += product.price_cents * quantity
        if not quantity_ok:
            found.append(FieldError(f"items[{k}].quantity", "range",
                                    f"must be from 1 to {MAX_QUANTITY}"))
    if request.total_amount is not None:
        amount = _client_total(request.total_amount)
        if amount is None:
            found.append(FieldError("total_amount", "decimal",
                                    "must be a non-negative amount with at most 2 decimal places"))
        elif not found and amount * 100 != total:
            found.append(FieldError("total_amount", "total_mismatch",
                                    f"the catalog total is {cents_text(total)}, "
                                    f"the order says {amount}"))
    shipping = dict(sorted(request.shipping_address.items()))
    billing = request.billing_address
    billing = None if billing is None or billing == shipping else dict(sorted(billing.items()))
    size = _address_size("shipping_address", shipping, found)
    size += _address_size("billing_address", billing, found)
    errors.check(found)
    return ValidOrder(lines, shipping, billing, request.payment_method, total, size)


class Orders:
    """The bounded order log: the newest orders, at most `retain` of them
    and about `retain_bytes` bytes."""

    def __init__(self, retain: int, retain_bytes: int):
        self.retain = max(retain, 1)
        self.retain_bytes = retain_bytes
        self._lock = threading.Lock()
        self._orders: dict[int, Order] = {}
        self._first = 1  # id of the oldest retained order
        self._bytes = 0
        self._evicted = 0

    def place(self, catalog: Catalog, user: int, order: ValidOrder) -> Order:
        """Reserves stock (409 naming the short items; nothing taken) and
        records the order for `user`."""
        short = catalog.reserve(order.lines)
        if short:
            raise errors.conflict(
                "insufficient_stock",
                "not enough stock for every item; nothing was reserved",
                [s.field_error() for s in short],
            )
        items = tuple(
            OrderLine(id, catalog.products[id - 1].name, quantity,
                      catalog.products[id - 1].price_cents)
            for id, quantity in order.lines
        )
        cost = ORDER_OVERHEAD + len(items) * LINE_COST + order.address_bytes
        with self._lock:
            placed = Order(
                id=self._first + len(self._orders),
                user_id=user,
                items=items,
                total_cents=order.total_cents,
                shipping=order.shipping,
                billing=order.billing,
                payment_method=order.payment_method,
                created_ns=time.time_ns(),
                cost=cost,
            )
            self._orders[placed.id] = placed
            self._bytes += cost
            while len(self._orders) > 1 and (
                len(self._orders) > self.retain or self._bytes > self.retain_bytes
            ):
                old = self._orders.pop(self._first)
                self._bytes -= old.cost
                self._first += 1
                self._evicted += 1
        return placed

    def get(self, id: int) -> Order | None:
        """Order `id`, if placed and still retained."""
        return self._orders.get(id)

    def was_evicted(self, id: int) -> bool:
        """Whether `id` was placed but has been evicted."""
        return 1 <= id < self._first

    def counts(self) -> dict:
        """Placed, retained and evicted orders, and the retained bytes."""
        with self._lock:
            return {
                "placed": self._first - 1 + len(self._orders),
                "retained": len(self._orders),
                "evicted": self._evicted,
                "retained_bytes": self._bytes,
            }
