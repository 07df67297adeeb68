//! Deterministic data served by the `basic` category, derived from ids so
//! that every framework answers the same request with the same content.

use crate::mix::{index, pick, splitmix64};
use serde::Serialize;

/// Number of users in the virtual directory behind `GET /users`.
pub const USER_COUNT: u64 = 10_000;

const FIRST: [&str; 12] = [
    "Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory",
    "Niaj",
];
const LAST: [&str; 10] = [
    "Johnson", "Smith", "Garcia", "Miller", "Davis", "Lopez", "Wilson", "Moore", "Clark", "Young",
];
const FIRST_LOWER: [&str; 12] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "niaj",
];
const LAST_LOWER: [&str; 10] = [
    "johnson", "smith", "garcia", "miller", "davis", "lopez", "wilson", "moore", "clark", "young",
];
const TAGS: [&str; 8] = [
    "developer",
    "designer",
    "rust",
    "python",
    "ops",
    "data",
    "mobile",
    "security",
];
const CITIES: [&str; 6] = ["Lisbon", "Osaka", "Denver", "Nairobi", "Tallinn", "Recife"];
const THEMES: [&str; 3] = ["light", "dark", "system"];
const LANGUAGES: [&str; 4] = ["en", "pt", "ja", "de"];
const ACTIVITIES: [&str; 4] = ["post", "comment", "like", "follow"];

/// One user of the virtual directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRecord {
    /// The id the user was derived from.
    pub id: u64,
    /// Full name.
    pub name: String,
    /// Address built from the name and id.
    pub email: String,
    /// 18–77.
    pub age: u64,
    /// False for one user in seven.
    pub is_active: bool,
    /// One or two tags.
    pub tags: Vec<&'static str>,
}

/// What a user is made of, before any string is built: first and last
/// name indexes, age, activity and tags.
struct Parts {
    first: usize,
    last: usize,
    age: u64,
    is_active: bool,
    tags: (&'static str, Option<&'static str>),
}

fn parts(id: u64) -> Parts {
    let h = splitmix64(id);
    Parts {
        first: index(FIRST.len(), h),
        last: index(LAST.len(), h >> 8),
        age: 18 + (h >> 32) % 60,
        is_active: !id.is_multiple_of(7),
        tags: (
            pick(&TAGS, h >> 16),
            (h & 1 == 1).then(|| pick(&TAGS, (h >> 24) + 1)),
        ),
    }
}

/// Builds the user with this id; the same id always gives the same user.
pub fn user_record(id: u64) -> UserRecord {
    let p = parts(id);
    let (f, l) = (p.first, p.last);
    UserRecord {
        id,
        name: [FIRST[f], " ", LAST[l]].concat(),
        email: format!("{}.{}{id}@example.com", FIRST_LOWER[f], LAST_LOWER[l]),
        age: p.age,
        is_active: p.is_active,
        tags: std::iter::once(p.tags.0).chain(p.tags.1).collect(),
    }
}

/// Appends `n` in decimal.
fn push_u64(out: &mut String, n: u64) {
    out.push_str(itoa::Buffer::new().format(n));
}

/// Appends the user's full name (`First Last`).
fn push_name(out: &mut String, p: &Parts) {
    out.push_str(FIRST[p.first]);
    out.push(' ');
    out.push_str(LAST[p.last]);
}

/// Appends the user's e-mail address (`first.last{id}@example.com`).
fn push_email(out: &mut String, id: u64, p: &Parts) {
    out.push_str(FIRST_LOWER[p.first]);
    out.push('.');
    out.push_str(LAST_LOWER[p.last]);
    push_u64(out, id);
    out.push_str("@example.com");
}

/// Appends the JSON of the user with this id, byte for byte what
/// serializing [`user_record`] gives, without building it (every name and
/// tag is plain ASCII: nothing to escape).
pub fn write_user_json(id: u64, out: &mut String) {
    let p = parts(id);
    out.push_str("{\"id\":");
    push_u64(out, id);
    out.push_str(",\"name\":\"");
    push_name(out, &p);
    out.push_str("\",\"email\":\"");
    push_email(out, id, &p);
    out.push_str("\",\"age\":");
    push_u64(out, p.age);
    out.push_str(if p.is_active {
        ",\"is_active\":true,\"tags\":[\""
    } else {
        ",\"is_active\":false,\"tags\":[\""
    });
    out.push_str(p.tags.0);
    if let Some(second) = p.tags.1 {
        out.push_str("\",\"");
        out.push_str(second);
    }
    out.push_str("\"]}");
}

/// The JSON of [`users_page`], written straight into one buffer: byte for
/// byte what serializing the page gives, with no record built.
pub fn users_page_json(limit: u64, offset: u64) -> String {
    let first = offset.saturating_add(1);
    let last = offset.saturating_add(limit).min(USER_COUNT);
    let count = (first..=last).count() as u64;
    let mut out = String::with_capacity(64 + 140 * count as usize);
    out.push_str("{\"users\":[");
    for id in first..=last {
        if id != first {
            out.push(',');
        }
        write_user_json(id, &mut out);
    }
    out.push_str("],\"total\":");
    push_u64(&mut out, USER_COUNT);
    out.push_str(",\"limit\":");
    push_u64(&mut out, limit);
    out.push_str(",\"offset\":");
    push_u64(&mut out, offset);
    out.push_str(",\"count\":");
    push_u64(&mut out, count);
    out.push('}');
    out
}

/// A page of the virtual directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsersPage {
    /// Users `offset + 1 ..= offset + limit`, clipped to [`USER_COUNT`].
    pub users: Vec<UserRecord>,
    /// Size of the directory.
    pub total: u64,
    /// Requested page size.
    pub limit: u64,
    /// Requested offset.
    pub offset: u64,
    /// Users in this page.
    pub count: u64,
}

/// The page of users after skipping `offset` users.
pub fn users_page(limit: u64, offset: u64) -> UsersPage {
    let first = offset.saturating_add(1);
    let last = offset.saturating_add(limit).min(USER_COUNT);
    let users: Vec<_> = (first..=last).map(user_record).collect();
    UsersPage {
        count: users.len() as u64,
        users,
        total: USER_COUNT,
        limit,
        offset,
    }
}

/// A richer, nested view of a user for `GET /user/{id}/profile`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserProfile {
    /// The user itself.
    pub user: UserRecord,
    /// Public profile.
    pub profile: Profile,
    /// Preferences.
    pub settings: Settings,
    /// Counters.
    pub stats: Stats,
    /// The five latest actions, newest first.
    pub recent_activity: Vec<Activity>,
}

/// Public profile part of [`UserProfile`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    /// One line about the user.
    pub bio: String,
    /// City.
    pub location: &'static str,
    /// Personal page.
    pub website: String,
    /// Join date, `YYYY-MM-DD`.
    pub joined: String,
}

/// Preferences part of [`UserProfile`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// UI theme.
    pub theme: &'static str,
    /// Language code.
    pub language: &'static str,
    /// Whether e-mail notifications are on.
    pub email_notifications: bool,
    /// Whether push notifications are on.
    pub push_notifications: bool,
}

/// Counters part of [`UserProfile`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Posts written.
    pub posts: u64,
    /// Followers.
    pub followers: u64,
    /// Accounts followed.
    pub following: u64,
}

/// One entry of [`UserProfile::recent_activity`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Activity {
    /// What was done.
    pub kind: &'static str,
    /// Id of the object acted on.
    pub target_id: u64,
    /// Seconds since the Unix epoch.
    pub at: u64,
}

/// Builds the profile of the user with this id.
pub fn profile(id: u64) -> UserProfile {
    let user = user_record(id);
    let h = splitmix64(id ^ 0x5eed);
    let joined_days = h % 3650;
    let (y, m, d) = civil_from_days(16_000 + joined_days as i64);
    let recent_activity = (0..5u64)
        .map(|i| {
            let a = splitmix64(h.wrapping_add(i));
            Activity {
                kind: pick(&ACTIVITIES, a),
                target_id: 1 + a % 100_000,
                at: 1_700_000_000 - i * 3_600 - a % 3_600,
            }
        })
        .collect();
    UserProfile {
        profile: Profile {
            bio: format!("{} works on {} things.", user.name, user.tags[0]),
            location: pick(&CITIES, h >> 4),
            website: format!("https://example.com/~user{id}"),
            joined: format!("{y:04}-{m:02}-{d:02}"),
        },
        settings: Settings {
            theme: pick(&THEMES, h >> 12),
            language: pick(&LANGUAGES, h >> 20),
            email_notifications: h & 2 == 2,
            push_notifications: h & 4 == 4,
        },
        stats: Stats {
            posts: (h >> 28) % 500,
            followers: (h >> 36) % 10_000,
            following: (h >> 44) % 1_000,
        },
        recent_activity,
        user,
    }
}

/// Days since 1970-01-01 to a (year, month, day) civil date.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Appends item `i` of the JSON stream (`{"id":i,"name":"item-i","value":…}`).
pub fn json_stream_item(i: u64, out: &mut String) {
    let v = splitmix64(i) % 1_000_000;
    let mut digits = itoa::Buffer::new();
    let id = digits.format(i);
    out.push_str("{\"id\":");
    out.push_str(id);
    out.push_str(",\"name\":\"item-");
    out.push_str(id);
    out.push_str("\",\"value\":");
    push_u64(out, v / 100);
    let cents = (v % 100) as u8;
    out.push('.');
    out.push(char::from(b'0' + cents / 10));
    out.push(char::from(b'0' + cents % 10));
    out.push('}');
}

/// The CSV stream's header line, with its newline.
pub fn csv_header() -> &'static str {
    "id,name,email,age\n"
}

/// Appends row `i` of the CSV stream (the user with id `i + 1`), with no
/// record built.
pub fn csv_row(i: u64, out: &mut String) {
    let id = i + 1;
    let p = parts(id);
    push_u64(out, id);
    out.push(',');
    push_name(out, &p);
    out.push(',');
    push_email(out, id, &p);
    out.push(',');
    push_u64(out, p.age);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_deterministic_and_distinct() {
        assert_eq!(user_record(42), user_record(42));
        assert_ne!(user_record(42).email, user_record(43).email);
        assert!(user_record(42).email.ends_with("42@example.com"));
    }

    #[test]
    fn lower_case_tables_match() {
        for (a, b) in FIRST
            .iter()
            .zip(FIRST_LOWER)
            .chain(LAST.iter().zip(LAST_LOWER))
        {
            assert_eq!(a.to_ascii_lowercase(), b);
        }
        assert_eq!(FIRST.len(), FIRST_LOWER.len());
        assert_eq!(LAST.len(), LAST_LOWER.len());
    }

    #[test]
    fn page_is_clipped_to_directory() {
        let p = users_page(20, 10);
        assert_eq!(p.count, 20);
        assert_eq!(p.users[0].id, 11);
        assert_eq!(users_page(100, USER_COUNT - 5).count, 5);
        assert_eq!(users_page(10, USER_COUNT).count, 0);
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
    }

    /// The direct writers give exactly what the records, serialized or
    /// formatted, give.
    #[test]
    fn direct_writers_equal_the_records() {
        for id in (1..=300).chain([9_999, 10_000, u64::MAX / 3]) {
            let mut json = String::new();
            write_user_json(id, &mut json);
            let u = user_record(id);
            assert_eq!(json, serde_json::to_string(&u).unwrap(), "{id}");
            let mut csv = String::new();
            csv_row(id - 1, &mut csv);
            assert_eq!(csv, format!("{},{},{},{}\n", u.id, u.name, u.email, u.age));
            let mut item = String::new();
            json_stream_item(id, &mut item);
            let v = splitmix64(id) % 1_000_000;
            let want = format!(
                r#"{{"id":{id},"name":"item-{id}","value":{}.{:02}}}"#,
                v / 100,
                v % 100
            );
            assert_eq!(item, want);
        }
        for (limit, offset) in [(20, 10), (1, 0), (100, 9_900), (100, 9_950), (10, 10_000)] {
            assert_eq!(
                users_page_json(limit, offset),
                serde_json::to_string(&users_page(limit, offset)).unwrap(),
                "{limit} {offset}"
            );
        }
    }

    #[test]
    fn stream_rows() {
        let mut s = String::new();
        json_stream_item(3, &mut s);
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["id"], 3);
        s.clear();
        csv_row(0, &mut s);
        assert!(s.starts_with("1,"));
        assert!(s.ends_with('\n'));
    }
}
