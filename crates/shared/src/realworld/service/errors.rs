//! The store's refusals as the contract's errors.

use crate::api::Error;
use crate::realworld::accounts::AccountError;
use crate::realworld::blog::CommentError;
use crate::realworld::orders::OrderError;
use crate::FieldError;

impl From<AccountError> for Error {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Invalid(failure) => Self::validation(failure),
            AccountError::Taken(field) => {
                Self::conflict("already_exists", format!("that {field} is taken"))
                    .with_details(vec![FieldError::new(field, "taken", "already registered")])
            }
            AccountError::BadCredentials => {
                Self::unauthorized("invalid_credentials", "wrong username or password")
            }
            AccountError::BadToken(why) => Self::unauthorized("invalid_token", why),
            AccountError::Full(n) => Self::unavailable(
                "user_limit",
                format!("the server holds its limit of {n} accounts"),
            ),
        }
    }
}

impl From<OrderError> for Error {
    fn from(e: OrderError) -> Self {
        match e {
            OrderError::Invalid(failure) => Self::validation(failure),
            OrderError::WrongUser { acting, claimed } => {
                Self::forbidden(format!("user {acting} cannot order for user {claimed}"))
            }
            OrderError::OutOfStock(short) => Self::conflict(
                "insufficient_stock",
                "not enough stock for every item; nothing was reserved",
            )
            .with_details(short.iter().map(|s| s.field_error()).collect()),
        }
    }
}

impl From<CommentError> for Error {
    fn from(e: CommentError) -> Self {
        match e {
            CommentError::NoPost(id) => Self::not_found(format!("no post {id}")),
            CommentError::Closed(status) => Self::conflict(
                "comments_closed",
                format!("the post is {status}; only published posts take comments"),
            ),
            CommentError::Invalid(failure) => Self::validation(failure),
            CommentError::Full(n) => Self::unavailable(
                "comment_limit",
                format!("the server holds its limit of {n} comments"),
            ),
        }
    }
}
