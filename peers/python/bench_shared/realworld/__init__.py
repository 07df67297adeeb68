"""The `real_world_scenarios` store, the Python twin of the reference's
`shared::realworld`: a shop (catalog, stock, orders), a blog, accounts and
analytics, seeded deterministically (see `seed`) and safe to share between
threads. No web framework here: `service.Service` has one method per
endpoint over it; a server maps requests to those calls and `ApiError`s to
responses."""

from __future__ import annotations

from dataclasses import dataclass, field

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


def paging(page: int, limit: int, total: int) -> dict:
    """Where a page sits in its listing."""
    pages = -(-total // max(limit, 1))
    return {"page": page, "limit": limit, "total": total, "pages": pages,
            "has_next": page < pages, "has_prev": page > 1}


class RealWorld:
    """Everything one server serves."""

    def __init__(self, config: Config | None = None):
        config = config or Config()
        self.catalog = Catalog()
        self.orders = Orders(config.retain_orders, config.retain_order_bytes)
        self.accounts = Accounts(config.hash_cost, config.token_ttl_seconds, config.max_users)
        self.blog = Blog(config.max_comments, config.max_comment_bytes)
        self.analytics = Analytics(config.analytics)

    def place_order(self, user: int, request: OrderRequest) -> Order:
        """Validates and places an order for `user`: stock is taken for every
        item or none, and the order counts in the analytics of its day."""
        valid = _orders.validate(request, self.catalog, user)
        order = self.orders.place(self.catalog, user, valid)
        ns = order.created_ns
        self.analytics.record_order((ns // 1_000_000_000, ns % 1_000_000_000), order.total_cents)
        return order
