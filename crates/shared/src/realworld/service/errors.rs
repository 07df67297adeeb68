//! The store's refusals as the contract's errors. Messages are the
//! errors' own where those suit a client; a bad token's answer says only
//! why, and a shortage's lists the products in its details.

use crate::api::Error;
use crate::realworld::accounts::AccountError;
use crate::realworld::blog::CommentError;
use crate::realworld::orders::OrderError;
use crate::FieldError;

impl From<AccountError> for Error {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Invalid(failure) => Self::validation(failure),
            AccountError::Taken(field) => Self::conflict("already_exists", e.to_string())
                .with_details(vec![FieldError::new(field, "taken", "already registered")]),
            AccountError::BadCredentials => {
                Self::unauthorized("invalid_credentials", e.to_string())
            }
            AccountError::BadToken(why) => Self::unauthorized("invalid_token", why),
            AccountError::Full(_) => Self::unavailable("user_limit", e.to_string()),
        }
    }
}

impl From<OrderError> for Error {
    fn from(e: OrderError) -> Self {
        match e {
            OrderError::Invalid(failure) => Self::validation(failure),
            OrderError::WrongUser { .. } => Self::forbidden(e.to_string()),
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
            CommentError::NoPost(_) => Self::not_found(e.to_string()),
            CommentError::Closed(_) => Self::conflict("comments_closed", e.to_string()),
            CommentError::Invalid(failure) => Self::validation(failure),
            CommentError::Full(_) => Self::unavailable("comment_limit", e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realworld::catalog::Shortage;

    fn answer(e: impl Into<Error>) -> (u16, &'static str, String) {
        let e = e.into();
        (e.status, e.code, e.message)
    }

    /// The answers clients get, pinned: status, code and message.
    #[test]
    fn answers_are_the_contracts() {
        let cases = [
            (
                answer(AccountError::Taken("username")),
                (409, "already_exists", "that username is taken"),
            ),
            (
                answer(AccountError::BadCredentials),
                (401, "invalid_credentials", "wrong username or password"),
            ),
            (
                answer(AccountError::BadToken("token expired")),
                (401, "invalid_token", "token expired"),
            ),
            (
                answer(AccountError::Full(5)),
                (
                    503,
                    "user_limit",
                    "the server holds its limit of 5 accounts",
                ),
            ),
            (
                answer(OrderError::WrongUser {
                    acting: 3,
                    claimed: 4,
                }),
                (403, "forbidden", "user 3 cannot order for user 4"),
            ),
            (
                answer(OrderError::OutOfStock(vec![Shortage {
                    item: 1,
                    product_id: 9,
                    requested: 5,
                    available: 2,
                }])),
                (
                    409,
                    "insufficient_stock",
                    "not enough stock for every item; nothing was reserved",
                ),
            ),
            (
                answer(CommentError::NoPost(7)),
                (404, "not_found", "no post 7"),
            ),
            (
                answer(CommentError::Closed("draft")),
                (
                    409,
                    "comments_closed",
                    "the post is draft; only published posts take comments",
                ),
            ),
            (
                answer(CommentError::Full(6)),
                (
                    503,
                    "comment_limit",
                    "the server holds its limit of 6 comments",
                ),
            ),
        ];
        for ((status, code, message), want) in cases {
            assert_eq!((status, code, message.as_str()), want);
        }
        let short = Error::from(OrderError::OutOfStock(vec![Shortage {
            item: 1,
            product_id: 9,
            requested: 5,
            available: 2,
        }]));
        assert_eq!(
            short.details,
            [FieldError::new(
                "items[1].quantity",
                "insufficient_stock",
                "product 9 has 2 in stock, 5 requested"
            )]
        );
    }
}
