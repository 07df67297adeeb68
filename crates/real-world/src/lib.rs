//! Routes of the `real_world_scenarios` category over the shared store
//! (`shared::realworld`): a shop, a blog, accounts and analytics. Handlers
//! parse and check what HTTP carries (query values, headers, tokens) and map
//! the store's refusals to statuses; everything else is the store's.

pub mod config;
mod identity;
mod routes;

use config::WorldArgs;
use http::Method;
use server_kit::{with_state, Gate, Router};
use shared::realworld::RealWorld;
use std::sync::Arc;
use std::time::Instant;

/// Port the server listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 8400;

/// Value of the `Server` header.
pub const SERVER_NAME: &str = "feature-bench";

/// Shared state of the routes.
pub struct App {
    /// The seeded store.
    pub world: RealWorld,
    /// Password hashing runs behind this gate.
    pub hashing: Gate,
    /// Start time.
    pub started: Instant,
}

impl App {
    /// Seeds the store (hashing the seeded users' passwords with the chosen
    /// cost); fails on argon2 parameters it refuses.
    pub fn seeded(args: &WorldArgs) -> Result<Arc<Self>, String> {
        let started = Instant::now();
        let world = RealWorld::seeded(&args.config())?;
        tracing::info!(elapsed = ?started.elapsed(), "store seeded");
        let workers = args
            .hash_workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        Ok(Arc::new(Self {
            world,
            hashing: Gate::new(workers, args.hash_queue),
            started,
        }))
    }
}

/// The category's routes.
pub fn router(app: &Arc<App>) -> Router {
    use routes::{analytics, auth, blog, shop};
    Router::new()
        .route(
            Method::GET,
            "/health",
            with_state(app, |a, _| routes::health(a)),
        )
        .route(Method::GET, "/api/products", with_state(app, shop::list))
        .route(
            Method::GET,
            "/api/products/{id}",
            with_state(app, shop::product),
        )
        .route(
            Method::POST,
            "/api/orders",
            with_state(app, shop::place_order),
        )
        .route(
            Method::GET,
            "/api/orders/{id}",
            with_state(app, shop::order),
        )
        .route(
            Method::POST,
            "/api/auth/register",
            with_state(app, auth::register),
        )
        .route(
            Method::POST,
            "/api/auth/login",
            with_state(app, auth::login),
        )
        .route(Method::GET, "/api/users/me", with_state(app, auth::me))
        .route(Method::GET, "/api/blog/posts", with_state(app, blog::list))
        .route(
            Method::GET,
            "/api/blog/posts/{id}",
            with_state(app, blog::post),
        )
        .route(
            Method::POST,
            "/api/blog/posts/{id}/comments",
            with_state(app, blog::comment),
        )
        .route(
            Method::POST,
            "/api/analytics/track",
            with_state(app, analytics::track),
        )
        .route(
            Method::GET,
            "/api/analytics/dashboard",
            with_state(app, analytics::dashboard),
        )
}
