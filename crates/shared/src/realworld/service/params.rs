//! The query rules of the listings and the dashboard: what is not a number
//! or a date is a 400, numbers and words out of range a 422 naming every
//! bad parameter.

use crate::api::{Error, Query};
use crate::realworld::blog::{PostQuery, STATUSES};
use crate::realworld::catalog::{ProductQuery, SortKey};
use crate::realworld::seed::CATEGORIES;
use crate::{FieldError, ValidationFailure};
use chrono::NaiveDate;

/// Largest page number a listing accepts.
const MAX_PAGE: usize = 10_000;
/// Largest `limit` of a listing.
const MAX_LIMIT: usize = 100;
/// Longest `search` text.
const MAX_SEARCH: usize = 100;

/// `page` (≥ 1, default 1) and `limit` (1..=100, default `default_limit`);
/// what is not an integer is 400, integers out of range (negative, huge)
/// are collected as 422s.
fn paging(
    q: &Query<'_>,
    default_limit: usize,
    errors: &mut Vec<FieldError>,
) -> Result<(usize, usize), Error> {
    let int = |name: &str, default: usize| -> Result<usize, Error> {
        Ok(match q.get::<i128>(name)? {
            None => default,
            Some(v) => usize::try_from(v).unwrap_or(0),
        })
    };
    let page = int("page", 1)?;
    let limit = int("limit", default_limit)?;
    if !(1..=MAX_PAGE).contains(&page) {
        errors.push(FieldError::new(
            "page",
            "range",
            format!("must be from 1 to {MAX_PAGE}"),
        ));
    }
    if !(1..=MAX_LIMIT).contains(&limit) {
        errors.push(FieldError::new(
            "limit",
            "range",
            format!("must be from 1 to {MAX_LIMIT}"),
        ));
    }
    Ok((page, limit))
}

/// `search`: absent, or 1..=100 characters holding at least one letter or
/// digit.
fn search(q: &Query<'_>, errors: &mut Vec<FieldError>) -> Option<String> {
    let s = q.str("search")?;
    let words = crate::realworld::search::words(s).next().is_some();
    if s.chars().count() > MAX_SEARCH || !words {
        errors.push(FieldError::new(
            "search",
            "search",
            format!("must be 1 to {MAX_SEARCH} characters with a letter or digit"),
        ));
    }
    Some(s.to_owned())
}

/// `GET /api/products?page&limit&category_id&search&sort_by&sort_order`:
/// the query, and the `sort_by` and `sort_order` texts to echo.
pub fn product_query<'q>(q: &'q Query<'_>) -> Result<(ProductQuery, &'q str, &'q str), Error> {
    let mut errors = Vec::new();
    let (page, limit) = paging(q, 20, &mut errors)?;
    let category_id = q.get::<u8>("category_id").or_else(|_| {
        // Numbers too large for a category are still numbers: a range error.
        q.get::<u64>("category_id").map(|_| Some(0))
    })?;
    if let Some(c) = category_id {
        if !(1..=CATEGORIES.len()).contains(&usize::from(c)) {
            errors.push(FieldError::new(
                "category_id",
                "range",
                format!("must be from 1 to {}", CATEGORIES.len()),
            ));
        }
    }
    let search = search(q, &mut errors);
    let sort_by = q.str("sort_by").unwrap_or("created_at");
    let key = SortKey::parse(sort_by);
    if key.is_none() {
        errors.push(FieldError::new(
            "sort_by",
            "one_of",
            "must be one of name, price, created_at, popularity",
        ));
    }
    let sort_order = q.str("sort_order").unwrap_or("asc");
    if !matches!(sort_order, "asc" | "desc") {
        errors.push(FieldError::new(
            "sort_order",
            "one_of",
            "must be asc or desc",
        ));
    }
    ValidationFailure::check(errors)?;
    Ok((
        ProductQuery {
            page,
            limit,
            category_id,
            search,
            sort_by: key.unwrap_or(SortKey::CreatedAt),
            descending: sort_order == "desc",
        },
        sort_by,
        sort_order,
    ))
}

/// `GET /api/blog/posts?page&limit&status&tag&search`: `status` defaults to
/// `published`.
pub fn post_query(q: &Query<'_>) -> Result<PostQuery, Error> {
    let mut errors = Vec::new();
    let (page, limit) = paging(q, 10, &mut errors)?;
    let status = q.str("status").unwrap_or("published");
    let known = STATUSES.iter().copied().find(|s| *s == status);
    if known.is_none() {
        errors.push(FieldError::new(
            "status",
            "one_of",
            format!("must be one of {}", STATUSES.join(", ")),
        ));
    }
    let tag = q.str("tag").map(str::to_owned);
    if tag.as_ref().is_some_and(|t| t.is_empty() || t.len() > 50) {
        errors.push(FieldError::new(
            "tag",
            "length",
            "must be 1 to 50 characters",
        ));
    }
    let search = search(q, &mut errors);
    ValidationFailure::check(errors)?;
    Ok(PostQuery {
        page,
        limit,
        status: known.unwrap_or("published"),
        tag,
        search,
    })
}

fn date(value: Option<&str>, name: &str) -> Result<Option<NaiveDate>, Error> {
    value
        .map(|v| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
                Error::bad_request(
                    "invalid_query",
                    format!("query parameter `{name}` must be a date (YYYY-MM-DD), got {v:?}"),
                )
            })
        })
        .transpose()
}

/// `GET /api/analytics/dashboard?date_from&date_to`: the inclusive range
/// (either end open).
pub fn dashboard_range(q: &Query<'_>) -> Result<(Option<NaiveDate>, Option<NaiveDate>), Error> {
    let from = date(q.str("date_from"), "date_from")?;
    let to = date(q.str("date_to"), "date_to")?;
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(Error::invalid(
                "date_to",
                "range",
                "must not be before date_from",
            ));
        }
    }
    Ok((from, to))
}
