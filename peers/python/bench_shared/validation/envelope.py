"""The mega batch: users, products and orders in one envelope, answered with
their counts and exact totals."""

from __future__ import annotations

from decimal import Decimal
from typing import Sequence

from . import decimals
from .orders import inventory_value, sum_of


def summary(
    batch_id: str,
    timestamp: str,
    users: int,
    products: Sequence[tuple[Decimal, int]],
    order_totals: Sequence[Decimal],
) -> dict:
    """`{"valid", "batch_id", "timestamp", "users", "products", "orders",
    "order_total", "inventory_value"}`, decimals written exactly."""
    return {
        "valid": True,
        "batch_id": batch_id,
        "timestamp": timestamp,
        "users": users,
        "products": len(products),
        "orders": len(order_totals),
        "order_total": decimals.text(sum_of(order_totals, "orders' total")),
        "inventory_value": decimals.text(inventory_value(products)),
    }
