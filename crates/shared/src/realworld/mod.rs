//! The `real_world_scenarios` store: a shop (catalog, stock, orders), a
//! blog, accounts and analytics, seeded deterministically (see [`seed`])
//! and safe to share between threads. No HTTP types: a server maps requests
//! to these calls and errors to statuses.

pub mod accounts;
pub mod analytics;
pub mod blog;
pub mod catalog;
pub mod orders;
pub mod search;
pub mod seed;
pub mod service;
#[cfg(test)]
mod tests;
mod wire;

use accounts::{Accounts, HashCost};
use analytics::{Analytics, AnalyticsLimits};
use blog::Blog;
use catalog::Catalog;
use orders::{Order, OrderError, OrderRequest, Orders};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// One page of a listing and where it sits.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The page's items.
    pub items: Vec<T>,
    /// Paging figures.
    pub paging: Paging,
}

/// Where a page sits in its listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Paging {
    /// 1-based page number.
    pub page: usize,
    /// Page size.
    pub limit: usize,
    /// Items matching the filters.
    pub total: usize,
    /// Pages the total fills.
    pub pages: usize,
    /// Whether a later page has items.
    pub has_next: bool,
    /// Whether this is not the first page.
    pub has_prev: bool,
}

impl<T> Page<T> {
    /// A page of `items` out of `total` matches.
    pub fn new(items: Vec<T>, total: usize, page: usize, limit: usize) -> Self {
        let pages = total.div_ceil(limit.max(1));
        Self {
            items,
            paging: Paging {
                page,
                limit,
                total,
                pages,
                has_next: page < pages,
                has_prev: page > 1,
            },
        }
    }
}

/// Sizes and costs of a store.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Password hashing cost.
    pub hash_cost: HashCost,
    /// Lifetime of bearer tokens.
    pub token_ttl: Duration,
    /// Most accounts (seeded ones included).
    pub max_users: usize,
    /// Orders retained (older ones are evicted, counted).
    pub retain_orders: usize,
    /// Estimated bytes of retained orders, at most.
    pub retain_order_bytes: usize,
    /// Most comments over all posts.
    pub max_comments: usize,
    /// Bytes of comments over all posts, at most.
    pub max_comment_bytes: usize,
    /// Analytics bounds.
    pub analytics: AnalyticsLimits,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            hash_cost: HashCost::default(),
            token_ttl: Duration::from_secs(3600),
            max_users: 100_000,
            retain_orders: 100_000,
            retain_order_bytes: 64 << 20,
            max_comments: 100_000,
            max_comment_bytes: 32 << 20,
            analytics: AnalyticsLimits::default(),
        }
    }
}

/// Everything one server serves.
pub struct RealWorld {
    /// Products, stock, views.
    pub catalog: Catalog,
    /// Placed orders.
    pub orders: Orders,
    /// Users and tokens.
    pub accounts: Accounts,
    /// Posts and comments.
    pub blog: Blog,
    /// Events and aggregates.
    pub analytics: Analytics,
}

impl RealWorld {
    /// Seeds everything; fails only on argon2 cost parameters it refuses.
    pub fn seeded(config: &Config) -> Result<Self, String> {
        Ok(Self {
            catalog: Catalog::seeded(),
            orders: Orders::new(config.retain_orders, config.retain_order_bytes),
            accounts: Accounts::seeded(config.hash_cost, config.token_ttl, config.max_users)?,
            blog: Blog::seeded(config.max_comments, config.max_comment_bytes),
            analytics: Analytics::new(config.analytics),
        })
    }

    /// Validates and places an order for `user`: stock is taken for every
    /// item or none, and the order counts in the analytics of its day.
    pub fn place_order(&self, user: u32, request: OrderRequest) -> Result<Arc<Order>, OrderError> {
        let valid = request.validate(&self.catalog, user)?;
        let order = self.orders.place(&self.catalog, user, valid)?;
        self.analytics
            .record_order(order.created_at, order.total_amount);
        Ok(order)
    }
}
