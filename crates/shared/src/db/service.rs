//! The `database` category's endpoints for any server: one method per
//! endpoint, taking what the request carries (query, path id, body) and
//! giving the serialized answer. Queries run on the engine's pool; nothing
//! here blocks the calling thread.

use super::database::{Database, Location};
use super::error::DbError;
use super::model::{NewUser, TransferRequest, World};
use super::params::row_count;
use super::{fortunes, seed};
use crate::api::{parse_json, path_param, Error, Query};
use crate::{FieldError, ValidationFailure};
use quick_cache::sync::Cache;
use rand::Rng;
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;

/// Largest `limit` of a listing.
pub const MAX_LIMIT: i64 = 100;
/// Largest `offset` of the users listing.
pub const MAX_OFFSET: i64 = 1_000_000;

/// Where the service keeps its rows and how many connections it opens.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The database; `None`: a new SQLite file in a fresh temporary
    /// directory, removed when the service is dropped.
    pub location: Option<Location>,
    /// Connections in the pool [default: twice the cores].
    pub pool_size: Option<usize>,
    /// Drop every table and seed again (a fresh database for a run).
    pub fresh: bool,
}

/// The category's state: the database and the `world` cache.
pub struct Service {
    db: Database,
    cache: Cache<i32, World>,
    started: Instant,
    _scratch: Option<tempfile::TempDir>,
}

impl From<DbError> for Error {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound(_) => Self::not_found(e.to_string()),
            DbError::Taken { field } => Self::conflict("already_exists", e.to_string())
                .with_details(vec![FieldError::new(field, "taken", "already taken")]),
            DbError::InsufficientFunds { .. } => {
                Self::conflict("insufficient_funds", e.to_string())
            }
            DbError::Unavailable(_) => Self::unavailable("database_unavailable", e.to_string()),
        }
    }
}

fn to_json(value: &impl Serialize) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value)
        .map_err(|e| Error::internal(format!("response serialization failed: {e}")))
}

/// `count` random `world` ids.
fn random_ids(count: u16) -> Vec<i32> {
    let mut rng = rand::rng();
    (0..count)
        .map(|_| rng.random_range(1..=seed::WORLD_ROWS))
        .collect()
}

/// `count` different random `world` ids.
fn distinct_ids(count: u16) -> Vec<i32> {
    rand::seq::index::sample(
        &mut rand::rng(),
        seed::WORLD_ROWS as usize,
        usize::from(count),
    )
    .iter()
    .map(|i| i as i32 + 1)
    .collect()
}

/// An integer query parameter: absent → `default`; not an integer → 400;
/// outside `range` → a 422 naming it, collected in `errors`.
fn bounded(
    q: &Query<'_>,
    name: &'static str,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
    errors: &mut Vec<FieldError>,
) -> Result<i64, Error> {
    let v = match q.get::<i128>(name)? {
        None => default,
        Some(v) => i64::try_from(v).unwrap_or(i64::MAX),
    };
    if !range.contains(&v) {
        errors.push(FieldError::new(
            name,
            "range",
            format!("must be from {} to {}", range.start(), range.end()),
        ));
    }
    Ok(v)
}

/// A row id from the path: not an integer → 400; an integer no row can
/// have (0, negative, beyond `i32`) → `None`, answered as absent.
fn row_id(raw: &str) -> Result<Option<i32>, Error> {
    let id: i128 = path_param("id", raw)?;
    Ok(i32::try_from(id).ok().filter(|id| *id >= 1))
}

impl Service {
    /// Opens (creating and seeding when new) the database and fills the
    /// `world` cache from it. Blocks: call before serving.
    pub fn open(options: &Options) -> Result<Arc<Self>, String> {
        let pool = options
            .pool_size
            .unwrap_or_else(|| 2 * std::thread::available_parallelism().map_or(1, |n| n.get()));
        let (location, scratch) = match &options.location {
            Some(l) => (l.clone(), None),
            None => {
                let dir = tempfile::Builder::new()
                    .prefix("bench-database-")
                    .tempdir()
                    .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
                (Location::Sqlite(dir.path().join("bench.db")), Some(dir))
            }
        };
        let (db, worlds) =
            Database::open(&location, pool, options.fresh).map_err(|e| e.to_string())?;
        // quick_cache splits its capacity over shards and evicts from a
        // full one: room for a quarter more keeps every row in (a test
        // checks), so a served `/cached-queries` never misses.
        let cache = Cache::new(seed::WORLD_ROWS as usize * 5 / 4);
        for w in worlds {
            cache.insert(w.id, w);
        }
        Ok(Arc::new(Self {
            db,
            cache,
            started: Instant::now(),
            _scratch: scratch,
        }))
    }

    /// The open database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// `GET /health`: status, engine, pool.
    pub fn health(&self) -> Result<Vec<u8>, Error> {
        #[derive(Serialize)]
        struct Health<'a> {
            status: &'a str,
            category: &'a str,
            engine: String,
            pool_size: usize,
            isolation: &'a str,
            uptime_seconds: u64,
        }
        to_json(&Health {
            status: "ok",
            category: "database",
            engine: self.db.engine(),
            pool_size: self.db.pool_size(),
            isolation: self.db.isolation(),
            uptime_seconds: self.started.elapsed().as_secs(),
        })
    }

    /// `GET /db`: one random row.
    pub async fn db(&self) -> Result<Vec<u8>, Error> {
        let id = random_ids(1)[0];
        let row = self
            .db
            .world(id)
            .await?
            .ok_or_else(|| Error::internal(format!("seeded world row {id} is missing")))?;
        to_json(&row)
    }

    /// `GET /queries?queries=N`: N random rows, each by its own query.
    pub async fn queries(&self, q: &Query<'_>) -> Result<Vec<u8>, Error> {
        let ids = random_ids(row_count(q.str("queries")));
        to_json(&self.db.worlds(ids).await?)
    }

    /// `GET /updates?queries=N`: N different random rows read, given new
    /// random numbers and written back; answers the new values.
    pub async fn updates(&self, q: &Query<'_>) -> Result<Vec<u8>, Error> {
        let n = row_count(q.str("queries"));
        // Distinct rows, so that each answered value is the one stored.
        let ids = distinct_ids(n);
        let numbers = random_ids(n);
        let rows = self.db.update_worlds(ids, numbers).await?;
        for w in &rows {
            // The cache serves what the database holds.
            self.cache.insert(w.id, *w);
        }
        to_json(&rows)
    }

    /// `GET /cached-queries?count=N`: N random rows from the cache, read
    /// through to the database on a miss.
    pub async fn cached_queries(&self, q: &Query<'_>) -> Result<Vec<u8>, Error> {
        let ids = random_ids(row_count(q.str("count")));
        let mut rows = Vec::with_capacity(ids.len());
        for id in ids {
            let row = match self.cache.get(&id) {
                Some(w) => w,
                None => {
                    let w = self.db.world(id).await?.ok_or_else(|| {
                        Error::internal(format!("seeded world row {id} is missing"))
                    })?;
                    self.cache.insert(id, w);
                    w
                }
            };
            rows.push(row);
        }
        to_json(&rows)
    }

    /// `GET /fortunes`: the HTML page.
    pub async fn fortunes(&self) -> Result<String, Error> {
        let rows = self.db.fortunes().await?;
        fortunes::render(rows).map_err(|e| Error::internal(format!("template failed: {e}")))
    }

    /// `GET /world/{id}`: one row (404 when absent).
    pub async fn world(&self, id: &str) -> Result<Vec<u8>, Error> {
        let missing = || Error::not_found(format!("no world row {id}"));
        let id = row_id(id)?.ok_or_else(missing)?;
        to_json(&self.db.world(id).await?.ok_or_else(missing)?)
    }

    /// `GET /users?limit=&offset=`: a page of users by id (limit 1..=100,
    /// default 20; offset from 0, default 0) with the number of users.
    pub async fn users(&self, q: &Query<'_>) -> Result<Vec<u8>, Error> {
        let mut errors = Vec::new();
        let limit = bounded(q, "limit", 20, 1..=MAX_LIMIT, &mut errors)?;
        let offset = bounded(q, "offset", 0, 0..=MAX_OFFSET, &mut errors)?;
        ValidationFailure::check(errors).map_err(Error::validation)?;
        let (limit, offset) = (limit as u32, offset as u32);
        #[derive(Serialize)]
        struct Page<T> {
            users: Vec<T>,
            total: i64,
            limit: u32,
            offset: u32,
        }
        let (users, total) = self.db.users(limit, offset).await?;
        to_json(&Page {
            users,
            total,
            limit,
            offset,
        })
    }

    /// `GET /users/{id}`: a user with their posts.
    pub async fn user(&self, id: &str) -> Result<Vec<u8>, Error> {
        let missing = || Error::not_found(format!("no user {id}"));
        let id = row_id(id)?.ok_or_else(missing)?;
        to_json(&self.db.user_with_posts(id).await?)
    }

    /// `GET /posts/by-user/{id}?limit=`: up to `limit` (1..=100, default
    /// 10) posts of a user, id order; none for an unknown user, 404 for an
    /// id no user can have (0, negative, beyond 32 bits).
    pub async fn posts_by_user(&self, id: &str, q: &Query<'_>) -> Result<Vec<u8>, Error> {
        let mut errors = Vec::new();
        let limit = bounded(q, "limit", 10, 1..=MAX_LIMIT, &mut errors)?;
        ValidationFailure::check(errors).map_err(Error::validation)?;
        // An id no row can have is absent; a possible one without a user
        // has no posts (one query, no lookup of the user first).
        let user = row_id(id)?.ok_or_else(|| Error::not_found(format!("no user {id}")))?;
        #[derive(Serialize)]
        struct Posts<T> {
            user_id: i32,
            posts: Vec<T>,
        }
        let posts = self.db.posts_by_user(user, limit as u32).await?;
        to_json(&Posts {
            user_id: user,
            posts,
        })
    }

    /// `POST /users` (201): validated, then inserted; the unique index
    /// decides a duplicate email (409).
    pub async fn create_user(&self, body: &[u8]) -> Result<Vec<u8>, Error> {
        let new: NewUser = parse_json(body)?;
        new.check().map_err(Error::validation)?;
        to_json(&self.db.create_user(new).await?)
    }

    /// `POST /transfers` (201): `amount` cents between two accounts, all or
    /// nothing.
    pub async fn transfer(&self, body: &[u8]) -> Result<Vec<u8>, Error> {
        let request: TransferRequest = parse_json(body)?;
        let (from, to) = request.check().map_err(Error::validation)?;
        to_json(&self.db.transfer(from, to, request.amount).await?)
    }

    /// `GET /accounts/{id}`.
    pub async fn account(&self, id: &str) -> Result<Vec<u8>, Error> {
        let missing = || Error::not_found(format!("no account {id}"));
        let id = row_id(id)?.ok_or_else(missing)?;
        to_json(&self.db.account(id).await?)
    }

    /// `GET /accounts/total`: the sum of every balance (transfers never
    /// change it) and the number of accounts.
    pub async fn total(&self) -> Result<Vec<u8>, Error> {
        let (total, accounts) = self.db.total().await?;
        to_json(&serde_json::json!({ "total": total, "accounts": accounts }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Every `world` row is in the cache after opening: `/cached-queries`
    /// never reaches the database on a served load.
    #[test]
    fn the_cache_holds_every_world_row() {
        let service = Service::open(&Options::default()).unwrap();
        let missing = (1..=seed::WORLD_ROWS)
            .filter(|id| service.cache.get(id).is_none())
            .count();
        assert_eq!(missing, 0);
    }
}
