#![allow(clippy::unwrap_used)]

use super::accounts::{AccountError, HashCost, Login, Registration};
use super::analytics::{AnalyticsLimits, EventRequest, EVENT_TYPES};
use super::blog::{CommentError, CommentRequest, PostQuery};
use super::catalog::{ProductQuery, SortKey};
use super::orders::{ItemRequest, OrderError, OrderRequest};
use super::*;
use chrono::{Duration as Days, Utc};
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, HashMap, HashSet};

fn cheap() -> Config {
    Config {
        hash_cost: HashCost::CHEAPEST,
        ..Config::default()
    }
}

fn world() -> RealWorld {
    RealWorld::seeded(&cheap()).unwrap()
}

fn order(items: &[(i64, i64)], total: Option<f64>) -> OrderRequest {
    let address: BTreeMap<String, String> = [
        ("street", "123 Main St"),
        ("city", "New York"),
        ("zip_code", "10001"),
        ("country", "USA"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    OrderRequest {
        user_id: None,
        status: None,
        total_amount: total,
        shipping_address: address,
        billing_address: None,
        items: items
            .iter()
            .map(|&(product_id, quantity)| ItemRequest {
                product_id,
                quantity,
            })
            .collect(),
        payment_method: "paypal".into(),
    }
}

#[test]
fn listings_equal_a_brute_force_filter_and_sort() {
    let w = world();
    let all: Vec<_> = (1..=1000).map(|id| w.catalog.get(id).unwrap()).collect();
    for (category, search, key, descending) in [
        (None, None, SortKey::Name, false),
        (Some(2), None, SortKey::Price, true),
        (None, Some("lap"), SortKey::CreatedAt, false),
        (Some(1), Some("phone"), SortKey::Popularity, true),
        (Some(3), Some("zebra"), SortKey::Name, false),
    ] {
        let q = ProductQuery {
            page: 2,
            limit: 7,
            category_id: category,
            search: search.map(str::to_owned),
            sort_by: key,
            descending,
        };
        let mut expected: Vec<_> = all
            .iter()
            .filter(|p| category.is_none_or(|c| p.product.category_id == c))
            .filter(|p| {
                search.is_none_or(|s| {
                    let words: Vec<String> = search::words(&p.product.name)
                        .chain(search::words(p.product.brand))
                        .chain(p.product.tags.iter().flat_map(|t| search::words(t)))
                        .collect();
                    words.iter().any(|w| w.starts_with(s))
                })
            })
            .collect();
        expected.sort_by(|a, b| {
            let (a, b) = (a.product, b.product);
            match key {
                SortKey::Name => a.name.as_bytes().cmp(b.name.as_bytes()),
                SortKey::Price => a.price.cmp(&b.price),
                SortKey::CreatedAt => a.created_at.cmp(&b.created_at),
                SortKey::Popularity => a.views.cmp(&b.views),
            }
            .then(a.id.cmp(&b.id))
        });
        if descending {
            expected.reverse();
        }
        let page = w.catalog.list(&q);
        assert_eq!(page.paging.total, expected.len(), "{q:?}");
        let got: Vec<u32> = page.items.iter().map(|p| p.product.id).collect();
        let want: Vec<u32> = expected
            .iter()
            .skip(7)
            .take(7)
            .map(|p| p.product.id)
            .collect();
        assert_eq!(got, want, "{q:?}");
    }
}

#[test]
fn views_and_sales_move_popularity() {
    let w = world();
    let q = ProductQuery {
        page: 1,
        limit: 1,
        category_id: None,
        search: None,
        sort_by: SortKey::Popularity,
        descending: true,
    };
    let top = w.catalog.list(&q).items[0].product.id;
    let before = w.catalog.get(1).unwrap().views;
    for _ in 0..5000 {
        w.catalog.view_once(1);
    }
    assert_eq!(w.catalog.get(1).unwrap().views, before + 5000);
    assert_eq!(w.catalog.list(&q).items[0].product.id, 1, "was {top}");
}

#[test]
fn fifty_concurrent_orders_sell_exactly_the_stock_of_ten() {
    let w = Arc::new(world());
    let id = seed::LIMITED_FROM as i64;
    assert_eq!(w.catalog.get(id as u32).unwrap().stock, 10);
    let handles: Vec<_> = (0..50)
        .map(|k| {
            let w = w.clone();
            // Some orders also take a plentiful product: all or nothing.
            std::thread::spawn(move || w.place_order(1, order(&[(k % 3 + 1, 1), (id, 1)], None)))
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let sold = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(sold, 10);
    assert!(results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .all(|e| matches!(e, OrderError::OutOfStock(s) if s[0].item == 1)));
    assert_eq!(w.catalog.get(id as u32).unwrap().stock, 0);
    let taken: u32 = (1..=3)
        .map(|p| seed::product(p).stock - w.catalog.get(p).unwrap().stock)
        .sum();
    assert_eq!(taken, 10, "refused orders took nothing");
    assert_eq!(w.orders.counts().placed, 10);
}

#[test]
fn orders_are_priced_from_the_catalog() {
    let w = world();
    let price = seed::product(1).price;
    let total: f64 = (price * rust_decimal::Decimal::from(2))
        .to_string()
        .parse()
        .unwrap();
    let placed = w.place_order(3, order(&[(1, 2)], Some(total))).unwrap();
    assert_eq!(placed.total_amount, price * rust_decimal::Decimal::from(2));
    assert_eq!(w.orders.get(placed.id).unwrap().user_id, 3);
    let err = |r: OrderRequest| match w.place_order(3, r) {
        Err(OrderError::Invalid(f)) => f.errors.into_iter().map(|e| e.field).collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    assert_eq!(err(order(&[(1, 2)], Some(total + 0.01))), ["total_amount"]);
    assert_eq!(err(order(&[(1, 2)], Some(1.001))), ["total_amount"]);
    assert_eq!(
        err(order(&[(1, 0), (5000, 1), (2, 1), (2, 1)], None)),
        [
            "items[0].quantity",
            "items[1].product_id",
            "items[3].product_id"
        ]
    );
    let mut other_user = order(&[(1, 1)], None);
    other_user.user_id = Some(4);
    assert!(matches!(
        w.place_order(3, other_user),
        Err(OrderError::WrongUser { .. })
    ));
    let stock = w.catalog.get(1).unwrap().stock;
    assert!(matches!(
        w.place_order(3, order(&[(1, 1), (seed::LIMITED_FROM as i64, 11)], None)),
        Err(OrderError::OutOfStock(_))
    ));
    assert_eq!(w.catalog.get(1).unwrap().stock, stock);
}

#[test]
fn order_log_is_bounded() {
    let mut config = cheap();
    config.retain_orders = 3;
    let w = RealWorld::seeded(&config).unwrap();
    for _ in 0..5 {
        w.place_order(1, order(&[(1, 1)], None)).unwrap();
    }
    let counts = w.orders.counts();
    assert_eq!((counts.placed, counts.retained, counts.evicted), (5, 3, 2));
    assert!(w.orders.get(2).is_none() && w.orders.was_evicted(2));
    assert_eq!(w.orders.get(5).unwrap().id, 5);
}

fn registration(name: &str) -> Registration {
    Registration {
        username: name.into(),
        email: format!("{name}@example.org"),
        password: "correct horse".into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
    }
}

#[test]
fn register_login_and_tokens() {
    let w = world();
    let user = w.accounts.register(registration("ada_l")).unwrap();
    assert_eq!(user.id, 101);
    assert_eq!(
        w.accounts.register(registration("ADA_L")).unwrap_err(),
        AccountError::Taken("username")
    );
    let mut bad = registration("x");
    bad.email = "nope".into();
    bad.password = "short".into();
    match w.accounts.register(bad) {
        Err(AccountError::Invalid(f)) => {
            let fields: Vec<_> = f.errors.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(fields, ["username", "email", "password"]);
        }
        other => panic!("{other:?}"),
    }
    let login = |u: &str, p: &str| {
        w.accounts.login(&Login {
            username: u.into(),
            password: p.into(),
        })
    };
    let (_, token) = login("ada_l", "correct horse").unwrap();
    assert_eq!(
        w.accounts.authenticate(&token.access_token).unwrap().id,
        101
    );
    assert!(login("ada_l@example.org", "correct horse").is_ok());
    assert_eq!(
        login("ada_l", "wrong horse").unwrap_err(),
        AccountError::BadCredentials
    );
    assert_eq!(
        login("nobody", "x").unwrap_err(),
        AccountError::BadCredentials
    );
    assert!(login("user_007", "Passw0rd-7").is_ok(), "seeded password");
    // A token for another user with the same signature is refused.
    let forged = token.access_token.replacen("101.", "1.", 1);
    assert!(w.accounts.authenticate(&forged).is_err());
    assert!(w.accounts.authenticate("garbage").is_err());
    let expired = RealWorld::seeded(&Config {
        token_ttl: Duration::ZERO,
        ..cheap()
    })
    .unwrap();
    let t = expired.accounts.issue(1);
    assert_eq!(
        expired.accounts.authenticate(&t.access_token).unwrap_err(),
        AccountError::BadToken("token expired")
    );
}

#[test]
fn posts_filter_and_take_comments() {
    let w = world();
    let q = |status, tag: Option<&str>, search: Option<&str>| PostQuery {
        page: 1,
        limit: 100,
        status,
        tag: tag.map(str::to_owned),
        search: search.map(str::to_owned),
    };
    let published = w.blog.list(&q("published", None, None));
    assert_eq!(published.paging.total, 160);
    let tech = w.blog.list(&q("published", Some("tech"), Some("tutorial")));
    let expected = (1..=200)
        .map(seed::post)
        .filter(|p| p.status == "published" && p.tags.contains(&"tech"))
        .filter(|p| p.title.starts_with("Tutorial"))
        .count();
    assert_eq!(tech.paging.total, expected);
    assert!(expected > 0);
    let views = w.blog.read(1).unwrap();
    let before = serde_json::to_value(&views).unwrap()["view_count"]
        .as_u64()
        .unwrap();
    let again = serde_json::to_value(w.blog.read(1).unwrap()).unwrap();
    assert_eq!(again["view_count"], before + 1);
    let c = w
        .blog
        .comment(
            1,
            42,
            CommentRequest {
                content: "Nice".into(),
                parent_id: None,
            },
        )
        .unwrap();
    let reply = CommentRequest {
        content: "Agreed".into(),
        parent_id: Some(c.id as i64),
    };
    assert_eq!(w.blog.comment(1, 7, reply).unwrap().parent_id, Some(c.id));
    let post = serde_json::to_value(w.blog.read(1).unwrap()).unwrap();
    assert_eq!(post["comments"][0]["content"], "Agreed");
    assert!(matches!(
        w.blog.comment(
            2,
            7,
            CommentRequest {
                content: " ".into(),
                parent_id: Some(c.id as i64)
            }
        ),
        Err(CommentError::Invalid(f)) if f.errors.len() == 2
    ));
    assert!(matches!(
        w.blog.comment(
            10,
            7,
            CommentRequest {
                content: "x".into(),
                parent_id: None
            }
        ),
        Err(CommentError::Closed("draft"))
    ));
}

/// An event as a client sends it (also used by the analytics module's tests).
pub(crate) fn event(kind: &str, session: &str, page: &str, at: Option<String>) -> EventRequest {
    EventRequest {
        event_type: kind.into(),
        user_id: Some(1),
        session_id: session.into(),
        page_url: page.into(),
        referrer: None,
        user_agent: "test".into(),
        ip_address: "127.0.0.1".into(),
        properties: None,
        timestamp: at,
    }
}

#[test]
fn dashboard_equals_an_independent_recount() {
    let w = world();
    let now = Utc::now();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut sent = Vec::new();
    for _ in 0..3000 {
        let kind = EVENT_TYPES[rng.random_range(0..5)];
        let session = format!("s{}", rng.random_range(0..300));
        let page = format!("https://example.com/p/{}", rng.random_range(0..40));
        let at = now - Days::days(rng.random_range(0..6));
        let e = event(kind, &session, &page, Some(at.to_rfc3339()));
        w.analytics.track(e.validate(now, 3650).unwrap());
        sent.push((kind, session, page, at.date_naive()));
    }
    let from = (now - Days::days(3)).date_naive();
    let to = (now - Days::days(1)).date_naive();
    let d = w.analytics.dashboard(Some(from), Some(to));
    let in_range: Vec<_> = sent.iter().filter(|e| e.3 >= from && e.3 <= to).collect();
    assert_eq!(d.total_events, in_range.len() as u64);
    for t in EVENT_TYPES {
        let n = in_range.iter().filter(|e| e.0 == t).count() as u64;
        assert_eq!(d.events_by_type[t], n, "{t}");
    }
    let sessions: HashSet<_> = in_range.iter().map(|e| &e.1).collect();
    assert_eq!(d.unique_sessions, sessions.len());
    let mut pages: HashMap<&str, u64> = HashMap::new();
    for e in in_range.iter().filter(|e| e.0 == "page_view") {
        *pages.entry(&e.2).or_default() += 1;
    }
    let mut top: Vec<_> = pages.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let got: Vec<_> = d
        .top_pages
        .iter()
        .map(|p| (p.page_url.as_str(), p.views))
        .collect();
    assert_eq!(got, top[..10]);
    let all = w.analytics.dashboard(None, None);
    assert_eq!(all.total_events, 3000);
    let one_day = w.analytics.dashboard(Some(from), Some(from));
    let n: HashSet<_> = sent.iter().filter(|e| e.3 == from).map(|e| &e.1).collect();
    assert_eq!(one_day.unique_sessions, n.len());
}

#[test]
fn analytics_memory_is_bounded_and_counted() {
    let mut config = cheap();
    config.analytics = AnalyticsLimits {
        window_days: 30,
        retained_events: 100,
        retained_event_bytes: 1 << 20,
        key_bytes: 50 * 80,
    };
    let w = RealWorld::seeded(&config).unwrap();
    let now = Utc::now();
    for i in 0..1000 {
        let e = event("page_view", &format!("s{i}"), &format!("/p{i}"), None);
        w.analytics.track(e.validate(now, 30).unwrap());
    }
    let r = w.analytics.retention_now();
    assert_eq!((r.events_retained, r.events_evicted), (100, 900));
    assert!(r.key_bytes <= 50 * 80, "{r:?}");
    assert!(r.distinct_keys > 0);
    assert_eq!(
        r.untracked_page_views + r.untracked_sessions,
        2000 - r.distinct_keys as u64,
        "one day: nothing older to summarize"
    );
    let d = w.analytics.dashboard(None, None);
    assert_eq!(d.total_events, 1000, "counts stay exact");
    let old = event("click", "s", "/", Some((now - Days::days(30)).to_rfc3339()));
    let fields: Vec<_> = old.validate(now, 30).unwrap_err().errors;
    assert_eq!(fields[0].field, "timestamp");
    let bad = EventRequest {
        ip_address: "999.1.1.1".into(),
        ..event("hover", "", "/", Some("yesterday".into()))
    };
    let fields: Vec<_> = bad
        .validate(now, 30)
        .unwrap_err()
        .errors
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(
        fields,
        ["event_type", "session_id", "ip_address", "timestamp"]
    );
}

#[test]
fn raw_events_are_bounded_by_bytes_too() {
    let mut config = cheap();
    config.analytics.retained_event_bytes = 10_000;
    let w = RealWorld::seeded(&config).unwrap();
    let now = Utc::now();
    for i in 0..200 {
        let page = format!("/{}", "x".repeat(1000 + i));
        let e = event("page_view", "s", &page, None);
        w.analytics.track(e.validate(now, 30).unwrap());
    }
    let r = w.analytics.retention_now();
    assert!(r.events_retained < 10, "{r:?}");
    assert_eq!(r.events_retained as u64 + r.events_evicted, 200);
}

#[test]
fn a_full_budget_summarizes_the_oldest_days_and_keeps_today_exact() {
    let mut config = cheap();
    config.analytics.key_bytes = 100 * 80;
    let w = RealWorld::seeded(&config).unwrap();
    let now = Utc::now();
    let yesterday = (now - Days::days(1)).to_rfc3339();
    // Yesterday: 30 sessions and 10 pages, page k viewed k + 1 times.
    for i in 0..30 {
        let page = format!("/y{}", i % 10);
        for _ in 0..=(i % 10) {
            let e = event(
                "page_view",
                &format!("y{i}"),
                &page,
                Some(yesterday.clone()),
            );
            w.analytics.track(e.validate(now, 30).unwrap());
        }
    }
    let before = w.analytics.dashboard(None, None);
    assert!(before.exact);
    // Today fills the budget: yesterday is summarized to make room.
    for i in 0..80 {
        let e = event("click", &format!("t{i}"), "/", None);
        w.analytics.track(e.validate(now, 30).unwrap());
    }
    let r = w.analytics.retention_now();
    assert_eq!(r.days_summarized, 1);
    assert_eq!(r.untracked_sessions, 0, "{r:?}");
    let today = now.date_naive();
    let t = w.analytics.dashboard(Some(today), Some(today));
    assert!(t.exact);
    assert_eq!(t.unique_sessions, 80);
    let y = (now - Days::days(1)).date_naive();
    let old = w.analytics.dashboard(Some(y), Some(y));
    assert!(!old.exact);
    assert_eq!(old.unique_sessions, 30, "the count survives");
    assert_eq!(old.total_events, before.total_events);
    assert_eq!(
        old.top_pages, before.top_pages,
        "ten pages: the top ten is all"
    );
}

#[test]
fn stored_orders_and_comments_are_bounded_by_bytes() {
    let mut config = cheap();
    config.retain_order_bytes = 4000;
    config.max_comment_bytes = 500;
    let w = RealWorld::seeded(&config).unwrap();
    for _ in 0..50 {
        w.place_order(1, order(&[(1, 1)], None)).unwrap();
    }
    let c = w.orders.counts();
    assert!(c.retained_bytes <= 4000 && c.retained >= 1, "{c:?}");
    assert_eq!(c.retained as u64 + c.evicted, 50);
    let comment = |text: &str| {
        w.blog.comment(
            1,
            1,
            CommentRequest {
                content: text.into(),
                parent_id: None,
            },
        )
    };
    assert!(comment(&"a".repeat(300)).is_ok());
    assert!(matches!(
        comment(&"b".repeat(300)),
        Err(CommentError::Full(_))
    ));
    assert!(comment("short").is_ok(), "a refusal reserves nothing");
}

#[test]
fn orders_count_in_the_dashboard() {
    let w = world();
    let before = w.analytics.dashboard(None, None);
    let o = w.place_order(2, order(&[(3, 2), (4, 1)], None)).unwrap();
    let after = w.analytics.dashboard(None, None);
    assert_eq!(after.orders, before.orders + 1);
    assert_eq!(after.revenue, before.revenue + o.total_amount);
}

fn two_failures() -> crate::ValidationFailure {
    crate::ValidationFailure {
        errors: vec![
            crate::FieldError::new("a", "length", "too long"),
            crate::FieldError::new("b", "required", "missing"),
        ],
    }
}

/// An account error's message names what it carries.
#[test]
fn account_errors_name_their_values() {
    let say = |e: AccountError| e.to_string();
    assert_eq!(
        say(AccountError::Invalid(two_failures())),
        "invalid registration: 2 field(s) failed validation"
    );
    assert_eq!(say(AccountError::Taken("email")), "that email is taken");
    assert_eq!(
        say(AccountError::BadCredentials),
        "wrong username or password"
    );
    assert_eq!(
        say(AccountError::BadToken("token expired")),
        "token refused: token expired"
    );
    assert_eq!(
        say(AccountError::Full(1234)),
        "the server holds its limit of 1234 accounts"
    );
}

/// An order error's message names the users, and each short product with
/// its stock and the quantity asked for.
#[test]
fn order_errors_name_their_values() {
    assert_eq!(
        OrderError::Invalid(two_failures()).to_string(),
        "invalid order: 2 field(s) failed validation"
    );
    assert_eq!(
        OrderError::WrongUser {
            acting: 3,
            claimed: 47
        }
        .to_string(),
        "user 3 cannot order for user 47"
    );
    let short = |item, product_id, requested, available| catalog::Shortage {
        item,
        product_id,
        requested,
        available,
    };
    assert_eq!(
        OrderError::OutOfStock(vec![short(0, 17, 5, 2), short(2, 301, 1, 0)]).to_string(),
        "not enough stock, nothing was reserved: product 17 has 2 in stock, 5 requested; \
         product 301 has 0 in stock, 1 requested"
    );
}

/// A comment error's message names the post, its status or the limit.
#[test]
fn comment_errors_name_their_values() {
    assert_eq!(CommentError::NoPost(42).to_string(), "no post 42");
    assert_eq!(
        CommentError::Closed("archived").to_string(),
        "the post is archived; only published posts take comments"
    );
    assert_eq!(
        CommentError::Invalid(two_failures()).to_string(),
        "invalid comment: 2 field(s) failed validation"
    );
    assert_eq!(
        CommentError::Full(777).to_string(),
        "the server holds its limit of 777 comments"
    );
}
