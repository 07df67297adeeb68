//! The real_world_scenarios category's endpoints for any server: the seeded
//! store, the hashing gate, and one method per endpoint taking what the
//! request carries (path id, query, identity headers, body) and giving the
//! serialized answer. Password hashing runs on the gate's blocking workers
//! inside [`Service::register`] and [`Service::login`]; everything else is
//! quick work under the store's locks.

mod errors;
pub mod identity;
pub mod params;

pub use identity::{Caller, UserIdHeader};

use super::accounts::{Login, Registration};
use super::analytics::{EventRequest, EVENT_TYPES};
use super::blog::{CommentRequest, PostView};
use super::catalog::ProductView;
use super::orders::OrderRequest;
use super::{Config, Paging, RealWorld};
use crate::api::{parse_json, path_param, Error, Query};
use crate::gate::Gate;
use serde::Serialize;
use serde_json::json;
use std::sync::Arc;
use std::time::Instant;

/// Default largest JSON body of the category.
pub const MAX_BODY_BYTES: usize = crate::api::DEFAULT_MAX_BODY_BYTES;

/// Registrations and logins that may wait for a hashing worker by default
/// (503 beyond).
pub const DEFAULT_HASH_QUEUE: usize = 256;

/// How the service hashes and whom it believes.
#[derive(Debug, Clone)]
pub struct Options {
    /// Hashes computed at once [default: cores].
    pub hash_workers: Option<usize>,
    /// Registrations and logins allowed to wait for a hashing worker.
    pub hash_queue: usize,
    /// Whom `X-User-ID` is believed from.
    pub user_id_header: UserIdHeader,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            hash_workers: None,
            hash_queue: DEFAULT_HASH_QUEUE,
            user_id_header: UserIdHeader::default(),
        }
    }
}

/// The category's state.
pub struct Service {
    /// The seeded store.
    pub world: RealWorld,
    /// Password hashing runs behind this gate.
    pub hashing: Gate,
    user_id_header: UserIdHeader,
    started: Instant,
}

fn to_json(value: &impl Serialize) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value)
        .map_err(|e| Error::internal(format!("response serialization failed: {e}")))
}

impl Service {
    /// Seeds the store (hashing the seeded users' passwords with the
    /// configured cost: blocking, seconds). Fails on argon2 parameters it
    /// refuses.
    pub fn seeded(config: &Config, options: &Options) -> Result<Arc<Self>, String> {
        let started = Instant::now();
        let world = RealWorld::seeded(config)?;
        let workers = options
            .hash_workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        Ok(Arc::new(Self {
            world,
            hashing: Gate::new(workers, options.hash_queue),
            user_id_header: options.user_id_header,
            started,
        }))
    }

    /// `GET /api/products?page&limit&category_id&search&sort_by&sort_order`.
    pub fn products(&self, q: &Query<'_>) -> Result<Vec<u8>, Error> {
        let (query, sort_by, sort_order) = params::product_query(q)?;
        let result = self.world.catalog.list(&query);
        // Serialized straight from the store's views: no JSON tree between.
        #[derive(Serialize)]
        struct Listing<'a> {
            products: &'a [ProductView<'a>],
            pagination: Paging,
            filters: Filters<'a>,
        }
        #[derive(Serialize)]
        struct Filters<'a> {
            category_id: Option<u8>,
            search: Option<&'a str>,
            sort_by: &'a str,
            sort_order: &'a str,
        }
        to_json(&Listing {
            products: &result.items,
            pagination: result.paging,
            filters: Filters {
                category_id: query.category_id,
                search: query.search.as_deref(),
                sort_by,
                sort_order,
            },
        })
    }

    /// `GET /api/products/{id}`: counts a view; with a user (token or
    /// `X-User-ID`) also notes it in their recently viewed products.
    pub fn product(&self, id: &str, caller: &Caller) -> Result<Vec<u8>, Error> {
        let id: u32 = path_param("id", id)?;
        let viewer = caller.optional_user(&self.world, self.user_id_header)?;
        let product = self
            .world
            .catalog
            .view_once(id)
            .ok_or_else(|| Error::not_found(format!("no product {id}")))?;
        if let Some(user) = viewer {
            user.viewed(id);
        }
        to_json(&product)
    }

    /// `POST /api/orders` (201): prices from the catalog, stock taken for
    /// every item or none (409 naming the short ones).
    pub fn place_order(&self, caller: &Caller, body: &[u8]) -> Result<Vec<u8>, Error> {
        let user = caller.user(&self.world, self.user_id_header)?;
        let request: OrderRequest = parse_json(body)?;
        let order = self.world.place_order(user.id, request)?;
        to_json(&*order)
    }

    /// `GET /api/orders/{id}`: only for the user who placed it (403).
    pub fn order(&self, id: &str, caller: &Caller) -> Result<Vec<u8>, Error> {
        let id: u64 = path_param("id", id)?;
        let user = caller.user(&self.world, self.user_id_header)?;
        let orders = &self.world.orders;
        let order = orders.get(id).ok_or_else(|| {
            if orders.was_evicted(id) {
                Error::not_found(format!("order {id} is no longer retained"))
            } else {
                Error::not_found(format!("no order {id}"))
            }
        })?;
        if order.user_id != user.id {
            return Err(Error::forbidden(format!(
                "order {id} belongs to another user"
            )));
        }
        to_json(&*order)
    }

    /// `POST /api/auth/register` (201): the password hashed with argon2id
    /// on a hashing worker (503 when too many wait).
    pub async fn register(self: &Arc<Self>, body: &[u8]) -> Result<Vec<u8>, Error> {
        let registration: Registration = parse_json(body)?;
        registration.validate().map_err(Error::validation)?;
        let this = self.clone();
        let user = self
            .hashing
            .run(move || this.world.accounts.register(registration))
            .await??;
        to_json(&*user)
    }

    /// `POST /api/auth/login`: a bearer token and the user.
    pub async fn login(self: &Arc<Self>, body: &[u8]) -> Result<Vec<u8>, Error> {
        let login: Login = parse_json(body)?;
        let this = self.clone();
        let (user, token) = self
            .hashing
            .run(move || this.world.accounts.login(&login))
            .await??;
        to_json(&json!({
            "access_token": token.access_token,
            "token_type": token.token_type,
            "expires_in": token.expires_in,
            "user": &*user,
        }))
    }

    /// `GET /api/users/me`: the token's user and what they viewed last.
    pub fn me(&self, caller: &Caller) -> Result<Vec<u8>, Error> {
        let user = caller.token_user(&self.world)?;
        let mut body = serde_json::to_value(&*user)
            .map_err(|e| Error::internal(format!("serialization failed: {e}")))?;
        body["recently_viewed"] = json!(user.recently_viewed());
        to_json(&body)
    }

    /// `GET /api/blog/posts?page&limit&status&tag&search`: newest first.
    pub fn posts(&self, q: &Query<'_>) -> Result<Vec<u8>, Error> {
        let query = params::post_query(q)?;
        let result = self.world.blog.list(&query);
        #[derive(Serialize)]
        struct Listing<'a> {
            posts: &'a [PostView<'a>],
            pagination: Paging,
            filters: Filters<'a>,
        }
        #[derive(Serialize)]
        struct Filters<'a> {
            status: &'a str,
            tag: Option<&'a str>,
            search: Option<&'a str>,
        }
        to_json(&Listing {
            posts: &result.items,
            pagination: result.paging,
            filters: Filters {
                status: query.status,
                tag: query.tag.as_deref(),
                search: query.search.as_deref(),
            },
        })
    }

    /// `GET /api/blog/posts/{id}`: the post with its newest comments;
    /// counts a view.
    pub fn post(&self, id: &str) -> Result<Vec<u8>, Error> {
        let id: u32 = path_param("id", id)?;
        let post = self
            .world
            .blog
            .read(id)
            .ok_or_else(|| Error::not_found(format!("no post {id}")))?;
        to_json(&post)
    }

    /// `POST /api/blog/posts/{id}/comments` (201): needs a bearer token.
    pub fn comment(&self, id: &str, caller: &Caller, body: &[u8]) -> Result<Vec<u8>, Error> {
        let id: u32 = path_param("id", id)?;
        let user = caller.token_user(&self.world)?;
        let request: CommentRequest = parse_json(body)?;
        let comment = self.world.blog.comment(id, user.id, request)?;
        to_json(&*comment)
    }

    /// `POST /api/analytics/track` (202): once the event is in the
    /// aggregates.
    pub fn track(&self, body: &[u8]) -> Result<Vec<u8>, Error> {
        let request: EventRequest = parse_json(body)?;
        let analytics = &self.world.analytics;
        let event = request
            .validate(chrono::Utc::now(), analytics.limits().window_days)
            .map_err(Error::validation)?;
        let event = analytics.track(event);
        to_json(&json!({
            "accepted": true,
            "event_id": event.id,
            "event_type": EVENT_TYPES[event.kind],
            "session_id": event.session_id,
            "timestamp": event.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        }))
    }

    /// `GET /api/analytics/dashboard?date_from&date_to`.
    pub fn dashboard(&self, q: &Query<'_>) -> Result<Vec<u8>, Error> {
        let (from, to) = params::dashboard_range(q)?;
        to_json(&self.world.analytics.dashboard(from, to))
    }

    /// `GET /health`: liveness with the store's sizes and bounds.
    pub fn health(&self) -> Result<Vec<u8>, Error> {
        let w = &self.world;
        to_json(&json!({
            "status": "ok",
            "category": "real_world_scenarios",
            "products": w.catalog.len(),
            "users": w.accounts.count(),
            "posts": w.blog.len(),
            "comments": w.blog.comment_count(),
            "orders": w.orders.counts(),
            "analytics": w.analytics.retention_now(),
            "password_hash": { "algorithm": "argon2id", "cost": w.accounts.cost() },
            "hashing_load": self.hashing.load(),
            "uptime_seconds": self.started.elapsed().as_secs(),
        }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::realworld::accounts::HashCost;
    use std::net::IpAddr;

    fn service(user_id_header: UserIdHeader) -> Arc<Service> {
        let config = Config {
            hash_cost: HashCost::CHEAPEST,
            ..Config::default()
        };
        let options = Options {
            user_id_header,
            ..Options::default()
        };
        Service::seeded(&config, &options).unwrap()
    }

    #[test]
    fn a_remote_user_id_header_names_nobody_by_default() {
        let s = service(UserIdHeader::default());
        let remote = Caller::new(None, Some("7"), Some(IpAddr::from([192, 0, 2, 7])));
        let local = Caller::new(None, Some("7"), Some(IpAddr::from([127, 0, 0, 1])));
        // An order needs someone: the remote header is not believed.
        let e = s.order("1", &remote).unwrap_err();
        assert_eq!(e.status, 401);
        // From loopback it names user 7 (who has no order 1: 404).
        assert_eq!(s.order("1", &local).unwrap_err().status, 404);
        // Believed from anyone only when told so.
        let any = service(UserIdHeader::Any);
        assert_eq!(any.order("1", &remote).unwrap_err().status, 404);
    }
}
