"""The validation category's models as msgspec `Struct`s, with the
constraints of shared/reference/models.md: the same rules as the pydantic
models beside this file and the Rust engine. msgspec has no bounds on
`Decimal` and no cross-field rules, so those run in `__post_init__` (as
msgspec's documentation advises); like any msgspec error they stop at the
first failure, where pydantic and the Rust engine report every one."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Dict, List, Optional, Union

import msgspec
from msgspec import Meta, Struct

Username = Annotated[str, Meta(min_length=3, max_length=20, pattern=r"^[a-zA-Z0-9_]+$")]
Email = Annotated[str, Meta(pattern=r"^[^@]+@[^@]+\.[^@]+$")]
Sku = Annotated[str, Meta(pattern=r"^[A-Z0-9\-]+$")]
MIN_PRICE = Decimal("0.01")
MAX_PRICE = Decimal("999999.99")


def price_in(value: Decimal, field: str, low: Decimal, high: Optional[Decimal]) -> None:
    if value < low or (high is not None and value > high):
        raise ValueError(f"{field} out of range")


class SimpleUser(Struct):
    id: int
    name: str
    email: str
    age: Optional[int] = None


class AdvancedUser(Struct):
    id: Annotated[int, Meta(ge=1, le=1_000_000)]
    username: Username
    email: Email
    age: Annotated[int, Meta(ge=13, le=120)]
    height: Annotated[float, Meta(gt=0.5, lt=3.0)]
    is_active: bool = True
    tags: Optional[List[str]] = None
    metadata: Optional[Dict[str, str]] = None


class Address(Struct):
    street: Annotated[str, Meta(min_length=5, max_length=100)]
    city: Annotated[str, Meta(min_length=2, max_length=50)]
    state: Annotated[str, Meta(min_length=2, max_length=2)]
    zip_code: Annotated[str, Meta(pattern=r"^\d{5}(-\d{4})?$")]
    country: str = "USA"


class ComplexUser(Struct):
    id: Annotated[int, Meta(ge=1)]
    personal_info: AdvancedUser
    billing_address: Address
    created_at: datetime
    shipping_address: Optional[Address] = None
    preferences: Dict[str, Union[str, int, bool]] = {}
    updated_at: Optional[datetime] = None


class Product(Struct):
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    price: Decimal
    category: Annotated[str, Meta(pattern=r"^[a-zA-Z0-9\s\-_]+$")]
    sku: Sku
    stock_quantity: Annotated[int, Meta(ge=0, le=100_000)]
    description: Optional[Annotated[str, Meta(max_length=1000)]] = None
    in_stock: bool = True
    dimensions: Optional[Dict[str, float]] = None
    tags: List[str] = []
    variants: Optional[List[Dict[str, Any]]] = None

    def __post_init__(self) -> None:
        price_in(self.price, "price", MIN_PRICE, MAX_PRICE)


class OrderItem(Struct):
    product_id: Annotated[int, Meta(ge=1)]
    quantity: Annotated[int, Meta(ge=1, le=1000)]
    unit_price: Decimal

    def __post_init__(self) -> None:
        price_in(self.unit_price, "unit_price", MIN_PRICE, MAX_PRICE)


class Order(Struct):
    id: Annotated[int, Meta(ge=1)]
    customer_id: Annotated[int, Meta(ge=1)]
    items: Annotated[List[OrderItem], Meta(min_length=1)]
    shipping_address: Address
    order_date: datetime
    status: Annotated[str, Meta(pattern=r"^(pending|confirmed|shipped|delivered|cancelled)$")]
    billing_address: Optional[Address] = None
    total_amount: Optional[Decimal] = None

    def __post_init__(self) -> None:
        computed = sum((i.unit_price * i.quantity for i in self.items), Decimal(0))
        if self.total_amount is None:
            self.total_amount = computed
        else:
            price_in(self.total_amount, "total_amount", Decimal(0), None)
            if self.total_amount != computed:
                raise ValueError("total_amount is not the sum of quantity x unit_price")


class MegaBatch(Struct):
    users: List[AdvancedUser]
    products: List[Product]
    orders: List[Order]
    timestamp: datetime
    batch_id: Sku


def cases() -> Dict[str, Any]:
    """name -> validator of the fixture bytes (the cases of the Rust bench)."""

    def decoder(t: Any):
        return msgspec.json.Decoder(t).decode

    def reject(data: bytes) -> None:
        try:
            decoder_user(data)
        except msgspec.ValidationError as e:
            str(e)
            return
        raise SystemExit("invalid_user.json was accepted")

    decoder_user = decoder(AdvancedUser)
    return {
        "simple_user": decoder(SimpleUser),
        "advanced_user": decoder_user,
        "complex_user": decoder(ComplexUser),
        "product": decoder(Product),
        "invalid_user": reject,
        "users_100": decoder(List[AdvancedUser]),
        "products_100": decoder(List[Product]),
        "orders_50": decoder(List[Order]),
        "mega_batch": decoder(MegaBatch),
    }
