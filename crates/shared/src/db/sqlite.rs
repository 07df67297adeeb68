//! The embedded engine: SQLite through rusqlite, a pool of connections used
//! on Tokio's blocking threads (a query blocks; a reactor thread must not).
//!
//! The file is in WAL mode, so readers never wait for the writer; writes
//! (`/updates`, new users, transfers) take SQLite's one write lock at their
//! start (`BEGIN IMMEDIATE`), so two transfers cannot deadlock, and wait for
//! it up to [`BUSY_TIMEOUT`] before the request is refused with
//! [`DbError::Unavailable`]. `synchronous = NORMAL` in WAL mode keeps every
//! committed transaction across a crash of the process (not of the machine).

use super::error::DbError;
use super::model::{Account, Fortune, NewUser, Post, Transfer, User, UserWithPosts, World};
use super::{schema, seed};
use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

/// How long a write waits for SQLite's write lock.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A pool of connections to one SQLite file.
pub struct Sqlite {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
    size: usize,
}

impl std::fmt::Debug for Sqlite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sqlite")
            .field("path", &self.path)
            .field("size", &self.size)
            .finish()
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::ConstraintViolation) if e.to_string().contains("users.email") => {
                DbError::Taken { field: "email" }
            }
            _ => DbError::Unavailable(e.to_string()),
        }
    }
}

/// Opens a connection set up as every connection of the pool is.
fn connect(path: &Path) -> Result<Connection, DbError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
    )?;
    Ok(conn)
}

impl Sqlite {
    /// Opens `path` with `size` connections, creating and seeding the
    /// tables when the file has none (an existing database is used as it
    /// is: a restarted server keeps what was committed). Gives every
    /// `world` row too (to fill a cache).
    pub fn open(path: &Path, size: usize) -> Result<(Self, Vec<World>), DbError> {
        let size = size.max(1);
        let mut first = connect(path)?;
        let seeded: bool = first.query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'world'",
            [],
            |r| r.get(0),
        )?;
        if !seeded {
            fill(&mut first)?;
        }
        let worlds = all_worlds(&first)?;
        let mut idle = vec![first];
        for _ in 1..size {
            idle.push(connect(path)?);
        }
        let db = Self {
            path: path.to_owned(),
            idle: Mutex::new(idle),
            permits: Arc::new(Semaphore::new(size)),
            size,
        };
        Ok((db, worlds))
    }

    /// Connections in the pool.
    pub fn size(&self) -> usize {
        self.size
    }

    /// SQLite's version.
    pub fn version() -> &'static str {
        rusqlite::version()
    }

    /// Runs `job` with a connection of the pool on a blocking thread,
    /// waiting for one to be free. A job that panics loses its connection;
    /// a fresh one takes its place.
    pub async fn with<T, F>(&self, job: F) -> Result<T, DbError>
    where
        F: FnOnce(&mut Connection) -> Result<T, DbError> + Send + 'static,
        T: Send + 'static,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| DbError::Unavailable("the pool is closed".into()))?;
        let conn = crate::sync::lock(&self.idle).pop();
        let mut conn = match conn {
            Some(c) => c,
            None => connect(&self.path)?,
        };
        let done = tokio::task::spawn_blocking(move || {
            let out = job(&mut conn);
            (conn, out)
        })
        .await;
        match done {
            Ok((conn, out)) => {
                crate::sync::lock(&self.idle).push(conn);
                out
            }
            Err(e) => Err(DbError::Unavailable(format!("a database job failed: {e}"))),
        }
    }
}

/// Creates the tables and fills them with the seeded rows, in one
/// transaction.
fn fill(conn: &mut Connection) -> Result<(), DbError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(schema::SQLITE)?;
    {
        let mut st = tx.prepare("INSERT INTO world (id, randomnumber) VALUES (?1, ?2)")?;
        for w in seed::world() {
            st.execute(params![w.id, w.random_number])?;
        }
        let mut st = tx.prepare("INSERT INTO fortune (id, message) VALUES (?1, ?2)")?;
        for (id, message) in seed::FORTUNES {
            st.execute(params![id, message])?;
        }
        let mut st = tx.prepare("INSERT INTO users (id, name, email) VALUES (?1, ?2, ?3)")?;
        for u in seed::users() {
            st.execute(params![u.id, u.name, u.email])?;
        }
        let mut st =
            tx.prepare("INSERT INTO posts (id, user_id, title, body) VALUES (?1, ?2, ?3, ?4)")?;
        for p in seed::posts() {
            st.execute(params![p.id, p.user_id, p.title, p.body])?;
        }
        let mut st =
            tx.prepare("INSERT INTO accounts (id, user_id, balance) VALUES (?1, ?2, ?3)")?;
        for a in seed::accounts() {
            st.execute(params![a.id, a.user_id, a.balance])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// One `world` row.
pub fn world(conn: &Connection, id: i32) -> Result<Option<World>, DbError> {
    let mut st = conn.prepare_cached("SELECT id, randomnumber FROM world WHERE id = ?1")?;
    Ok(st
        .query_row([id], |r| {
            Ok(World {
                id: r.get(0)?,
                random_number: r.get(1)?,
            })
        })
        .optional()?)
}

/// The rows of `ids`, each by its own query; an id without a row is left
/// out.
pub fn worlds(conn: &Connection, ids: &[i32]) -> Result<Vec<World>, DbError> {
    let mut out = Vec::with_capacity(ids.len());
    for &id in ids {
        out.extend(world(conn, id)?);
    }
    Ok(out)
}

/// Every `world` row (to fill a cache).
pub fn all_worlds(conn: &Connection) -> Result<Vec<World>, DbError> {
    let mut st = conn.prepare_cached("SELECT id, randomnumber FROM world")?;
    let rows = st.query_map([], |r| {
        Ok(World {
            id: r.get(0)?,
            random_number: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Reads the rows of `ids` one by one, gives each the matching number of
/// `numbers`, and writes them back in one transaction (in id order).
pub fn update_worlds(
    conn: &mut Connection,
    ids: &[i32],
    numbers: &[i32],
) -> Result<Vec<World>, DbError> {
    let mut rows = worlds(conn, ids)?;
    for (row, &n) in rows.iter_mut().zip(numbers) {
        row.random_number = n;
    }
    let mut order: Vec<&World> = rows.iter().collect();
    order.sort_by_key(|w| w.id);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut st = tx.prepare_cached("UPDATE world SET randomnumber = ?2 WHERE id = ?1")?;
        for w in order {
            st.execute(params![w.id, w.random_number])?;
        }
    }
    tx.commit()?;
    Ok(rows)
}

/// Every `fortune` row.
pub fn fortunes(conn: &Connection) -> Result<Vec<Fortune>, DbError> {
    let mut st = conn.prepare_cached("SELECT id, message FROM fortune")?;
    let rows = st.query_map([], |r| {
        Ok(Fortune {
            id: r.get(0)?,
            message: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        name: r.get(1)?,
        email: r.get(2)?,
    })
}

fn post_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Post> {
    Ok(Post {
        id: r.get(0)?,
        user_id: r.get(1)?,
        title: r.get(2)?,
        body: r.get(3)?,
    })
}

/// A page of users in id order, and how many users there are in all (a
/// paginator's two queries).
pub fn users(conn: &Connection, limit: u32, offset: u32) -> Result<(Vec<User>, i64), DbError> {
    let mut st =
        conn.prepare_cached("SELECT id, name, email FROM users ORDER BY id LIMIT ?1 OFFSET ?2")?;
    let rows = st.query_map(params![limit, offset], user_row)?;
    let page = rows.collect::<Result<_, _>>()?;
    Ok((page, count_users(conn)?))
}

/// How many users there are.
pub fn count_users(conn: &Connection) -> Result<i64, DbError> {
    let mut st = conn.prepare_cached("SELECT count(*) FROM users")?;
    Ok(st.query_row([], |r| r.get(0))?)
}

/// A user with their posts.
pub fn user_with_posts(conn: &Connection, id: i32) -> Result<UserWithPosts, DbError> {
    let mut st = conn.prepare_cached("SELECT id, name, email FROM users WHERE id = ?1")?;
    let user = st
        .query_row([id], user_row)
        .optional()?
        .ok_or_else(|| DbError::NotFound(format!("user {id}")))?;
    let posts = posts_by_user(conn, id, u32::MAX)?;
    Ok(UserWithPosts { user, posts })
}

/// Up to `limit` posts of a user, id order.
pub fn posts_by_user(conn: &Connection, user: i32, limit: u32) -> Result<Vec<Post>, DbError> {
    let mut st = conn.prepare_cached(
        "SELECT id, user_id, title, body FROM posts WHERE user_id = ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = st.query_map(params![user, limit], post_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Inserts a user; the unique index refuses a taken email.
pub fn create_user(conn: &Connection, new: &NewUser) -> Result<User, DbError> {
    let mut st = conn.prepare_cached(
        "INSERT INTO users (name, email) VALUES (?1, ?2) RETURNING id, name, email",
    )?;
    Ok(st.query_row(params![new.name, new.email], user_row)?)
}

/// One account.
pub fn account(conn: &Connection, id: i32) -> Result<Account, DbError> {
    let mut st = conn.prepare_cached("SELECT id, user_id, balance FROM accounts WHERE id = ?1")?;
    st.query_row([id], |r| {
        Ok(Account {
            id: r.get(0)?,
            user_id: r.get(1)?,
            balance: r.get(2)?,
        })
    })
    .optional()?
    .ok_or_else(|| DbError::NotFound(format!("account {id}")))
}

/// The sum of every balance and the number of accounts.
pub fn total(conn: &Connection) -> Result<(i64, i64), DbError> {
    let mut st = conn.prepare_cached("SELECT coalesce(sum(balance), 0), count(*) FROM accounts")?;
    Ok(st.query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

/// Moves `amount` cents from `from` to `to` in one transaction holding the
/// write lock: both rows read, the payer's balance checked, both written
/// and the transfer recorded, or nothing.
pub fn transfer(
    conn: &mut Connection,
    from: i32,
    to: i32,
    amount: i64,
) -> Result<Transfer, DbError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let (payer, payee) = (account(&tx, from)?, account(&tx, to)?);
    if payer.balance < amount {
        return Err(DbError::InsufficientFunds {
            account: from,
            balance: payer.balance,
            amount,
        });
    }
    let (from_balance, to_balance) = (payer.balance - amount, payee.balance + amount);
    let id = {
        let mut set = tx.prepare_cached("UPDATE accounts SET balance = ?2 WHERE id = ?1")?;
        set.execute(params![from, from_balance])?;
        set.execute(params![to, to_balance])?;
        let mut record = tx.prepare_cached(
            "INSERT INTO transfers (from_id, to_id, amount) VALUES (?1, ?2, ?3) RETURNING id",
        )?;
        record.query_row(params![from, to, amount], |r| r.get(0))?
    };
    tx.commit()?;
    Ok(Transfer {
        id,
        from,
        to,
        amount,
        from_balance,
        to_balance,
    })
}
