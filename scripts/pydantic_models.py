"""The validation category's models for pydantic v2, with the constraints of
shared/reference models.md (the same rules the Rust engine applies), and a
throughput loop over the suite's fixture files."""

from __future__ import annotations

import json
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


def estimate(criterion_dir: Path, name: str) -> Optional[float]:
    """Rust items/s from criterion's estimates (mean ns per iteration)."""
    base = criterion_dir / "validate" / name / "new"
    try:
        mean_ns = json.loads((base / "estimates.json").read_text())["mean"]["point_estimate"]
        bench = json.loads((base / "benchmark.json").read_text())
        items = bench.get("throughput", {}).get("Elements", 1)
    except (OSError, KeyError, ValueError):
        return None
    return items / (mean_ns * 1e-9)


def rust_case(root: Path, name: str) -> None:
    """Runs the criterion bench of one case (its estimates land in target/criterion)."""
    subprocess.run(
        ["cargo", "bench", "--quiet", "-p", "shared", "--bench", "validation", "--",
         "--noplot", "--exact", f"validate/{name}"],
        cwd=root, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    fixtures = root / "shared-endpoints" / "fixtures"
    criterion_dir = root / "target" / "criterion"
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    interleave = "--no-rust" not in sys.argv
    import pydantic

    print(f"pydantic {pydantic.VERSION}, Python {sys.version.split()[0]}; {seconds:.1f} s per case; "
          f"each case's Rust bench runs right before its pydantic loop")
    print("| case | pydantic items/s | Rust items/s | Rust ÷ pydantic |")
    print("|---|---:|---:|---:|")
    worst = None
    for name, (file, fn, items) in cases().items():
        if interleave:
            rust_case(root, name)
        data = (fixtures / file).read_bytes()
        py = throughput(fn, data, items, seconds)
        rust = estimate(criterion_dir, name)
        ratio = rust / py if rust else None
        if ratio is not None:
            worst = ratio if worst is None else min(worst, ratio)
        rust_text = f"{rust:,.0f}" if rust else "(run the bench)"
        ratio_text = f"{ratio:.1f}×" if ratio else "–"
        print(f"| {name} | {py:,.0f} | {rust_text} | {ratio_text} |", flush=True)
    if worst is not None:
        print(f"lowest ratio: {worst:.1f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
