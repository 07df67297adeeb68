//! The server engine: PostgreSQL through tokio-postgres.
//!
//! Reads and single-statement writes go to a few shared connections (one
//! per pool slot, each with its statements prepared once): the queries of
//! every request on a connection are pipelined, as TechEmpower's leading
//! Rust entries do, and a request's own N reads (`/queries`) are sent at
//! once rather than one round trip after another. A transfer needs a
//! connection of its own for its transaction: it takes one from a
//! deadpool-postgres pool. A lost connection (the database restarted, a
//! backend was terminated) fails the requests on it with
//! [`DbError::Unavailable`] and is replaced on the next request.
//!
//! Transfers lock both account rows in id order (`FOR UPDATE`), so two
//! opposite transfers cannot deadlock; a deadlock or serialization failure
//! all the same is retried a bounded number of times.

use super::error::DbError;
use super::model::{Account, Fortune, NewUser, Post, Transfer, User, UserWithPosts, World};
use super::{schema, seed};
use deadpool_postgres::{ManagerConfig, Pool, PoolConfig, RecyclingMethod, Runtime, Timeouts};
use futures_util::future::try_join_all;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Statement};

/// How long connecting may take before the request is refused.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Attempts of a transfer that meets a deadlock or serialization failure.
const TRANSFER_ATTEMPTS: usize = 5;

/// The advisory lock seeding holds, so that servers starting together
/// (several worker processes) seed once.
const SEED_LOCK: i64 = 0x5EED_2026;

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.code() {
            Some(c) if *c == SqlState::UNIQUE_VIOLATION => DbError::Taken { field: "email" },
            // "db error" alone says nothing: the server's own message does.
            _ => DbError::Unavailable(match e.as_db_error() {
                Some(db) => format!("{}: {}", db.severity(), db.message()),
                None => e.to_string(),
            }),
        }
    }
}

impl From<deadpool_postgres::PoolError> for DbError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            other => DbError::Unavailable(other.to_string()),
        }
    }
}

/// Whether a transaction failed only because of another one and may be
/// tried again.
fn retryable(e: &tokio_postgres::Error) -> bool {
    matches!(e.code(), Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED
        || *c == SqlState::T_R_SERIALIZATION_FAILURE)
}

/// One shared connection and its prepared statements.
struct Reader {
    client: Client,
    world: Statement,
    fortunes: Statement,
    update: Statement,
    users: Statement,
    count_users: Statement,
    user: Statement,
    posts: Statement,
    insert_user: Statement,
    account: Statement,
    total: Statement,
}

impl Reader {
    /// One `world` row by id.
    async fn read_world(&self, id: &i32) -> Result<Option<Row>, tokio_postgres::Error> {
        self.client.query_opt(&self.world, &[id]).await
    }

    async fn connect(url: &str) -> Result<Self, DbError> {
        let (client, _driver) = connect(url).await?;
        let prepare = |sql: &'static str| client.prepare(sql);
        let (world, fortunes, update, users, count_users) = tokio::try_join!(
            prepare("SELECT id, randomnumber FROM world WHERE id = $1"),
            prepare("SELECT id, message FROM fortune"),
            // One statement for N rows, in id order (TechEmpower allows a
            // batched update; sorted ids keep row locks in one order).
            prepare(
                "UPDATE world SET randomnumber = v.r \
                 FROM (SELECT * FROM unnest($1::int4[], $2::int4[]) AS t(i, r) ORDER BY 1) AS v \
                 WHERE world.id = v.i"
            ),
            prepare("SELECT id, name, email FROM users ORDER BY id LIMIT $1 OFFSET $2"),
            prepare("SELECT count(*) FROM users"),
        )?;
        let (user, posts, insert_user, account, total) = tokio::try_join!(
            prepare("SELECT id, name, email FROM users WHERE id = $1"),
            prepare("SELECT id, user_id, title, body FROM posts WHERE user_id = $1 ORDER BY id LIMIT $2"),
            prepare("INSERT INTO users (name, email) VALUES ($1, $2) RETURNING id, name, email"),
            prepare("SELECT id, user_id, balance FROM accounts WHERE id = $1"),
            prepare("SELECT coalesce(sum(balance), 0)::int8, count(*) FROM accounts"),
        )?;
        Ok(Self {
            client,
            world,
            fortunes,
            update,
            users,
            count_users,
            user,
            posts,
            insert_user,
            account,
            total,
        })
    }
}

/// Connections to one PostgreSQL database.
pub struct Postgres {
    url: String,
    slots: Vec<Mutex<Option<Arc<Reader>>>>,
    next: AtomicUsize,
    transactions: Pool,
    version: String,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres")
            .field("slots", &self.slots.len())
            .field("version", &self.version)
            .finish()
    }
}

fn world_row(r: &Row) -> World {
    World {
        id: r.get(0),
        random_number: r.get(1),
    }
}

fn user_row(r: &Row) -> User {
    User {
        id: r.get(0),
        name: r.get(1),
        email: r.get(2),
    }
}

fn post_row(r: &Row) -> Post {
    Post {
        id: r.get(0),
        user_id: r.get(1),
        title: r.get(2),
        body: r.get(3),
    }
}

fn account_row(r: &Row) -> Account {
    Account {
        id: r.get(0),
        user_id: r.get(1),
        balance: r.get(2),
    }
}

impl Postgres {
    /// Seeds the database at `url` when it has no tables (or always, when
    /// `fresh`: every table dropped and filled again), on the calling
    /// thread, and prepares `size` shared connections (opened on first
    /// use, on the runtime that uses them) and as many for transactions.
    /// Gives every `world` row too (to fill a cache).
    pub fn open(url: &str, size: usize, fresh: bool) -> Result<(Self, Vec<World>), DbError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| DbError::Unavailable(format!("cannot start a runtime: {e}")))?;
        let (version, worlds) = rt.block_on(prepare_database(url, fresh))?;
        drop(rt);
        let size = size.max(1);
        let mut config = deadpool_postgres::Config::new();
        config.url = Some(url.to_owned());
        config.manager = Some(ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        });
        let mut pool = PoolConfig::new(size);
        pool.timeouts = Timeouts {
            wait: Some(CONNECT_TIMEOUT),
            create: Some(CONNECT_TIMEOUT),
            recycle: Some(CONNECT_TIMEOUT),
        };
        config.pool = Some(pool);
        let transactions = config
            .create_pool(Some(Runtime::Tokio1), NoTls)
            .map_err(|e| DbError::Unavailable(format!("cannot create the pool: {e}")))?;
        let db = Self {
            url: url.to_owned(),
            slots: (0..size).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
            transactions,
            version,
        };
        Ok((db, worlds))
    }

    /// Shared connections (and, as many again, connections for
    /// transactions).
    pub fn size(&self) -> usize {
        self.slots.len()
    }

    /// The server's version (`15.18`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The next shared connection, round robin; a closed one is replaced.
    async fn reader(&self) -> Result<Arc<Reader>, DbError> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        if let Some(r) = crate::sync::lock(&self.slots[i]).as_ref() {
            if !r.client.is_closed() {
                return Ok(r.clone());
            }
        }
        let fresh = Arc::new(Reader::connect(&self.url).await?);
        *crate::sync::lock(&self.slots[i]) = Some(fresh.clone());
        Ok(fresh)
    }

    /// One `world` row.
    pub async fn world(&self, id: i32) -> Result<Option<World>, DbError> {
        let r = self.reader().await?;
        Ok(r.client
            .query_opt(&r.world, &[&id])
            .await?
            .as_ref()
            .map(world_row))
    }

    /// The rows of `ids`, each by its own query, all sent at once.
    pub async fn worlds(&self, ids: &[i32]) -> Result<Vec<World>, DbError> {
        let r = self.reader().await?;
        let rows = try_join_all(ids.iter().map(|id| r.read_world(id))).await?;
        Ok(rows.iter().flatten().map(world_row).collect())
    }

    /// The rows of `ids` read (all sent at once), given `numbers` and
    /// written back by one batched statement.
    pub async fn update_worlds(&self, ids: &[i32], numbers: &[i32]) -> Result<Vec<World>, DbError> {
        let r = self.reader().await?;
        let rows = try_join_all(ids.iter().map(|id| r.read_world(id))).await?;
        let mut worlds: Vec<World> = rows.iter().flatten().map(world_row).collect();
        for (w, &n) in worlds.iter_mut().zip(numbers) {
            w.random_number = n;
        }
        let ids: Vec<i32> = worlds.iter().map(|w| w.id).collect();
        let numbers: Vec<i32> = worlds.iter().map(|w| w.random_number).collect();
        r.client.execute(&r.update, &[&ids, &numbers]).await?;
        Ok(worlds)
    }

    /// Every `fortune` row.
    pub async fn fortunes(&self) -> Result<Vec<Fortune>, DbError> {
        let r = self.reader().await?;
        let rows = r.client.query(&r.fortunes, &[]).await?;
        Ok(rows
            .iter()
            .map(|row| Fortune {
                id: row.get(0),
                message: row.get(1),
            })
            .collect())
    }

    /// A page of users and the number of users (both sent at once).
    pub async fn users(&self, limit: u32, offset: u32) -> Result<(Vec<User>, i64), DbError> {
        let r = self.reader().await?;
        let (limit, offset) = (i64::from(limit), i64::from(offset));
        let params: [&(dyn ToSql + Sync); 2] = [&limit, &offset];
        let (page, count) = tokio::try_join!(
            r.client.query(&r.users, &params),
            r.client.query_one(&r.count_users, &[]),
        )?;
        Ok((page.iter().map(user_row).collect(), count.get(0)))
    }

    /// A user with their posts (both sent at once).
    pub async fn user_with_posts(&self, id: i32) -> Result<UserWithPosts, DbError> {
        let r = self.reader().await?;
        let all = i64::MAX;
        let (one, both): ([&(dyn ToSql + Sync); 1], [&(dyn ToSql + Sync); 2]) =
            ([&id], [&id, &all]);
        let (user, posts) = tokio::try_join!(
            r.client.query_opt(&r.user, &one),
            r.client.query(&r.posts, &both),
        )?;
        let user = user
            .as_ref()
            .map(user_row)
            .ok_or_else(|| DbError::NotFound(format!("user {id}")))?;
        Ok(UserWithPosts {
            user,
            posts: posts.iter().map(post_row).collect(),
        })
    }

    /// Up to `limit` posts of a user, id order.
    pub async fn posts_by_user(&self, user: i32, limit: u32) -> Result<Vec<Post>, DbError> {
        let r = self.reader().await?;
        let rows = r
            .client
            .query(&r.posts, &[&user, &i64::from(limit)])
            .await?;
        Ok(rows.iter().map(post_row).collect())
    }

    /// Inserts a user; the unique index refuses a taken email.
    pub async fn create_user(&self, new: &NewUser) -> Result<User, DbError> {
        let r = self.reader().await?;
        let row = r
            .client
            .query_one(&r.insert_user, &[&new.name, &new.email])
            .await?;
        Ok(user_row(&row))
    }

    /// One account.
    pub async fn account(&self, id: i32) -> Result<Account, DbError> {
        let r = self.reader().await?;
        r.client
            .query_opt(&r.account, &[&id])
            .await?
            .as_ref()
            .map(account_row)
            .ok_or_else(|| DbError::NotFound(format!("account {id}")))
    }

    /// The sum of every balance and the number of accounts.
    pub async fn total(&self) -> Result<(i64, i64), DbError> {
        let r = self.reader().await?;
        let row = r.client.query_one(&r.total, &[]).await?;
        Ok((row.get(0), row.get(1)))
    }

    /// Moves `amount` cents from `from` to `to` in one transaction that
    /// locks both rows in id order; retried on a deadlock or serialization
    /// failure.
    pub async fn transfer(&self, from: i32, to: i32, amount: i64) -> Result<Transfer, DbError> {
        let mut last = None;
        for _ in 0..TRANSFER_ATTEMPTS {
            match self.try_transfer(from, to, amount).await {
                Err(Attempt::Retry(e)) => last = Some(e),
                Err(Attempt::Failed(e)) => return Err(e),
                Ok(t) => return Ok(t),
            }
        }
        Err(DbError::Unavailable(format!(
            "the transfer met {TRANSFER_ATTEMPTS} conflicts in a row: {}",
            last.map_or_else(String::new, |e| e.to_string())
        )))
    }

    async fn try_transfer(&self, from: i32, to: i32, amount: i64) -> Result<Transfer, Attempt> {
        let mut conn = self
            .transactions
            .get()
            .await
            .map_err(|e| Attempt::Failed(e.into()))?;
        let tx = conn.transaction().await?;
        let lock = tx
            .prepare_cached(
                "SELECT id, user_id, balance FROM accounts WHERE id = ANY($1) ORDER BY id FOR UPDATE",
            )
            .await?;
        let rows = tx.query(&lock, &[&vec![from, to]]).await?;
        let find = |id: i32| {
            rows.iter()
                .map(account_row)
                .find(|a| a.id == id)
                .ok_or_else(|| Attempt::Failed(DbError::NotFound(format!("account {id}"))))
        };
        let (payer, payee) = (find(from)?, find(to)?);
        if payer.balance < amount {
            return Err(Attempt::Failed(DbError::InsufficientFunds {
                account: from,
                balance: payer.balance,
                amount,
            }));
        }
        let (from_balance, to_balance) = (payer.balance - amount, payee.balance + amount);
        let set = tx
            .prepare_cached("UPDATE accounts SET balance = $2 WHERE id = $1")
            .await?;
        let record = tx
            .prepare_cached(
                "INSERT INTO transfers (from_id, to_id, amount) VALUES ($1, $2, $3) RETURNING id",
            )
            .await?;
        tx.execute(&set, &[&from, &from_balance]).await?;
        tx.execute(&set, &[&to, &to_balance]).await?;
        let id: i64 = tx.query_one(&record, &[&from, &to, &amount]).await?.get(0);
        tx.commit().await?;
        Ok(Transfer {
            id,
            from,
            to,
            amount,
            from_balance,
            to_balance,
        })
    }
}

/// How one attempt at a transfer ended, when it did not commit.
enum Attempt {
    /// Another transaction was in the way: try again.
    Retry(tokio_postgres::Error),
    /// A final answer.
    Failed(DbError),
}

impl From<tokio_postgres::Error> for Attempt {
    fn from(e: tokio_postgres::Error) -> Self {
        if retryable(&e) {
            Attempt::Retry(e)
        } else {
            Attempt::Failed(e.into())
        }
    }
}

/// A connection to `url` within [`CONNECT_TIMEOUT`], its driver spawned on
/// the current runtime (the handle ends with the connection).
async fn connect(url: &str) -> Result<(Client, tokio::task::JoinHandle<()>), DbError> {
    let (client, connection) =
        tokio::time::timeout(CONNECT_TIMEOUT, tokio_postgres::connect(url, NoTls))
            .await
            .map_err(|_| DbError::Unavailable("connecting to PostgreSQL timed out".into()))??;
    let driver = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!("a PostgreSQL connection ended: {e}");
        }
    });
    Ok((client, driver))
}

/// Connects once, seeds when needed (under an advisory lock) and gives
/// the server's version and every `world` row.
async fn prepare_database(url: &str, fresh: bool) -> Result<(String, Vec<World>), DbError> {
    let (mut client, driver) = connect(url).await?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&SEED_LOCK])
        .await?;
    let seeded = fill(&mut client, fresh).await;
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&SEED_LOCK])
        .await;
    seeded?;
    unlocked?;
    let version: String = client.query_one("SHOW server_version", &[]).await?.get(0);
    let worlds = client
        .query("SELECT id, randomnumber FROM world", &[])
        .await?
        .iter()
        .map(world_row)
        .collect();
    drop(client);
    let _ = driver.await;
    Ok((version, worlds))
}

/// Creates and fills the tables in one transaction, unless they exist and
/// `fresh` is false.
async fn fill(client: &mut Client, fresh: bool) -> Result<(), DbError> {
    let exists: bool = client
        .query_one("SELECT to_regclass('world') IS NOT NULL", &[])
        .await?
        .get(0);
    if exists && !fresh {
        return Ok(());
    }
    let tx = client.transaction().await?;
    tx.batch_execute(&format!(
        "DROP TABLE IF EXISTS {} CASCADE; {}",
        schema::TABLES.join(", "),
        schema::POSTGRES
    ))
    .await?;
    let world = seed::world();
    let (ids, numbers): (Vec<i32>, Vec<i32>) =
        world.iter().map(|w| (w.id, w.random_number)).unzip();
    tx.execute(
        "INSERT INTO world (id, randomnumber) SELECT * FROM unnest($1::int4[], $2::int4[])",
        &[&ids, &numbers],
    )
    .await?;
    let (ids, messages): (Vec<i32>, Vec<String>) = seed::FORTUNES
        .iter()
        .map(|&(id, m)| (id, m.to_owned()))
        .unzip();
    tx.execute(
        "INSERT INTO fortune (id, message) SELECT * FROM unnest($1::int4[], $2::text[])",
        &[&ids, &messages],
    )
    .await?;
    let users = seed::users();
    let ids: Vec<i32> = users.iter().map(|u| u.id).collect();
    let names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
    let emails: Vec<&str> = users.iter().map(|u| u.email.as_str()).collect();
    tx.execute(
        "INSERT INTO users (id, name, email) SELECT * FROM unnest($1::int4[], $2::text[], $3::text[])",
        &[&ids, &names, &emails],
    )
    .await?;
    let posts = seed::posts();
    let ids: Vec<i32> = posts.iter().map(|p| p.id).collect();
    let authors: Vec<i32> = posts.iter().map(|p| p.user_id).collect();
    let titles: Vec<&str> = posts.iter().map(|p| p.title.as_str()).collect();
    let bodies: Vec<&str> = posts.iter().map(|p| p.body.as_str()).collect();
    tx.execute(
        "INSERT INTO posts (id, user_id, title, body) \
         SELECT * FROM unnest($1::int4[], $2::int4[], $3::text[], $4::text[])",
        &[&ids, &authors, &titles, &bodies],
    )
    .await?;
    let accounts = seed::accounts();
    let ids: Vec<i32> = accounts.iter().map(|a| a.id).collect();
    let owners: Vec<i32> = accounts.iter().map(|a| a.user_id).collect();
    let balances: Vec<i64> = accounts.iter().map(|a| a.balance).collect();
    tx.execute(
        "INSERT INTO accounts (id, user_id, balance) SELECT * FROM unnest($1::int4[], $2::int4[], $3::int8[])",
        &[&ids, &owners, &balances],
    )
    .await?;
    tx.batch_execute(
        "SELECT setval('users_id_seq', (SELECT max(id) FROM users)); \
         SELECT setval('posts_id_seq', (SELECT max(id) FROM posts)); \
         ANALYZE",
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
