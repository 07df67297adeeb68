//! The category's own flags.

use bytesize::ByteSize;
use shared::realworld::accounts::HashCost;
use shared::realworld::analytics::AnalyticsLimits;
use shared::realworld::Config;
use std::time::Duration;

/// Flags of the `real_world_scenarios` server (besides the common ones).
#[derive(Debug, Clone, clap::Args)]
pub struct WorldArgs {
    /// argon2id memory cost in KiB (OWASP's minimum is 19456).
    #[arg(long, default_value_t = 19_456)]
    pub argon2_memory_kib: u32,
    /// argon2id passes.
    #[arg(long, default_value_t = 2)]
    pub argon2_iterations: u32,
    /// argon2id lanes.
    #[arg(long, default_value_t = 1)]
    pub argon2_parallelism: u32,
    /// Password hashes computed at once [default: number of cores].
    #[arg(long)]
    pub hash_workers: Option<usize>,
    /// Registrations and logins that may wait for a hashing worker; more get
    /// 503.
    #[arg(long, default_value_t = shared::realworld::service::DEFAULT_HASH_QUEUE)]
    pub hash_queue: usize,
    /// Whom the `X-User-ID` header is believed from: `loopback` clients
    /// only, `any` (behind a gateway that sets it) or `off` (bearer tokens
    /// only). It proves nothing by itself.
    #[arg(long, default_value = "loopback")]
    pub user_id_header: shared::realworld::service::UserIdHeader,
    /// Lifetime of bearer tokens.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub token_ttl: Duration,
    /// Most accounts, seeded ones included; more registrations get 503.
    #[arg(long, default_value_t = 100_000)]
    pub max_users: usize,
    /// Orders retained; older ones are evicted (and counted).
    #[arg(long, default_value_t = 100_000)]
    pub retain_orders: usize,
    /// Estimated bytes of retained orders; older ones are evicted past it.
    #[arg(long, default_value = "64MiB")]
    pub retain_order_bytes: ByteSize,
    /// Most comments over all posts; more get 503.
    #[arg(long, default_value_t = 100_000)]
    pub max_comments: usize,
    /// Bytes of comments over all posts; more get 503.
    #[arg(long, default_value = "32MiB")]
    pub max_comment_bytes: ByteSize,
    /// Days of analytics kept, counting back from today.
    #[arg(long, default_value_t = 3650)]
    pub analytics_days: u32,
    /// Raw analytics events retained (the newest).
    #[arg(long, default_value_t = 10_000)]
    pub analytics_events: usize,
    /// Bytes of retained raw analytics events.
    #[arg(long, default_value = "16MiB")]
    pub analytics_event_bytes: ByteSize,
    /// Bytes of distinct (day, page) and (day, session) entries; past it
    /// the oldest days are summarized (top pages and session count kept).
    #[arg(long, default_value = "32MiB")]
    pub analytics_key_bytes: ByteSize,
}

impl WorldArgs {
    /// The store configuration these flags describe.
    pub fn config(&self) -> Config {
        Config {
            hash_cost: HashCost {
                memory_kib: self.argon2_memory_kib,
                iterations: self.argon2_iterations,
                parallelism: self.argon2_parallelism,
            },
            token_ttl: self.token_ttl,
            max_users: self.max_users,
            retain_orders: self.retain_orders,
            retain_order_bytes: bytes(self.retain_order_bytes),
            max_comments: self.max_comments,
            max_comment_bytes: bytes(self.max_comment_bytes),
            analytics: AnalyticsLimits {
                window_days: self.analytics_days,
                retained_events: self.analytics_events,
                retained_event_bytes: bytes(self.analytics_event_bytes),
                key_bytes: bytes(self.analytics_key_bytes),
            },
        }
    }
}

impl WorldArgs {
    /// The seeded service with these flags' cost, bounds and hashing gate.
    pub fn service(&self) -> Result<std::sync::Arc<shared::realworld::service::Service>, String> {
        let options = shared::realworld::service::Options {
            hash_workers: self.hash_workers,
            hash_queue: self.hash_queue,
            user_id_header: self.user_id_header,
        };
        shared::realworld::service::Service::seeded(&self.config(), &options)
    }
}

fn bytes(size: ByteSize) -> usize {
    usize::try_from(size.as_u64()).unwrap_or(usize::MAX)
}
