//! The blog: 200 seeded posts with status and tag bitsets, a word index and
//! a newest-first order; live view counts; comments appended per post under
//! a global limit.

use super::search::{Bits, WordIndex};
use super::seed::{self, PostSeed};
use super::wire::serialize_time;
use super::Page;
use crate::sync::{lock, read, write};
use crate::{FieldError, ValidationFailure};
use chrono::{DateTime, Utc};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// Post statuses.
pub const STATUSES: [&str; 3] = ["draft", "published", "archived"];
/// How many comments a post's page shows (newest first).
pub const COMMENTS_SHOWN: usize = 50;

/// A comment.
#[derive(Debug, Clone)]
pub struct Comment {
    /// Sequential over all posts.
    pub id: u64,
    /// The post.
    pub post_id: u32,
    /// Who wrote it.
    pub author_id: u32,
    /// 1..1000 characters.
    pub content: String,
    /// A comment of the same post it answers.
    pub parent_id: Option<u64>,
    /// Seeded comments are approved; new ones wait for moderation.
    pub is_approved: bool,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

impl Serialize for Comment {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(7))?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("post_id", &self.post_id)?;
        map.serialize_entry("author_id", &self.author_id)?;
        map.serialize_entry("content", &self.content)?;
        map.serialize_entry("parent_id", &self.parent_id)?;
        map.serialize_entry("is_approved", &self.is_approved)?;
        serialize_time(&mut map, "created_at", &self.created_at)?;
        map.end()
    }
}

/// `POST /api/blog/posts/{id}/comments` as sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentRequest {
    /// 1..1000 characters, not blank.
    pub content: String,
    /// An existing comment of the same post.
    #[serde(default)]
    pub parent_id: Option<i64>,
}

/// Why a comment was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommentError {
    /// No post with that id.
    #[error("no post {0}")]
    NoPost(u32),
    /// Drafts and archived posts (the status named) take no comments.
    #[error("the post is {0}; only published posts take comments")]
    Closed(&'static str),
    /// A field breaks a rule.
    #[error("invalid comment: {0}")]
    Invalid(ValidationFailure),
    /// The comment limit is reached.
    #[error("the server holds its limit of {0} comments")]
    Full(usize),
}

struct Post {
    seed: PostSeed,
    views: AtomicU64,
    thread: RwLock<Thread>,
}

/// A post's comments, oldest first, with their ids: a reply's parent is
/// found in O(1), however long the thread.
struct Thread {
    comments: Vec<Arc<Comment>>,
    ids: HashSet<u64>,
}

impl Thread {
    fn new(comments: Vec<Arc<Comment>>) -> Self {
        let ids = comments.iter().map(|c| c.id).collect();
        Self { comments, ids }
    }

    fn push(&mut self, comment: Arc<Comment>) {
        self.ids.insert(comment.id);
        self.comments.push(comment);
    }
}

/// A post listing request, already validated.
#[derive(Debug, Clone)]
pub struct PostQuery {
    /// 1-based page.
    pub page: usize,
    /// Page size.
    pub limit: usize,
    /// One of [`STATUSES`].
    pub status: &'static str,
    /// Only posts with this tag.
    pub tag: Option<String>,
    /// Words that must each prefix a word of the title, excerpt or tags.
    pub search: Option<String>,
}

/// The blog store.
pub struct Blog {
    posts: Vec<Post>,
    newest_first: Vec<usize>,
    by_status: HashMap<&'static str, Bits>,
    by_tag: HashMap<&'static str, Bits>,
    words: WordIndex,
    next_comment: AtomicU64,
    /// Comments stored and bytes of new comments, taken together.
    stored: Mutex<(usize, usize)>,
    max_comments: usize,
    max_bytes: usize,
}

/// What a stored comment costs beyond its text.
const COMMENT_OVERHEAD: usize = 96;

impl Blog {
    /// Seeds the 200 posts and their comments; at most `max_comments`
    /// comments and about `max_bytes` bytes of them are kept in all.
    pub fn seeded(max_comments: usize, max_bytes: usize) -> Self {
        let seeds: Vec<PostSeed> = (1..=seed::POSTS).map(seed::post).collect();
        let n = seeds.len();
        let mut by_status: HashMap<&'static str, Bits> =
            STATUSES.iter().map(|s| (*s, Bits::empty(n))).collect();
        let mut by_tag: HashMap<&'static str, Bits> = HashMap::new();
        for (i, p) in seeds.iter().enumerate() {
            if let Some(bits) = by_status.get_mut(p.status) {
                bits.insert(i);
            }
            for tag in &p.tags {
                by_tag
                    .entry(tag)
                    .or_insert_with(|| Bits::empty(n))
                    .insert(i);
            }
        }
        let words = WordIndex::build(seeds.iter().map(|p| {
            [p.title.as_str(), p.excerpt.as_str()]
                .into_iter()
                .chain(p.tags.iter().copied())
        }));
        let mut newest_first: Vec<usize> = (0..n).collect();
        newest_first.sort_by(|&a, &b| {
            seeds[b]
                .created_at
                .cmp(&seeds[a].created_at)
                .then(seeds[b].id.cmp(&seeds[a].id))
        });
        let mut next = 1;
        let posts: Vec<Post> = seeds
            .into_iter()
            .map(|seed| {
                let comments = seed
                    .comments
                    .iter()
                    .map(|c| {
                        next += 1;
                        Arc::new(Comment {
                            id: next - 1,
                            post_id: seed.id,
                            author_id: c.author_id,
                            content: c.content.clone(),
                            parent_id: None,
                            is_approved: true,
                            created_at: c.created_at,
                        })
                    })
                    .collect();
                Post {
                    views: AtomicU64::new(seed.views),
                    thread: RwLock::new(Thread::new(comments)),
                    seed,
                }
            })
            .collect();
        Self {
            posts,
            newest_first,
            by_status,
            by_tag,
            words,
            stored: Mutex::new((next as usize - 1, 0)),
            next_comment: AtomicU64::new(next),
            max_comments,
            max_bytes,
        }
    }

    fn post(&self, id: u32) -> Option<&Post> {
        self.posts.get((id as usize).checked_sub(1)?)
    }

    /// Number of posts.
    pub fn len(&self) -> usize {
        self.posts.len()
    }

    /// Whether there are no posts (never, once seeded).
    pub fn is_empty(&self) -> bool {
        self.posts.is_empty()
    }

    /// One page of posts matching `q`, newest first.
    pub fn list(&self, q: &PostQuery) -> Page<PostView<'_>> {
        let n = self.posts.len();
        let mut matching = self
            .by_status
            .get(q.status)
            .cloned()
            .unwrap_or_else(|| Bits::empty(n));
        if let Some(tag) = &q.tag {
            match self.by_tag.get(tag.as_str()) {
                Some(bits) => matching.intersect(bits),
                None => matching = Bits::empty(n),
            }
        }
        if let Some(search) = &q.search {
            match self.words.search(search) {
                Some(found) => matching.intersect(&found),
                None => matching = Bits::empty(n),
            }
        }
        let total = matching.count();
        let items = self
            .newest_first
            .iter()
            .filter(|&&i| matching.contains(i))
            .skip((q.page - 1).saturating_mul(q.limit))
            .take(q.limit)
            .map(|&i| self.view(i, false))
            .collect();
        Page::new(items, total, q.page, q.limit)
    }

    fn view(&self, i: usize, full: bool) -> PostView<'_> {
        let post = &self.posts[i];
        let thread = read(&post.thread);
        PostView {
            post: &post.seed,
            views: post.views.load(Ordering::Relaxed),
            comment_count: thread.comments.len(),
            comments: full.then(|| {
                thread
                    .comments
                    .iter()
                    .rev()
                    .take(COMMENTS_SHOWN)
                    .cloned()
                    .collect()
            }),
        }
    }

    /// Post `id` with its newest comments, counting one view.
    pub fn read(&self, id: u32) -> Option<PostView<'_>> {
        let post = self.post(id)?;
        post.views.fetch_add(1, Ordering::Relaxed);
        Some(self.view(id as usize - 1, true))
    }

    /// Adds a comment by `author` to published post `post_id`.
    pub fn comment(
        &self,
        post_id: u32,
        author: u32,
        r: CommentRequest,
    ) -> Result<Arc<Comment>, CommentError> {
        let post = self.post(post_id).ok_or(CommentError::NoPost(post_id))?;
        if post.seed.status != "published" {
            return Err(CommentError::Closed(post.seed.status));
        }
        let mut errors = Vec::new();
        let len = r.content.chars().count();
        if !(1..=1000).contains(&len) || r.content.trim().is_empty() {
            errors.push(FieldError::new(
                "content",
                "length",
                "must be 1 to 1000 characters, not blank",
            ));
        }
        let mut thread = write(&post.thread);
        let parent = match r.parent_id {
            None => None,
            Some(p) => match u64::try_from(p).ok().filter(|p| thread.ids.contains(p)) {
                Some(p) => Some(p),
                None => {
                    errors.push(FieldError::new(
                        "parent_id",
                        "unknown_comment",
                        format!("post {post_id} has no comment {p}"),
                    ));
                    None
                }
            },
        };
        ValidationFailure::check(errors).map_err(CommentError::Invalid)?;
        let cost = COMMENT_OVERHEAD + r.content.len();
        {
            let mut stored = lock(&self.stored);
            let (count, bytes) = *stored;
            if count >= self.max_comments || bytes + cost > self.max_bytes {
                return Err(CommentError::Full(self.max_comments));
            }
            *stored = (count + 1, bytes + cost);
        }
        let comment = Arc::new(Comment {
            id: self.next_comment.fetch_add(1, Ordering::Relaxed),
            post_id,
            author_id: author,
            content: r.content,
            parent_id: parent,
            is_approved: false,
            created_at: Utc::now(),
        });
        thread.push(comment.clone());
        Ok(comment)
    }

    /// Comments stored over all posts.
    pub fn comment_count(&self) -> usize {
        lock(&self.stored).0
    }
}

/// A post as clients see it: summary in listings, with content and
/// comments on its own page.
#[derive(Debug, Clone)]
pub struct PostView<'a> {
    post: &'a PostSeed,
    views: u64,
    comment_count: usize,
    comments: Option<Vec<Arc<Comment>>>,
}

impl Serialize for PostView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.post;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("id", &p.id)?;
        map.serialize_entry("title", &p.title)?;
        map.serialize_entry("slug", &p.slug)?;
        map.serialize_entry("excerpt", &p.excerpt)?;
        map.serialize_entry("author_id", &p.author_id)?;
        map.serialize_entry("status", p.status)?;
        map.serialize_entry("tags", &p.tags)?;
        map.serialize_entry("view_count", &self.views)?;
        map.serialize_entry("comment_count", &self.comment_count)?;
        serialize_time(&mut map, "created_at", &p.created_at)?;
        if let Some(comments) = &self.comments {
            map.serialize_entry("content", &p.content)?;
            map.serialize_entry("meta_description", &p.excerpt)?;
            map.serialize_entry("comments", comments)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use rand::{Rng, SeedableRng};

    fn published(blog: &Blog) -> Vec<u32> {
        (1..=seed::POSTS)
            .filter(|&id| blog.post(id).is_some_and(|p| p.seed.status == "published"))
            .collect()
    }

    /// A reply's parent is looked up among its own post's comments (seeded
    /// and new), never another post's: each answer equals a brute-force
    /// scan of the comments the post was given, over a random sequence.
    #[test]
    fn a_parent_is_a_comment_of_the_same_post() {
        let blog = Blog::seeded(100_000, 32 << 20);
        let posts = published(&blog)[..3].to_vec();
        let mut given: HashMap<u32, Vec<u64>> = posts
            .iter()
            .map(|&p| {
                let thread = read(&blog.post(p).unwrap().thread);
                (p, thread.comments.iter().map(|c| c.id).collect())
            })
            .collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(13);
        for _ in 0..600 {
            let post = posts[rng.random_range(0..posts.len())];
            let other = posts[rng.random_range(0..posts.len())];
            let pick = |ids: &Vec<u64>, rng: &mut rand::rngs::StdRng| {
                (!ids.is_empty()).then(|| ids[rng.random_range(0..ids.len())] as i64)
            };
            let parent = match rng.random_range(0..5) {
                0 => None,
                1 => pick(&given[&post], &mut rng),
                2 => pick(&given[&other], &mut rng),
                3 => Some(rng.random_range(-3..3)),
                _ => Some(i64::MAX),
            };
            let expected = parent.is_none_or(|p| given[&post].iter().any(|&c| c as i64 == p));
            let request = CommentRequest {
                content: "a reply".into(),
                parent_id: parent,
            };
            match blog.comment(post, 7, request) {
                Ok(c) => {
                    assert!(expected, "{parent:?} accepted on post {post}");
                    assert_eq!(c.parent_id, parent.map(|p| p as u64));
                    given.get_mut(&post).unwrap().push(c.id);
                }
                Err(CommentError::Invalid(f)) => {
                    assert!(!expected, "{parent:?} refused on post {post}");
                    assert_eq!(f.errors[0].field, "parent_id");
                    assert_eq!(f.errors[0].code, "unknown_comment");
                }
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        for (post, ids) in &given {
            let thread = read(&blog.post(*post).unwrap().thread);
            let held: Vec<u64> = thread.comments.iter().map(|c| c.id).collect();
            assert_eq!(&held, ids);
            assert_eq!(thread.ids, ids.iter().copied().collect::<HashSet<u64>>());
        }
    }
}
