//! The database category's rows: the same for every framework and engine,
//! generated from a fixed seed by a generator simple enough to restate in
//! any language (SplitMix64; `below(n)` is `next() % n`).
//!
//! Invariant: the sequence of rows is a pure function of [`SEED`]; each
//! table draws from its own stream, so adding a table moves no other's rows.

/// The seed every database is filled from.
pub const SEED: u64 = 0x5EED_2026;

/// `world` rows (and `cachedworld`'s): ids `1..=WORLD_ROWS`.
pub const WORLD_ROWS: i32 = 10_000;
/// `users` rows.
pub const USERS: i32 = 1_000;
/// `posts` rows.
pub const POSTS: i32 = 10_000;
/// `accounts` rows, one per user (account `i` belongs to user `i`).
pub const ACCOUNTS: i32 = 1_000;

/// SplitMix64 (Steele, Lea and Flood, 2014).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// The stream of table number `stream` (world 1, users 2, posts 3,
    /// accounts 4).
    pub fn stream(stream: u64) -> Self {
        Self(SEED.wrapping_add(stream.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
    }

    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`next() % n`: the bias is below 2⁻⁵⁰ for the
    /// small `n` used here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// One `world` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorldRow {
    /// 1..=10000.
    pub id: i32,
    /// 1..=10000.
    pub random_number: i32,
}

/// Every `world` row, id order.
pub fn world() -> Vec<WorldRow> {
    let mut rng = SplitMix64::stream(1);
    (1..=WORLD_ROWS)
        .map(|id| WorldRow {
            id,
            random_number: rng.below(10_000) as i32 + 1,
        })
        .collect()
}

/// TechEmpower's twelve fortunes (id, message).
pub const FORTUNES: [(i32, &str); 12] = [
    (1, "fortune: No such file or directory"),
    (
        2,
        "A computer scientist is someone who fixes things that aren't broken.",
    ),
    (3, "After enough decimal places, nobody gives a damn."),
    (
        4,
        "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1",
    ),
    (
        5,
        "A computer program does what you tell it to do, not what you want it to do.",
    ),
    (
        6,
        "Emacs is a nice operating system, but I prefer UNIX. \u{2014} Tom Christaensen",
    ),
    (7, "Any program that runs right is obsolete."),
    (
        8,
        "A list is only as strong as its weakest link. \u{2014} Donald Knuth",
    ),
    (9, "Feature: A bug with seniority."),
    (10, "Computers make very fast, very accurate mistakes."),
    (
        11,
        "<script>alert(\"This should not be displayed in a browser alert box.\");</script>",
    ),
    (12, "フレームワークのベンチマーク"),
];

/// The fortune added to every `/fortunes` page (never stored).
pub const ADDED_FORTUNE: (i32, &str) = (0, "Additional fortune added at request time.");

const FIRST: [&str; 16] = [
    "Ada", "Alan", "Barbara", "Dennis", "Edsger", "Frances", "Grace", "John", "Ken", "Leslie",
    "Margaret", "Niklaus", "Radia", "Shafi", "Tony", "Yukihiro",
];
const LAST: [&str; 16] = [
    "Allen",
    "Backus",
    "Dijkstra",
    "Goldwasser",
    "Hamilton",
    "Hoare",
    "Hopper",
    "Kay",
    "Knuth",
    "Lamport",
    "Liskov",
    "Matsumoto",
    "Perlman",
    "Ritchie",
    "Thompson",
    "Wirth",
];
const WORDS: [&str; 32] = [
    "array",
    "benchmark",
    "cache",
    "database",
    "engine",
    "fortune",
    "graph",
    "handler",
    "index",
    "join",
    "kernel",
    "latency",
    "memory",
    "network",
    "offset",
    "pool",
    "query",
    "row",
    "schema",
    "table",
    "update",
    "value",
    "worker",
    "yield",
    "zero",
    "async",
    "batch",
    "commit",
    "deadlock",
    "epoch",
    "flush",
    "lock",
];

/// One `users` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    /// 1..=1000.
    pub id: i32,
    /// A first and a last name from two lists of sixteen.
    pub name: String,
    /// `user{id}@example.com`.
    pub email: String,
}

/// Every `users` row, id order.
pub fn users() -> Vec<UserRow> {
    let mut rng = SplitMix64::stream(2);
    (1..=USERS)
        .map(|id| {
            let first = FIRST[rng.below(16) as usize];
            let last = LAST[rng.below(16) as usize];
            UserRow {
                id,
                name: format!("{first} {last}"),
                email: format!("user{id}@example.com"),
            }
        })
        .collect()
}

/// One `posts` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostRow {
    /// 1..=10000.
    pub id: i32,
    /// The author.
    pub user_id: i32,
    /// Two to five words.
    pub title: String,
    /// Eight to forty words.
    pub body: String,
}

/// `count` words of the word list, space-separated.
fn words(rng: &mut SplitMix64, count: u64) -> String {
    let picked: Vec<&str> = (0..count).map(|_| WORDS[rng.below(32) as usize]).collect();
    picked.join(" ")
}

/// Every `posts` row, id order: an author, a title of 2 to 5 words and a
/// body of 8 to 40.
pub fn posts() -> Vec<PostRow> {
    let mut rng = SplitMix64::stream(3);
    (1..=POSTS)
        .map(|id| {
            let user_id = rng.below(USERS as u64) as i32 + 1;
            let title_words = 2 + rng.below(4);
            let title = words(&mut rng, title_words);
            let body_words = 8 + rng.below(33);
            let body = words(&mut rng, body_words);
            PostRow {
                id,
                user_id,
                title,
                body,
            }
        })
        .collect()
}

/// One `accounts` row; balances in cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountRow {
    /// 1..=1000.
    pub id: i32,
    /// The owner (account `i` belongs to user `i`).
    pub user_id: i32,
    /// In cents.
    pub balance: i64,
}

/// Every `accounts` row, id order: 10,000.00 to 100,000.00 in whole
/// units, so that a load test's small transfers never empty one.
pub fn accounts() -> Vec<AccountRow> {
    let mut rng = SplitMix64::stream(4);
    (1..=ACCOUNTS)
        .map(|id| AccountRow {
            id,
            user_id: id,
            balance: (rng.below(90_001) as i64 + 10_000) * 100,
        })
        .collect()
}

/// The sum of every seeded balance (what `GET /accounts/total` answers
/// while only transfers have run).
pub fn total_balance() -> i64 {
    accounts().iter().map(|a| a.balance).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_gives_the_published_sequence() {
        // Reference values of SplitMix64 seeded with 1234567 (Vigna's C code).
        let mut rng = SplitMix64(1_234_567);
        assert_eq!(rng.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(rng.next_u64(), 3_203_168_211_198_807_973);
    }

    #[test]
    fn the_rows_are_the_ones_every_language_derives() {
        // Restated in shared-endpoints/README.md; a port checks these.
        let w: Vec<i32> = world().iter().take(3).map(|w| w.random_number).collect();
        assert_eq!(w, [7021, 3961, 1245]);
        assert_eq!(total_balance(), 5_500_056_900);
        assert_eq!(users()[0].name, "Ken Perlman");
    }

    #[test]
    fn rows_are_the_same_every_time_and_in_range() {
        assert_eq!(world(), world());
        assert_eq!(users(), users());
        assert!(world()
            .iter()
            .all(|w| (1..=10_000).contains(&w.random_number)));
        assert!(posts().iter().all(|p| (1..=USERS).contains(&p.user_id)));
        assert!(accounts()
            .iter()
            .all(|a| a.balance >= 1_000_000 && a.balance <= 10_000_000));
    }
}
