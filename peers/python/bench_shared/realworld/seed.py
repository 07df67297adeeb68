"""The deterministic data every `real_world_scenarios` server seeds: the
rules below are the ones the contract's `fixtures` state (and the reference's
`shared::realworld::seed`), so every implementation serves the same catalog,
users and posts."""

from __future__ import annotations

from dataclasses import dataclass

from .search import words

PRODUCTS = 1000
USERS = 100
POSTS = 200
# Products from this id on are limited editions with a stock of 10.
LIMITED_FROM = 991
# 2024-01-01T00:00:00Z, the origin of every seeded time.
EPOCH = 1_704_067_200
HOUR = 3600
DAY = 86_400

CATEGORIES = ("Electronics", "Books", "Clothing", "Home & Garden", "Sports")
CATEGORY_TAGS = ("electronics", "books", "clothing", "home-garden", "sports")
SKU_CODES = ("ELEC", "BOOK", "CLTH", "HOME", "SPRT")
NOUNS = (
    ("Laptop", "Phone", "Tablet", "Headphones", "Camera", "Monitor", "Keyboard", "Speaker"),
    ("Book", "Novel", "Cookbook", "Biography", "Atlas", "Textbook", "Anthology", "Journal"),
    ("Jacket", "Shirt", "Jeans", "Sweater", "Dress", "Hoodie", "Scarf", "Sneakers"),
    ("Lamp", "Chair", "Planter", "Rug", "Kettle", "Shelf", "Hose", "Cushion"),
    ("Ball", "Racket", "Bicycle", "Helmet", "Mat", "Dumbbell", "Tent", "Skates"),
)
ADJECTIVES = ("Classic", "Smart", "Compact", "Premium", "Vintage", "Ultra", "Eco", "Pro")
BRANDS = (
    ("Acme", "Voltix", "Nimbus", "Pixelon"),
    ("Penguin", "Harbor", "Quill", "Folio"),
    ("Northwind", "Loom", "Threadly", "Urbana"),
    ("Hearth", "Greenleaf", "Nestly", "Oakline"),
    ("Stride", "Peak", "Velo", "Apex"),
)
FIRST_NAMES = ("Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Iris", "Jon")
LAST_NAMES = ("Smith", "Garcia", "Chen", "Okafor", "Novak", "Silva", "Kim", "Muller", "Rossi",
              "Haddad")
POST_KINDS = ("Tutorial", "Guide", "News", "Review", "Story")
POST_TAGS = ("tech", "business", "lifestyle", "travel", "food", "science")
SUBJECTS = (
    "Rust web servers",
    "pricing a small business",
    "morning routines",
    "rail journeys across Europe",
    "sourdough at home",
    "tidal energy",
)


@dataclass(frozen=True, slots=True)
class ProductSeed:
    """A seeded product, before any view, sale or order."""

    id: int
    name: str
    description: str
    price_cents: int  # (499 + id × 7919 mod 100000) cents
    category_id: int  # (id − 1) mod 5 + 1
    brand: str
    sku: str
    stock: int  # 10 for ids ≥ 991, else 1000000 + id × 37 mod 1000
    views: int  # id × 104729 mod 5000
    is_featured: bool
    tags: tuple[str, str]
    image: str
    created_at: int  # unix seconds: 2024-01-01 + (id × 7919 mod 8760) hours


def product(id: int) -> ProductSeed:
    """Product `id` (1..=1000)."""
    cat = (id - 1) % 5
    k = (id - 1) // 5
    noun = NOUNS[cat][k % 8]
    adjective = ADJECTIVES[(k // 8) % 8]
    brand = BRANDS[cat][id % 4]
    name = f"{adjective} {noun} {id}"
    return ProductSeed(
        id=id,
        name=name,
        description=f"{name} by {brand}: a {adjective.lower()} {noun.lower()} from our "
                    f"{CATEGORIES[cat]} range.",
        price_cents=499 + id * 7919 % 100_000,
        category_id=cat + 1,
        brand=brand,
        sku=f"{SKU_CODES[cat]}-{id:05}",
        stock=10 if id >= LIMITED_FROM else 1_000_000 + id * 37 % 1000,
        views=id * 104_729 % 5000,
        is_featured=id % 25 == 0,
        tags=(CATEGORY_TAGS[cat], noun.lower()),
        image=f"https://images.example.com/products/{id}.jpg",
        created_at=EPOCH + (id * 7919 % 8760) * HOUR,
    )


@dataclass(frozen=True, slots=True)
class UserSeed:
    """A seeded user."""

    id: int
    username: str  # user_{id:03}
    email: str  # user{id}@example.com
    password: str  # Passw0rd-{id}
    first_name: str
    last_name: str
    created_at: int  # 2024-01-01 + id days


def user(id: int) -> UserSeed:
    """User `id` (1..=100)."""
    return UserSeed(
        id=id,
        username=f"user_{id:03}",
        email=f"user{id}@example.com",
        password=f"Passw0rd-{id}",
        first_name=FIRST_NAMES[id % 10],
        last_name=LAST_NAMES[id // 10 % 10],
        created_at=EPOCH + id * DAY,
    )


@dataclass(frozen=True, slots=True)
class CommentSeed:
    """A seeded comment: the k-th (1-based) of its post."""

    author_id: int  # (post_id + k × 13) mod 100 + 1
    content: str
    created_at: int  # the post's time plus k hours


@dataclass(frozen=True, slots=True)
class PostSeed:
    """A seeded blog post."""

    id: int
    title: str  # "{kind} {id}: {subject}"
    slug: str  # the title's words, lower-case, joined by "-"
    content: str
    excerpt: str  # "A {kind} about {subject}."
    author_id: int  # id × 7 mod 100 + 1
    status: str  # draft when id mod 10 == 0, archived when 5, else published
    tags: tuple[str, ...]
    views: int  # id × 7919 mod 1000
    created_at: int  # 2024-01-01T09:00Z + (id − 1) × 36 hours
    comments: tuple[CommentSeed, ...]  # id mod 4 + 1 of them


def post(id: int) -> PostSeed:
    """Post `id` (1..=200)."""
    kind = POST_KINDS[id // 3 % 5]
    first = id % 6
    subject = SUBJECTS[first]
    title = f"{kind} {id}: {subject}"
    tags = [POST_TAGS[first]]
    second = POST_TAGS[id // 6 % 6]
    if second != tags[0]:
        tags.append(second)
    created_at = EPOCH + (9 + (id - 1) * 36) * HOUR
    kind_lower = kind.lower()
    comments = tuple(
        CommentSeed(
            author_id=(id + k * 13) % 100 + 1,
            content=f"Comment {k} on post {id}: thanks for this {kind_lower}.",
            created_at=created_at + k * HOUR,
        )
        for k in range(1, id % 4 + 2)
    )
    status = {0: "draft", 5: "archived"}.get(id % 10, "published")
    return PostSeed(
        id=id,
        title=title,
        slug="-".join(words(title)),
        content=f"{title}. This {kind_lower} looks at {subject} step by step. "
                f"It closes with what to read next about {' and '.join(tags)}.",
        excerpt=f"A {kind_lower} about {subject}.",
        author_id=id * 7 % 100 + 1,
        status=status,
        tags=tuple(tags),
        views=id * 7919 % 1000,
        created_at=created_at,
        comments=comments,
    )
