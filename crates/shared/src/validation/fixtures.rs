//! The deterministic generator of the validation category's load payloads
//! (`shared-endpoints/fixtures/`): the same seed always gives the same bytes,
//! so every framework validates identical input.

use crate::mix::{pick, splitmix64};
use serde_json::{json, Value};

const TAGS: [&str; 8] = [
    "developer",
    "designer",
    "python",
    "rust",
    "ops",
    "data",
    "mobile",
    "security",
];
const DEPARTMENTS: [&str; 4] = ["engineering", "sales", "support", "research"];
const LEVELS: [&str; 3] = ["junior", "senior", "staff"];
const CATEGORIES: [&str; 5] = [
    "Electronics",
    "Books",
    "Home and Garden",
    "Sports",
    "Toys-Games",
];
const CITIES: [&str; 5] = ["San Francisco", "Austin", "Boston", "Denver", "Seattle"];
const STATES: [&str; 5] = ["CA", "TX", "MA", "CO", "WA"];
const STREETS: [&str; 4] = ["Main Street", "Oak Avenue", "Pine Road", "Lake Drive"];
const STATUSES: [&str; 5] = ["pending", "confirmed", "shipped", "delivered", "cancelled"];
const COLORS: [&str; 4] = ["red", "blue", "green", "black"];
const SIZES: [&str; 3] = ["small", "medium", "large"];

/// Seed of every fixture (SplitMix64 of seed ⊕ item kind ⊕ index).
pub const SEED: u64 = 0x5eed_2024;

fn h(kind: u64, i: u64) -> u64 {
    splitmix64(SEED ^ (kind << 32) ^ i)
}

fn cents(v: u64) -> String {
    format!("{}.{:02}", v / 100, v % 100)
}

/// `v / 100` as the JSON number with exactly that decimal text.
fn decimal_number(v: u64) -> Value {
    serde_json::from_str(&cents(v)).unwrap_or(Value::Null)
}

/// Advanced user `i` (valid).
pub fn user(i: u64) -> Value {
    let h = h(1, i);
    let tags: Vec<&str> = (0..1 + h % 3)
        .map(|k| pick(&TAGS, h >> (8 + 4 * k)))
        .collect();
    json!({
        "id": i + 1,
        "username": format!("user_{i:04}"),
        "email": format!("user{i}@example.com"),
        "age": 18 + (h >> 8) % 60,
        "height": decimal_number(150 + (h >> 16) % 50),
        "is_active": h & 1 == 0,
        "tags": tags,
        "metadata": {"department": pick(&DEPARTMENTS, h >> 24), "level": pick(&LEVELS, h >> 28)}
    })
}

/// Address from a seed (valid).
pub fn address(h: u64) -> Value {
    json!({
        "street": format!("{} {}", 1 + h % 9000, pick(&STREETS, h >> 8)),
        "city": pick(&CITIES, h >> 12),
        "state": pick(&STATES, h >> 12),
        "zip_code": if h & 1 == 0 { format!("{:05}", 10_000 + (h >> 16) % 89_999) }
                    else { format!("{:05}-{:04}", 10_000 + (h >> 16) % 89_999, (h >> 32) % 10_000) },
        "country": "USA"
    })
}

/// Product `i` (valid); prices alternate between strings and numbers.
pub fn product(i: u64) -> Value {
    let h = h(2, i);
    let price = 1 + (h >> 4) % 99_999;
    let price = if i.is_multiple_of(2) {
        Value::from(cents(price))
    } else {
        decimal_number(price)
    };
    json!({
        "name": format!("Product {i}"),
        "price": price,
        "category": pick(&CATEGORIES, h >> 8),
        "description": format!("Deterministic product number {i} for validation benchmarks"),
        "sku": format!("SKU-{i:05}"),
        "in_stock": h & 1 == 0,
        "stock_quantity": (h >> 12) % 1000,
        "dimensions": {"length": 1.0 + ((h >> 20) % 100) as f64, "width": 1.0 + ((h >> 28) % 50) as f64, "height": 0.5},
        "tags": [pick(&TAGS, h >> 36), pick(&TAGS, h >> 40)],
        "variants": [{"color": pick(&COLORS, h >> 44), "size": pick(&SIZES, h >> 48)}]
    })
}

/// Order `i` (valid); every other order omits `total_amount`.
pub fn order(i: u64) -> Value {
    let h = h(3, i);
    let n = 1 + h % 4;
    let mut total = 0u64;
    let items: Vec<Value> = (0..n)
        .map(|k| {
            let g = splitmix64(h ^ k);
            let quantity = 1 + g % 10;
            let unit = 100 + (g >> 8) % 9_900;
            total += quantity * unit;
            json!({"product_id": 1 + (g >> 20) % 1000, "quantity": quantity, "unit_price": cents(unit)})
        })
        .collect();
    let mut order = json!({
        "id": i + 1,
        "customer_id": 1 + (h >> 8) % 500,
        "items": items,
        "shipping_address": address(h >> 3),
        "order_date": format!("2024-{:02}-{:02}T{:02}:{:02}:00Z", 1 + (h >> 16) % 12, 1 + (h >> 20) % 28, (h >> 24) % 24, (h >> 28) % 60),
        "status": pick(&STATUSES, h >> 32)
    });
    if i.is_multiple_of(2) {
        order["total_amount"] = Value::from(cents(total));
    }
    order
}

/// An advanced user that breaks every rule at once.
pub fn invalid_user() -> Value {
    json!({"id": -1, "username": "a", "email": "invalid", "age": 200, "height": -1.0, "tags": "not-a-list"})
}

/// The reference suite's advanced user (its `test_data`).
fn reference_advanced_user() -> Value {
    json!({
        "id": 123, "username": "johndoe123", "email": "john@example.com", "age": 30, "height": 1.75,
        "is_active": true, "tags": ["developer", "python", "web"],
        "metadata": {"department": "engineering", "role": "senior"}
    })
}

/// Every fixture file: name and exact contents (compact JSON and a newline).
pub fn all() -> Vec<(&'static str, String)> {
    let list = |f: fn(u64) -> Value, n: u64| Value::Array((0..n).map(f).collect());
    let mut mixed: Vec<Value> = (0..100).map(user).collect();
    for (k, u) in mixed.iter_mut().enumerate().filter(|(k, _)| k % 10 == 9) {
        u["age"] = Value::from(5 + k % 7);
        u["email"] = Value::from(format!("broken{k}"));
    }
    let files = [
        ("users_10.json", list(user, 10)),
        ("users_100.json", list(user, 100)),
        ("users_mixed_100.json", Value::Array(mixed)),
        ("products_10.json", list(product, 10)),
        ("products_100.json", list(product, 100)),
        ("orders_50.json", list(order, 50)),
        (
            "mega_batch.json",
            json!({
                "users": list(user, 50), "products": list(product, 50), "orders": list(order, 25),
                "timestamp": "2024-06-01T12:00:00Z", "batch_id": "BATCH-2024-0001"
            }),
        ),
        ("invalid_user.json", invalid_user()),
        (
            "simple_user.json",
            json!({"id": 123, "name": "John Doe", "email": "john@example.com", "age": 30}),
        ),
        ("advanced_user.json", reference_advanced_user()),
        (
            "complex_user.json",
            json!({
                "id": 123, "personal_info": reference_advanced_user(),
                "billing_address": {"street": "123 Main Street", "city": "San Francisco", "state": "CA", "zip_code": "94102", "country": "USA"},
                "preferences": {"theme": "dark", "notifications": true}, "created_at": "2024-01-01T00:00:00Z"
            }),
        ),
        (
            "product.json",
            json!({
                "name": "Premium Widget", "price": "29.99", "category": "Electronics",
                "description": "A high-quality widget for all your needs", "sku": "WIDGET-001", "in_stock": true,
                "stock_quantity": 100, "dimensions": {"length": 10.0, "width": 5.0, "height": 2.0},
                "tags": ["premium", "electronics", "widget"],
                "variants": [{"color": "red", "size": "small"}, {"color": "blue", "size": "large"}]
            }),
        ),
    ];
    files
        .into_iter()
        .map(|(name, v)| (name, format!("{v}\n")))
        .collect()
}
