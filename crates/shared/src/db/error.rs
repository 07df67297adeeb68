//! What the database domain can refuse, without HTTP: each server maps a
//! kind to its status (404, 409, 422, 503).

/// A database operation's failure.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No such row (`what` names it, e.g. `user 12`).
    #[error("{0} not found")]
    NotFound(String),
    /// A unique constraint refused the row (`field` is the column).
    #[error("{field} is already taken")]
    Taken {
        /// The column.
        field: &'static str,
    },
    /// The paying account has less than the amount.
    #[error("account {account} has {balance} cents, {amount} asked")]
    InsufficientFunds {
        /// The paying account.
        account: i32,
        /// Its balance, in cents.
        balance: i64,
        /// The amount asked, in cents.
        amount: i64,
    },
    /// The database cannot be reached or gave up (busy past the retries,
    /// a lost connection): the request may be tried again.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
}
