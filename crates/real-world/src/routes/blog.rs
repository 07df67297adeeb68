//! Posts and comments.

use super::{paging, search};
use crate::identity::required_token;
use crate::App;
use http::StatusCode;
use serde::Serialize;
use server_kit::{json, json_status, ApiError, Req, Response};
use shared::realworld::blog::{CommentError, CommentRequest, PostQuery, PostView, STATUSES};
use shared::realworld::Paging;
use shared::{FieldError, ValidationFailure};
use std::sync::Arc;

/// `GET /api/blog/posts?page&limit&status&tag&search`: newest first;
/// `status` defaults to `published`.
pub async fn list(app: Arc<App>, req: Req) -> Result<Response, ApiError> {
    let q = req.query();
    let mut errors = Vec::new();
    let (page, limit) = paging(&q, 10, &mut errors)?;
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
    let search = search(&q, &mut errors);
    ValidationFailure::check(errors)?;
    let query = PostQuery {
        page,
        limit,
        status: known.unwrap_or("published"),
        tag,
        search,
    };
    let result = app.world.blog.list(&query);
    #[derive(Serialize)]
    struct Listing<'a> {
        posts: &'a [PostView<'a>],
        pagination: Paging,
        filters: Filters<'a>,
    }
    #[derive(Serialize)]
    struct Filters<'a> {
        status: &'a str,
        tag: Option<&'a str>,
        search: Option<&'a str>,
    }
    json(&Listing {
        posts: &result.items,
        pagination: result.paging,
        filters: Filters {
            status: query.status,
            tag: query.tag.as_deref(),
            search: query.search.as_deref(),
        },
    })
}

/// `GET /api/blog/posts/{id}`: the post with its newest comments; counts a
/// view.
pub async fn post(app: Arc<App>, req: Req) -> Result<Response, ApiError> {
    let id: u32 = req.param("id")?;
    let post = app
        .world
        .blog
        .read(id)
        .ok_or_else(|| ApiError::not_found(format!("no post {id}")))?;
    json(&post)
}

/// `POST /api/blog/posts/{id}/comments`: 201 with the comment; needs a
/// bearer token.
pub async fn comment(app: Arc<App>, req: Req) -> Result<Response, ApiError> {
    let id: u32 = req.param("id")?;
    let user = required_token(&app, &req)?;
    let request: CommentRequest = req.json().await?;
    match app.world.blog.comment(id, user.id, request) {
        Ok(c) => json_status(StatusCode::CREATED, &*c),
        Err(CommentError::NoPost(id)) => Err(ApiError::not_found(format!("no post {id}"))),
        Err(CommentError::Closed(status)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "comments_closed",
            format!("post {id} is {status}; only published posts take comments"),
        )),
        Err(CommentError::Invalid(failure)) => Err(ApiError::validation(failure)),
        Err(CommentError::Full(n)) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "comment_limit",
            format!("the server holds its limit of {n} comments"),
        )),
    }
}
