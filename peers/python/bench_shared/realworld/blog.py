"""The blog: 200 seeded posts with status and tag sets, a word index and a
newest-first order; live view counts; comments appended per post under a
global limit of count and bytes."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass
from itertools import islice

from .. import errors
from ..errors import FieldError
from . import seed
from .search import WordIndex
from .seed import PostSeed
from .wire import format_time, is_blank

STATUSES = ("draft", "published", "archived")
COMMENTS_SHOWN = 50  # comments a post's page shows, newest first
COMMENT_OVERHEAD = 96  # what a stored comment costs beyond its text


@dataclass(frozen=True, slots=True)
class Comment:
    """A comment."""

    id: int
    post_id: int
    author_id: int
    content: str
    parent_id: int | None
    is_approved: bool  # seeded comments are approved; new ones wait for moderation
    created_at: int  # unix seconds

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "post_id": self.post_id,
            "author_id": self.author_id,
            "content": self.content,
            "parent_id": self.parent_id,
            "is_approved": self.is_approved,
            "created_at": format_time(self.created_at),
        }


@dataclass(frozen=True, slots=True)
class PostQuery:
    """A post listing request, already validated."""

    page: int
    limit: int
    status: str  # one of STATUSES
    tag: str | None
    search: str | None


class _Post:
    __slots__ = ("seed", "views", "comments", "comment_ids", "summary", "created_at")

    def __init__(self, post: PostSeed, comments: list[Comment]):
        self.seed = post
        self.views = post.views
        self.comments = comments
        self.comment_ids = {c.id for c in comments}
        self.created_at = format_time(post.created_at)
        self.summary = {
            "id": post.id,
            "title": post.title,
            "slug": post.slug,
            "excerpt": post.excerpt,
            "author_id": post.author_id,
            "status": post.status,
            "tags": list(post.tags),
        }


class Blog:
    """The blog store: at most `max_comments` comments and about
    `max_bytes` bytes of new ones in all."""

    def __init__(self, max_comments: int, max_bytes: int):
        seeds = [seed.post(i) for i in range(1, seed.POSTS + 1)]
        self._by_status = {s: frozenset(i for i, p in enumerate(seeds) if p.status == s)
                           for s in STATUSES}
        tags: dict[str, set[int]] = {}
        for i, p in enumerate(seeds):
            for tag in p.tags:
                tags.setdefault(tag, set()).add(i)
        self._by_tag = {t: frozenset(s) for t, s in tags.items()}
        self._words = WordIndex((p.title, p.excerpt, *p.tags) for p in seeds)
        self._newest_first = sorted(range(len(seeds)),
                                    key=lambda i: (seeds[i].created_at, seeds[i].id),
                                    reverse=True)
        ids = itertools.count(1)
        self._posts = [
            _Post(p, [Comment(next(ids), p.id, c.author_id, c.content, None, True, c.created_at)
                      for c in p.comments])
            for p in seeds
        ]
        self._next_comment = ids
        self._lock = threading.Lock()
        self._stored = (sum(len(p.comments) for p in self._posts), 0)  # count, bytes of new ones
        self.max_comments = max_comments
        self.max_bytes = max_bytes

    def __len__(self) -> int:
        return len(self._posts)

    def _post(self, id: int) -> _Post | None:
        return self._posts[id - 1] if 1 <= id <= len(self._posts) else None

    def comment_count(self) -> int:
        """Comments stored over all posts."""
        return self._stored[0]

    def _view(self, post: _Post, full: bool) -> dict:
        view = {
            **post.summary,
            "view_count": post.views,
            "comment_count": len(post.comments),
            "created_at": post.created_at,
        }
        if full:
            view["content"] = post.seed.content
            view["meta_description"] = post.seed.excerpt
            view["comments"] = [c.as_json() for c in post.comments[:-COMMENTS_SHOWN - 1:-1]]
        return view

    def list(self, q: PostQuery) -> tuple[list[dict], int]:
        """One page of posts matching `q`, newest first, and how many match."""
        matching = self._by_status.get(q.status, frozenset())
        if q.tag is not None:
            matching = matching & self._by_tag.get(q.tag, frozenset())
        if q.search is not None:
            found = self._words.search(q.search)
            matching = frozenset() if found is None else matching & found
        skip = (q.page - 1) * q.limit
        picked = islice((i for i in self._newest_first if i in matching), skip, skip + q.limit)
        with self._lock:
            return [self._view(self._posts[i], False) for i in picked], len(matching)

    def read(self, id: int) -> dict | None:
        """Post `id` with its newest comments, counting one view."""
        post = self._post(id)
        if post is None:
            return None
        with self._lock:
            post.views += 1
            return self._view(post, True)

    def comment(self, post_id: int, author: int, content: str, parent_id: int | None) -> Comment:
        """Adds a comment by `author` to published post `post_id`: 404 no such
        post, 409 `comments_closed` for drafts and archived posts, 422 for
        the content or an unknown parent, 503 `comment_limit` when full."""
        post = self._post(post_id)
        if post is None:
            raise errors.not_found(f"no post {post_id}")
        if post.seed.status != "published":
            raise errors.conflict(
                "comments_closed",
                f"the post is {post.seed.status}; only published posts take comments")
        found = []
        if not 1 <= len(content) <= 1000 or is_blank(content):
            found.append(FieldError("content", "length", "must be 1 to 1000 characters, not blank"))
        with self._lock:
            if parent_id is not None and parent_id not in post.comment_ids:
                found.append(FieldError("parent_id", "unknown_comment",
                                        f"post {post_id} has no comment {parent_id}"))
            errors.check(found)
            cost = COMMENT_OVERHEAD + len(content.encode("utf-8", "surrogatepass"))
            count, used = self._stored
            if count >= self.max_comments or used + cost > self.max_bytes:
                raise errors.unavailable(
                    "comment_limit", f"the server holds its limit of {self.max_comments} comments")
            self._stored = (count + 1, used + cost)
            comment = Comment(next(self._next_comment), post_id, author, content, parent_id,
                              False, int(time.time()))
            post.comments.append(comment)
            post.comment_ids.add(comment.id)
        return comment
