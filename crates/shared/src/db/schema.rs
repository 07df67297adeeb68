//! The tables, the same names and columns on every engine. Column names are
//! lower case so that PostgreSQL and SQLite agree without quoting.
//!
//! Invariants the statements below keep, whatever a server does:
//! `accounts.balance >= 0` (a `CHECK`), `users.email` unique (a `UNIQUE`
//! index decides duplicates, never a lookup first), `posts.user_id` and
//! both ends of a transfer name existing rows (foreign keys).

/// SQLite's schema (`PRAGMA foreign_keys = ON` per connection).
pub const SQLITE: &str = "
CREATE TABLE world (
    id INTEGER PRIMARY KEY,
    randomnumber INTEGER NOT NULL
);
CREATE TABLE fortune (
    id INTEGER PRIMARY KEY,
    message TEXT NOT NULL
);
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE
);
CREATE TABLE posts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id),
    title TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX posts_user_id ON posts(user_id);
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    balance INTEGER NOT NULL CHECK (balance >= 0)
);
CREATE TABLE transfers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    from_id INTEGER NOT NULL REFERENCES accounts(id),
    to_id INTEGER NOT NULL REFERENCES accounts(id),
    amount INTEGER NOT NULL CHECK (amount > 0)
);
";

/// The tables in the order they are filled (and emptied in reverse).
pub const TABLES: [&str; 6] = [
    "world",
    "fortune",
    "users",
    "posts",
    "accounts",
    "transfers",
];

/// PostgreSQL's schema.
pub const POSTGRES: &str = "
CREATE TABLE world (
    id integer PRIMARY KEY,
    randomnumber integer NOT NULL
);
CREATE TABLE fortune (
    id integer PRIMARY KEY,
    message varchar(2048) NOT NULL
);
CREATE TABLE users (
    id serial PRIMARY KEY,
    name text NOT NULL,
    email text NOT NULL UNIQUE
);
CREATE TABLE posts (
    id serial PRIMARY KEY,
    user_id integer NOT NULL REFERENCES users(id),
    title text NOT NULL,
    body text NOT NULL
);
CREATE INDEX posts_user_id ON posts(user_id);
CREATE TABLE accounts (
    id integer PRIMARY KEY,
    user_id integer NOT NULL REFERENCES users(id),
    balance bigint NOT NULL CHECK (balance >= 0)
);
CREATE TABLE transfers (
    id bigserial PRIMARY KEY,
    from_id integer NOT NULL REFERENCES accounts(id),
    to_id integer NOT NULL REFERENCES accounts(id),
    amount bigint NOT NULL CHECK (amount > 0)
);
";
