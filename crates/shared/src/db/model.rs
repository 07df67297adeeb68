//! The database category's models: rows as answered, and the two bodies a
//! client sends, with their rules.

use crate::field_error::{FieldError, ValidationFailure};
use crate::validation::patterns::EMAIL;
use serde::{Deserialize, Serialize};

/// A `world` row as TechEmpower answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct World {
    /// The row id, 1..=10000.
    pub id: i32,
    #[serde(rename = "randomNumber")]
    /// 1..=10000.
    pub random_number: i32,
}

/// A `fortune` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fortune {
    /// The row id (0 for the one added at request time).
    pub id: i32,
    /// The text, rendered escaped.
    pub message: String,
}

/// A user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// The row id.
    pub id: i32,
    /// The display name.
    pub name: String,
    /// Unique among users.
    pub email: String,
}

/// A post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Post {
    /// The row id.
    pub id: i32,
    /// The author.
    pub user_id: i32,
    /// The title.
    pub title: String,
    /// The text.
    pub body: String,
}

/// A user with their posts (id order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserWithPosts {
    #[serde(flatten)]
    /// The user.
    pub user: User,
    /// Their posts, id order.
    pub posts: Vec<Post>,
}

/// An account; the balance in cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Account {
    /// The row id.
    pub id: i32,
    /// The owner.
    pub user_id: i32,
    /// In cents, never below 0.
    pub balance: i64,
}

/// A completed transfer, with both balances after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Transfer {
    /// The `transfers` row recording it.
    pub id: i64,
    /// The paying account.
    pub from: i32,
    /// The paid account.
    pub to: i32,
    /// In cents.
    pub amount: i64,
    /// The payer's balance after it.
    pub from_balance: i64,
    /// The payee's balance after it.
    pub to_balance: i64,
}

/// Longest user name, in bytes.
pub const MAX_NAME: usize = 100;
/// Largest single transfer, in cents (one million units).
pub const MAX_AMOUNT: i64 = 100_000_000;

/// `POST /users`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// 1 to 100 bytes, not blank.
    pub name: String,
    /// An address; unique.
    pub email: String,
}

impl NewUser {
    /// The name 1 to [`MAX_NAME`] bytes and not blank; the email an
    /// address of at most 254 bytes. Uniqueness is the database's to decide.
    pub fn check(&self) -> Result<(), ValidationFailure> {
        let mut errors = Vec::new();
        if self.name.trim().is_empty() || self.name.len() > MAX_NAME {
            errors.push(FieldError::new(
                "name",
                "length",
                format!("must be 1 to {MAX_NAME} bytes, not blank"),
            ));
        }
        if self.email.len() > 254 || !EMAIL.is_match(&self.email) {
            errors.push(FieldError::new(
                "email",
                "email",
                format!("must match {}", EMAIL.as_str()),
            ));
        }
        ValidationFailure::check(errors)
    }
}

/// `POST /transfers`: `amount` cents from account `from` to account `to`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// The paying account.
    pub from: i64,
    /// The paid account.
    pub to: i64,
    /// In cents.
    pub amount: i64,
}

impl TransferRequest {
    /// Ids positive and different, the amount 1 to [`MAX_AMOUNT`] cents.
    /// Whether the accounts exist and can pay is the database's to decide.
    pub fn check(&self) -> Result<(i32, i32), ValidationFailure> {
        let mut errors = Vec::new();
        let id = |field: &str, v: i64, errors: &mut Vec<FieldError>| {
            i32::try_from(v).ok().filter(|v| *v >= 1).or_else(|| {
                errors.push(FieldError::new(
                    field,
                    "range",
                    "must be an account id (1 or more)",
                ));
                None
            })
        };
        let from = id("from", self.from, &mut errors);
        let to = id("to", self.to, &mut errors);
        if from.is_some() && from == to {
            errors.push(FieldError::new(
                "to",
                "same_account",
                "must differ from `from`",
            ));
        }
        if !(1..=MAX_AMOUNT).contains(&self.amount) {
            errors.push(FieldError::new(
                "amount",
                "range",
                format!("must be 1 to {MAX_AMOUNT} cents"),
            ));
        }
        ValidationFailure::check(errors)?;
        Ok((from.unwrap_or_default(), to.unwrap_or_default()))
    }
}
