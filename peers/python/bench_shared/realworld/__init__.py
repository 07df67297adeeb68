"""The `real_world_scenarios` store, the Python twin of the reference's
`shared::realworld`: a shop (catalog, stock, orders), a blog, accounts and
analytics, seeded deterministically (see `seed`) and safe to share between
threads. No web framework here: a server maps requests to these calls and
`ApiError`s to responses."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from .. import errors
from ..gate import Gate
from . import orders as _orders
from .accounts import Accounts, HashCost
from .analytics import Analytics, AnalyticsLimits
from .blog import Blog
from .catalog import Catalog
from .orders import Order, OrderRequest, Orders

CATEGORY = "real_world_scenarios"
MAX_BODY_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Config:
    """Sizes and costs of a store (the reference's flag defaults)."""

    hash_cost: HashCost = field(default_factory=HashCost)
    token_ttl_seconds: int = 3600
    max_users: int = 100_000
    retain_orders: int = 100_000
    retain_order_bytes: int = 64 << 20
    max_comments: int = 100_000
    max_comment_bytes: int = 32 << 20
    analytics: AnalyticsLimits = field(default_factory=AnalyticsLimits)
    hash_workers: int = 0  # 0: one per core
    hash_queue: int = 256


def paging(page: int, limit: int, total: int) -> dict:
    """Where a page sits in its listing."""
    pages = -(-total // max(limit, 1))
    return {"page": page, "limit": limit, "total": total, "pages": pages,
            "has_next": page < pages, "has_prev": page > 1}


class RealWorld:
    """Everything one server serves, plus the gate password hashing runs behind."""

    def __init__(self, config: Config | None = None):
        config = config or Config()
        self.started = time.monotonic()
        self.catalog = Catalog()
        self.orders = Orders(config.retain_orders, config.retain_order_bytes)
        self.accounts = Accounts(config.hash_cost, config.token_ttl_seconds, config.max_users)
        self.blog = Blog(config.max_comments, config.max_comment_bytes)
        self.analytics = Analytics(config.analytics)
        self.hashing = Gate(config.hash_workers or os.cpu_count() or 1, config.hash_queue,
                            name="hashing")

    def place_order(self, user: int, request: OrderRequest) -> Order:
        """Validates and places an order for `user`: stock is taken for every
        item or none, and the order counts in the analytics of its day."""
        valid = _orders.validate(request, self.catalog, user)
        order = self.orders.place(self.catalog, user, valid)
        ns = order.created_ns
        self.analytics.record_order((ns // 1_000_000_000, ns % 1_000_000_000), order.total_cents)
        return order

    def order_for(self, id: int, user: int) -> Order:
        """Order `id` for its owner: 404 unknown or no longer retained, 403
        for anyone else."""
        order = self.orders.get(id)
        if order is None:
            if self.orders.was_evicted(id):
                raise errors.not_found(f"order {id} is no longer retained")
            raise errors.not_found(f"no order {id}")
        if order.user_id != user:
            raise errors.forbidden("forbidden", f"order {id} belongs to another user")
        return order

    def health(self) -> dict:
        """Liveness with the store's sizes and bounds."""
        return {
            "analytics": self.analytics.retention(),
            "category": CATEGORY,
            "comments": self.blog.comment_count(),
            "hashing_load": self.hashing.load(),
            "orders": self.orders.counts(),
            "password_hash": {"algorithm": "argon2id", "cost": self.accounts.cost.as_json()},
            "posts": len(self.blog),
            "products": len(self.catalog),
            "status": "ok",
            "uptime_seconds": int(time.monotonic() - self.started),
            "users": self.accounts.count(),
        }
