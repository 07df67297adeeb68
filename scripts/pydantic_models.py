"""The validation category's models for pydantic v2, with the constraints of
shared/reference models.md (the same rules the Rust engine applies), and the
side-by-side of scripts/compare_pydantic.sh: Rust, pydantic and msgspec
(scripts/msgspec_models.py) timed by the same loop on the same fixture bytes."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from pydantic import BaseModel, Field, TypeAdapter, ValidationError, model_validator


class SimpleUser(BaseModel):
    id: int
    name: str
    email: str
    age: Optional[int] = None


class AdvancedUser(BaseModel):
    id: int = Field(ge=1, le=1_000_000)
    username: str = Field(min_length=3, max_length=20, pattern=r"^[a-zA-Z0-9_]+$")
    email: str = Field(pattern=r"^[^@]+@[^@]+\.[^@]+$")
    age: int = Field(ge=13, le=120)
    height: float = Field(gt=0.5, lt=3.0)
    is_active: bool = True
    tags: Optional[List[str]] = None
    metadata: Optional[Dict[str, str]] = None


class Address(BaseModel):
    street: str = Field(min_length=5, max_length=100)
    city: str = Field(min_length=2, max_length=50)
    state: str = Field(min_length=2, max_length=2)
    zip_code: str = Field(pattern=r"^\d{5}(-\d{4})?$")
    country: str = "USA"


class ComplexUser(BaseModel):
    id: int = Field(ge=1)
    personal_info: AdvancedUser
    billing_address: Address
    shipping_address: Optional[Address] = None
    preferences: Dict[str, Union[str, int, bool]] = {}
    created_at: datetime
    updated_at: Optional[datetime] = None


class Product(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    price: Decimal = Field(ge=Decimal("0.01"), le=Decimal("999999.99"))
    category: str = Field(pattern=r"^[a-zA-Z0-9\s\-_]+$")
    description: Optional[str] = Field(default=None, max_length=1000)
    sku: str = Field(pattern=r"^[A-Z0-9\-]+$")
    in_stock: bool = True
    stock_quantity: int = Field(ge=0, le=100_000)
    dimensions: Optional[Dict[str, float]] = None
    tags: List[str] = []
    variants: Optional[List[Dict[str, Any]]] = None


class OrderItem(BaseModel):
    product_id: int = Field(ge=1)
    quantity: int = Field(ge=1, le=1000)
    unit_price: Decimal = Field(ge=Decimal("0.01"))


class Order(BaseModel):
    id: int = Field(ge=1)
    customer_id: int = Field(ge=1)
    items: List[OrderItem] = Field(min_length=1)
    shipping_address: Address
    billing_address: Optional[Address] = None
    total_amount: Optional[Decimal] = Field(default=None, ge=0)
    order_date: datetime
    status: str = Field(pattern=r"^(pending|confirmed|shipped|delivered|cancelled)$")

    @model_validator(mode="after")
    def total(self) -> "Order":
        computed = sum((i.unit_price * i.quantity for i in self.items), Decimal(0))
        if self.total_amount is None:
            self.total_amount = computed
        elif self.total_amount != computed:
            raise ValueError("total_amount is not the sum of quantity x unit_price")
        return self


class MegaBatch(BaseModel):
    users: List[AdvancedUser]
    products: List[Product]
    orders: List[Order]
    timestamp: datetime
    batch_id: str = Field(pattern=r"^[A-Z0-9\-]+$")


# name -> (fixture, validator, items per call); the same cases as the Rust
# criterion bench (crates/shared/benches/validation.rs).
def cases() -> Dict[str, tuple]:
    def reject(data: bytes) -> None:
        try:
            AdvancedUser.model_validate_json(data)
        except ValidationError as e:
            e.errors()
            return
        raise SystemExit("invalid_user.json was accepted")

    return {
        "simple_user": ("simple_user.json", SimpleUser.model_validate_json, 1),
        "advanced_user": ("advanced_user.json", AdvancedUser.model_validate_json, 1),
        "complex_user": ("complex_user.json", ComplexUser.model_validate_json, 1),
        "product": ("product.json", Product.model_validate_json, 1),
        "invalid_user": ("invalid_user.json", reject, 1),
        "users_100": ("users_100.json", TypeAdapter(List[AdvancedUser]).validate_json, 100),
        "products_100": ("products_100.json", TypeAdapter(List[Product]).validate_json, 100),
        "orders_50": ("orders_50.json", TypeAdapter(List[Order]).validate_json, 50),
        "mega_batch": ("mega_batch.json", MegaBatch.model_validate_json, 125),
    }


def throughput(fn, data: bytes, items: int, seconds: float) -> float:
    """Items per second of `fn(data)` over about `seconds`."""
    fn(data)
    calls = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(50):
            fn(data)
        calls += 50
        now = time.perf_counter()
        if now >= deadline:
            return calls * items / (now - start)


def rust(root: Path, name: str, seconds: float) -> float:
    """Rust items/s: the same loop, in `validate_repeat --seconds`."""
    binary = root / "target" / "release" / "examples" / "validate_repeat"
    out = subprocess.run([str(binary), name, "--seconds", str(seconds)],
                         check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root / "scripts"))
    import msgspec
    import msgspec_models
    import pydantic

    fixtures = root / "shared-endpoints" / "fixtures"
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 0.1
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    with_msgspec = msgspec_models.cases()
    import os
    cpus = ",".join(map(str, sorted(os.sched_getaffinity(0))))
    print(f"pydantic {pydantic.VERSION}, msgspec {msgspec.__version__}, Python {sys.version.split()[0]}; "
          f"{rounds} interleaved rounds of {seconds:.1f} s per engine and case, best round each; CPU {cpus}")
    print("| case | Rust items/s | pydantic items/s | msgspec items/s | Rust ÷ pydantic | msgspec ÷ pydantic |")
    print("|---|---:|---:|---:|---:|---:|")
    worst = None
    for name, (file, fn, items) in cases().items():
        data = (fixtures / file).read_bytes()
        best = {"rust": 0.0, "pydantic": 0.0, "msgspec": 0.0}
        for _ in range(rounds):
            best["rust"] = max(best["rust"], rust(root, name, seconds))
            best["pydantic"] = max(best["pydantic"], throughput(fn, data, items, seconds))
            best["msgspec"] = max(best["msgspec"], throughput(with_msgspec[name], data, items, seconds))
        ratio = best["rust"] / best["pydantic"]
        worst = ratio if worst is None else min(worst, ratio)
        print(f"| {name} | {best['rust']:,.0f} | {best['pydantic']:,.0f} | {best['msgspec']:,.0f} "
              f"| {ratio:.1f}× | {best['msgspec'] / best['pydantic']:.1f}× |", flush=True)
    print(f"lowest Rust ÷ pydantic: {worst:.1f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
