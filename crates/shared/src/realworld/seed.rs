//! The deterministic data every `real_world_scenarios` server seeds: the
//! rules below are the ones the contract's `fixtures` state, so any
//! implementation serves the same catalog, users and posts.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rust_decimal::Decimal;
use std::sync::Arc;

/// Number of seeded products.
pub const PRODUCTS: u32 = 1000;
/// Number of seeded users.
pub const USERS: u32 = 100;
/// Number of seeded blog posts.
pub const POSTS: u32 = 200;
/// Products above this id are limited editions with a stock of 10.
pub const LIMITED_FROM: u32 = 991;

/// The five categories, id = position + 1.
pub const CATEGORIES: [&str; 5] = [
    "Electronics",
    "Books",
    "Clothing",
    "Home & Garden",
    "Sports",
];
const CATEGORY_TAGS: [&str; 5] = ["electronics", "books", "clothing", "home-garden", "sports"];
const SKU_CODES: [&str; 5] = ["ELEC", "BOOK", "CLTH", "HOME", "SPRT"];
const NOUNS: [[&str; 8]; 5] = [
    [
        "Laptop",
        "Phone",
        "Tablet",
        "Headphones",
        "Camera",
        "Monitor",
        "Keyboard",
        "Speaker",
    ],
    [
        "Book",
        "Novel",
        "Cookbook",
        "Biography",
        "Atlas",
        "Textbook",
        "Anthology",
        "Journal",
    ],
    [
        "Jacket", "Shirt", "Jeans", "Sweater", "Dress", "Hoodie", "Scarf", "Sneakers",
    ],
    [
        "Lamp", "Chair", "Planter", "Rug", "Kettle", "Shelf", "Hose", "Cushion",
    ],
    [
        "Ball", "Racket", "Bicycle", "Helmet", "Mat", "Dumbbell", "Tent", "Skates",
    ],
];
const ADJECTIVES: [&str; 8] = [
    "Classic", "Smart", "Compact", "Premium", "Vintage", "Ultra", "Eco", "Pro",
];
const BRANDS: [[&str; 4]; 5] = [
    ["Acme", "Voltix", "Nimbus", "Pixelon"],
    ["Penguin", "Harbor", "Quill", "Folio"],
    ["Northwind", "Loom", "Threadly", "Urbana"],
    ["Hearth", "Greenleaf", "Nestly", "Oakline"],
    ["Stride", "Peak", "Velo", "Apex"],
];
const FIRST_NAMES: [&str; 10] = [
    "Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Iris", "Jon",
];
const LAST_NAMES: [&str; 10] = [
    "Smith", "Garcia", "Chen", "Okafor", "Novak", "Silva", "Kim", "Muller", "Rossi", "Haddad",
];
const POST_KINDS: [&str; 5] = ["Tutorial", "Guide", "News", "Review", "Story"];
/// The tags seeded posts carry.
pub const POST_TAGS: [&str; 6] = ["tech", "business", "lifestyle", "travel", "food", "science"];
const SUBJECTS: [&str; 6] = [
    "Rust web servers",
    "pricing a small business",
    "morning routines",
    "rail journeys across Europe",
    "sourdough at home",
    "tidal energy",
];

/// 2024-01-01T00:00:00Z, the origin of every seeded time.
pub fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// A seeded product, before any view, sale or order.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductSeed {
    /// 1..=1000.
    pub id: u32,
    /// `"{adjective} {noun} {id}"` (shared with the orders that name it).
    pub name: Arc<str>,
    /// One sentence naming the product, brand and category.
    pub description: String,
    /// `(499 + id × 7919 mod 100000) / 100`.
    pub price: Decimal,
    /// `(id − 1) mod 5 + 1`.
    pub category_id: u8,
    /// One of four brands of the category: `id mod 4`.
    pub brand: &'static str,
    /// `"{CODE}-{id:05}"`.
    pub sku: String,
    /// 10 for ids ≥ 991, else `1000000 + id × 37 mod 1000`: deep enough
    /// that load runs measure orders, not sell-outs.
    pub stock: u32,
    /// Views before the server started: `id × 104729 mod 5000`.
    pub views: u64,
    /// `id mod 25 == 0`.
    pub is_featured: bool,
    /// The category tag and the lower-case noun.
    pub tags: [String; 2],
    /// One image URL.
    pub image: String,
    /// 2024-01-01 plus `id × 7919 mod 8760` hours.
    pub created_at: DateTime<Utc>,
}

/// Product `id` (1..=1000).
pub fn product(id: u32) -> ProductSeed {
    let cat = ((id - 1) % 5) as usize;
    let k = ((id - 1) / 5) as usize;
    let noun = NOUNS[cat][k % 8];
    let adjective = ADJECTIVES[(k / 8) % 8];
    let brand = BRANDS[cat][(id % 4) as usize];
    let name = format!("{adjective} {noun} {id}");
    ProductSeed {
        id,
        description: format!(
            "{name} by {brand}: a {} {} from our {} range.",
            adjective.to_ascii_lowercase(),
            noun.to_ascii_lowercase(),
            CATEGORIES[cat]
        ),
        name: name.into(),
        price: Decimal::new(499 + i64::from(id) * 7919 % 100_000, 2),
        category_id: cat as u8 + 1,
        brand,
        sku: format!("{}-{id:05}", SKU_CODES[cat]),
        stock: if id >= LIMITED_FROM {
            10
        } else {
            1_000_000 + id * 37 % 1000
        },
        views: u64::from(id) * 104_729 % 5000,
        is_featured: id.is_multiple_of(25),
        tags: [CATEGORY_TAGS[cat].to_owned(), noun.to_ascii_lowercase()],
        image: format!("https://images.example.com/products/{id}.jpg"),
        created_at: epoch() + Duration::hours(i64::from(id) * 7919 % 8760),
    }
}

/// A seeded user.
#[derive(Debug, Clone, PartialEq)]
pub struct UserSeed {
    /// 1..=100.
    pub id: u32,
    /// `user_{id:03}`.
    pub username: String,
    /// `user{id}@example.com`.
    pub email: String,
    /// `Passw0rd-{id}`.
    pub password: String,
    /// From a list of ten, `id mod 10`.
    pub first_name: &'static str,
    /// From a list of ten, `id / 10 mod 10`.
    pub last_name: &'static str,
    /// 2024-01-01 plus `id` days.
    pub created_at: DateTime<Utc>,
}

/// User `id` (1..=100).
pub fn user(id: u32) -> UserSeed {
    UserSeed {
        id,
        username: format!("user_{id:03}"),
        email: format!("user{id}@example.com"),
        password: format!("Passw0rd-{id}"),
        first_name: FIRST_NAMES[(id % 10) as usize],
        last_name: LAST_NAMES[(id / 10 % 10) as usize],
        created_at: epoch() + Duration::days(i64::from(id)),
    }
}

/// A seeded blog post.
#[derive(Debug, Clone, PartialEq)]
pub struct PostSeed {
    /// 1..=200.
    pub id: u32,
    /// `"{kind} {id}: {subject}"`.
    pub title: String,
    /// The title's words, lower-case, joined by `-`.
    pub slug: String,
    /// Three sentences.
    pub content: String,
    /// `"A {kind} about {subject}."`.
    pub excerpt: String,
    /// `id × 7 mod 100 + 1`.
    pub author_id: u32,
    /// `draft` when `id mod 10 == 0`, `archived` when 5, else `published`.
    pub status: &'static str,
    /// `tags[id mod 6]` and `tags[id / 6 mod 6]` (once when equal).
    pub tags: Vec<&'static str>,
    /// Views before the server started: `id × 7919 mod 1000`.
    pub views: u64,
    /// 2024-01-01T09:00Z plus `(id − 1) × 36` hours.
    pub created_at: DateTime<Utc>,
    /// `id mod 4 + 1` approved comments.
    pub comments: Vec<CommentSeed>,
}

/// A seeded comment.
#[derive(Debug, Clone, PartialEq)]
pub struct CommentSeed {
    /// `(post_id + k × 13) mod 100 + 1` for the k-th comment (1-based).
    pub author_id: u32,
    /// `"Comment {k} on post {post_id}: thanks for this {kind}."`.
    pub content: String,
    /// The post's time plus `k` hours.
    pub created_at: DateTime<Utc>,
}

/// Post `id` (1..=200).
pub fn post(id: u32) -> PostSeed {
    let kind = POST_KINDS[(id / 3 % 5) as usize];
    let first = (id % 6) as usize;
    let subject = SUBJECTS[first];
    let title = format!("{kind} {id}: {subject}");
    let slug = super::search::words(&title).collect::<Vec<_>>().join("-");
    let mut tags = vec![POST_TAGS[first]];
    let second = POST_TAGS[(id / 6 % 6) as usize];
    if second != tags[0] {
        tags.push(second);
    }
    let created_at = epoch() + Duration::hours(9 + i64::from(id - 1) * 36);
    let kind_lower = kind.to_ascii_lowercase();
    let comments = (1..=id % 4 + 1)
        .map(|k| CommentSeed {
            author_id: (id + k * 13) % 100 + 1,
            content: format!("Comment {k} on post {id}: thanks for this {kind_lower}."),
            created_at: created_at + Duration::hours(i64::from(k)),
        })
        .collect();
    PostSeed {
        id,
        content: format!(
            "{title}. This {kind_lower} looks at {subject} step by step. \
             It closes with what to read next about {}.",
            tags.join(" and ")
        ),
        excerpt: format!("A {kind_lower} about {subject}."),
        title,
        slug,
        author_id: id * 7 % 100 + 1,
        status: match id % 10 {
            0 => "draft",
            5 => "archived",
            _ => "published",
        },
        tags,
        views: u64::from(id) * 7919 % 1000,
        created_at,
        comments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_give_the_documented_values() {
        let p = product(1);
        assert_eq!(&*p.name, "Classic Laptop 1");
        assert_eq!(p.price, Decimal::new(8418, 2));
        assert_eq!((p.category_id, p.sku.as_str()), (1, "ELEC-00001"));
        assert_eq!(p.stock, 1_000_037);
        assert_eq!(product(1000).stock, 10);
        assert_eq!(product(1000).category_id, 5);
        let u = user(7);
        assert_eq!(
            (u.username.as_str(), u.email.as_str()),
            ("user_007", "user7@example.com")
        );
        let post = post(10);
        assert_eq!(post.status, "draft");
        assert_eq!(post.comments.len(), 3);
        assert!(post
            .slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
    }
}
