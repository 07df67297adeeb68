//! Where the rows live ([`Location`], from a `--database` URL) and the
//! engine that reaches them ([`Database`]), behind one set of async calls.

use super::error::DbError;
use super::model::{Account, Fortune, NewUser, Post, Transfer, User, UserWithPosts, World};
use super::postgres::Postgres;
use super::sqlite::{self, Sqlite};
use std::path::PathBuf;

/// A database named by URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `sqlite://PATH` (relative) or `sqlite:///PATH` (absolute): a file,
    /// created and seeded when it has no tables yet.
    Sqlite(PathBuf),
    /// `postgres://USER@HOST:PORT/DB` (or `postgresql://`): a server,
    /// seeded when the database has no tables.
    Postgres(String),
}

impl Location {
    /// Reads a `--database` value.
    pub fn parse(url: &str) -> Result<Self, String> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("sqlite:// needs a file path (sqlite://PATH)".into());
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        Err(format!(
            "unknown database URL {url:?}: expected sqlite://PATH or postgres://…"
        ))
    }

    /// The engine's name.
    pub fn engine(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

/// An open database.
#[derive(Debug)]
pub enum Database {
    /// SQLite through a pool of connections.
    Sqlite(Sqlite),
    /// PostgreSQL through shared, pipelined connections.
    Postgres(Postgres),
}

impl Database {
    /// Opens `location` with `pool` connections, seeding a database
    /// without tables; `fresh` drops every table and seeds it again.
    /// Blocks (seeding). Gives every `world` row too (to fill a cache).
    pub fn open(
        location: &Location,
        pool: usize,
        fresh: bool,
    ) -> Result<(Self, Vec<World>), DbError> {
        match location {
            Location::Sqlite(path) => {
                if fresh {
                    for suffix in ["", "-wal", "-shm"] {
                        let mut file = path.clone().into_os_string();
                        file.push(suffix);
                        match std::fs::remove_file(&file) {
                            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                                return Err(DbError::Unavailable(format!(
                                    "cannot remove {}: {e}",
                                    path.display()
                                )))
                            }
                            _ => {}
                        }
                    }
                }
                let (db, worlds) = Sqlite::open(path, pool)?;
                Ok((Self::Sqlite(db), worlds))
            }
            Location::Postgres(url) => {
                let (db, worlds) = Postgres::open(url, pool, fresh)?;
                Ok((Self::Postgres(db), worlds))
            }
        }
    }

    /// The engine's name and version (`SQLite 3.46.0`).
    pub fn engine(&self) -> String {
        match self {
            Self::Sqlite(_) => format!("SQLite {}", Sqlite::version()),
            Self::Postgres(db) => format!("PostgreSQL {}", db.version()),
        }
    }

    /// Connections in the pool.
    pub fn pool_size(&self) -> usize {
        match self {
            Self::Sqlite(db) => db.size(),
            Self::Postgres(db) => db.size(),
        }
    }

    /// The isolation level writes run at.
    pub fn isolation(&self) -> &'static str {
        match self {
            // One writer at a time: every transaction is serializable.
            Self::Sqlite(_) => "serializable",
            // PostgreSQL's default; transfers lock their rows.
            Self::Postgres(_) => "read committed",
        }
    }

    /// One `world` row.
    pub async fn world(&self, id: i32) -> Result<Option<World>, DbError> {
        match self {
            Self::Sqlite(db) => db.with(move |c| sqlite::world(c, id)).await,
            Self::Postgres(db) => db.world(id).await,
        }
    }

    /// The rows of `ids`, each by its own query.
    pub async fn worlds(&self, ids: Vec<i32>) -> Result<Vec<World>, DbError> {
        match self {
            Self::Sqlite(db) => db.with(move |c| sqlite::worlds(c, &ids)).await,
            Self::Postgres(db) => db.worlds(&ids).await,
        }
    }

    /// The rows of `ids` read one by one, given `numbers` and written back.
    pub async fn update_worlds(
        &self,
        ids: Vec<i32>,
        numbers: Vec<i32>,
    ) -> Result<Vec<World>, DbError> {
        match self {
            Self::Sqlite(db) => {
                db.with(move |c| sqlite::update_worlds(c, &ids, &numbers))
                    .await
            }
            Self::Postgres(db) => db.update_worlds(&ids, &numbers).await,
        }
    }

    /// Every `fortune` row.
    pub async fn fortunes(&self) -> Result<Vec<Fortune>, DbError> {
        match self {
            Self::Sqlite(db) => db.with(|c| sqlite::fortunes(c)).await,
            Self::Postgres(db) => db.fortunes().await,
        }
    }

    /// A page of users, id order, and the number of users.
    pub async fn users(&self, limit: u32, offset: u32) -> Result<(Vec<User>, i64), DbError> {
        match self {
            Self::Sqlite(db) => db.with(move |c| sqlite::users(c, limit, offset)).await,
            Self::Postgres(db) => db.users(limit, offset).await,
        }
    }

    /// A user with their posts ([`DbError::NotFound`] when absent).
    pub async fn user_with_posts(&self, id: i32) -> Result<UserWithPosts, DbError> {
        match self {
            Self::Sqlite(db) => db.with(move |c| sqlite::user_with_posts(c, id)).await,
            Self::Postgres(db) => db.user_with_posts(id).await,
        }
    }

    /// Up to `limit` posts of a user, id order.
    pub async fn posts_by_user(&self, user: i32, limit: u32) -> Result<Vec<Post>, DbError> {
        match self {
            Self::Sqlite(db) => {
                db.with(move |c| sqlite::posts_by_user(c, user, limit))
                    .await
            }
            Self::Postgres(db) => db.posts_by_user(user, limit).await,
        }
    }

    /// Inserts a (validated) user; [`DbError::Taken`] for a taken email.
    pub async fn create_user(&self, new: NewUser) -> Result<User, DbError> {
        match self {
            Self::Sqlite(db) => db.with(move |c| sqlite::create_user(c, &new)).await,
            Self::Postgres(db) => db.create_user(&new).await,
        }
    }

    /// One account.
    pub async fn account(&self, id: i32) -> Result<Account, DbError> {
        match self {
            Self::Sqlite(db) => db.with(move |c| sqlite::account(c, id)).await,
            Self::Postgres(db) => db.account(id).await,
        }
    }

    /// The sum of every balance and the number of accounts.
    pub async fn total(&self) -> Result<(i64, i64), DbError> {
        match self {
            Self::Sqlite(db) => db.with(|c| sqlite::total(c)).await,
            Self::Postgres(db) => db.total().await,
        }
    }

    /// Moves `amount` cents from `from` to `to`, all or nothing.
    pub async fn transfer(&self, from: i32, to: i32, amount: i64) -> Result<Transfer, DbError> {
        match self {
            Self::Sqlite(db) => {
                db.with(move |c| sqlite::transfer(c, from, to, amount))
                    .await
            }
            Self::Postgres(db) => db.transfer(from, to, amount).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_an_engine_or_say_why_not() {
        assert_eq!(
            Location::parse("sqlite:///tmp/x.db"),
            Ok(Location::Sqlite("/tmp/x.db".into()))
        );
        assert_eq!(
            Location::parse("sqlite://bench.db"),
            Ok(Location::Sqlite("bench.db".into()))
        );
        assert!(Location::parse("sqlite://").is_err());
        assert_eq!(
            Location::parse("postgres://bench@127.0.0.1:5432/bench"),
            Ok(Location::Postgres(
                "postgres://bench@127.0.0.1:5432/bench".into()
            ))
        );
        assert!(Location::parse("mysql://x").is_err());
    }
}
