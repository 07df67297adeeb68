//! Accounts: registration and login with argon2id password hashes (cost
//! parameters chosen by the server), stateless bearer tokens signed with
//! HMAC-SHA256, and each user's recently viewed products.
//!
//! Hashing is deliberately slow: callers run [`Accounts::register`] and
//! [`Accounts::login`] on blocking threads behind a gate of their own. A
//! [`PasswordHasher`] keeps a few argon2 arenas (19 MiB each at the default
//! cost) between hashes instead of mapping and faulting in a new one per
//! hash. Hashes are PHC strings (`$argon2id$v=19$m=…,t=…,p=…$salt$tag`,
//! 16-byte salt, 32-byte tag), the same as argon2-cffi's for the same salt.

use super::seed;
use super::wire::serialize_time;
use crate::sync::{lock, read, write};
use crate::validation::patterns::{EMAIL, USERNAME};
use crate::{FieldError, ValidationFailure};
use argon2_rust::params::Memory;
use argon2_rust::{Algorithm, Argon2, Hasher, Params, Version};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use sha2::Sha256;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How many recently viewed products a user keeps.
pub const RECENT_VIEWS: usize = 10;

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HashCost {
    /// Memory in KiB (OWASP's minimum: 19,456).
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl HashCost {
    /// A very cheap cost (64 KiB, one pass) for tests and fuzzing; never
    /// for real passwords.
    pub const CHEAPEST: Self = Self {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    /// A hasher of this cost (argon2id, version 0x13, 32-byte tags)
    /// keeping at most `arenas` arenas between hashes; an error for
    /// parameters argon2 refuses.
    pub fn hasher(&self, arenas: usize) -> Result<PasswordHasher, String> {
        let params = Params::builder()
            .memory(Memory::kib(u64::from(self.memory_kib)))
            .passes(self.iterations)
            .lanes(self.parallelism)
            .build()
            .map_err(|e| format!("argon2 cost parameters: {e}"))?;
        Ok(PasswordHasher {
            argon2: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            idle: Mutex::default(),
            keep: arenas.max(1),
        })
    }
}

/// argon2id hashing and checking of passwords, on arenas kept between
/// hashes: a hash takes an idle arena (or makes one) and gives it back,
/// and at most `keep` wait idle, so memory stays bounded by the hashes
/// running at once, whichever threads run them.
pub struct PasswordHasher {
    argon2: Argon2,
    idle: Mutex<Vec<Hasher>>,
    keep: usize,
}

impl PasswordHasher {
    fn with_arena<T>(&self, f: impl FnOnce(&mut Hasher) -> T) -> T {
        let taken = lock(&self.idle).pop();
        let mut hasher = taken.unwrap_or_else(|| self.argon2.hasher());
        let out = f(&mut hasher);
        let mut idle = lock(&self.idle);
        if idle.len() < self.keep {
            idle.push(hasher);
        }
        out
    }

    /// `password` hashed with a fresh random 16-byte salt, as a PHC string.
    pub fn hash(&self, password: &str) -> Result<String, String> {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        self.hash_with_salt(password, &salt)
    }

    /// `password` hashed with `salt`, as a PHC string (what argon2-cffi's
    /// `PasswordHasher.hash(password, salt=salt)` gives at the same cost).
    pub fn hash_with_salt(&self, password: &str, salt: &[u8]) -> Result<String, String> {
        self.with_arena(|h| h.hash_encoded(password.as_bytes(), salt))
            .map_err(|e| e.to_string())
    }

    /// Whether `password` is the one `stored` (a PHC string) was made
    /// from, at the string's own cost.
    pub fn verify(&self, stored: &str, password: &str) -> bool {
        self.with_arena(|h| {
            h.verify_encoded(stored, password.as_bytes(), Algorithm::Argon2id)
                .is_ok()
        })
    }
}

impl Default for HashCost {
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// A registered or seeded user.
#[derive(Debug)]
pub struct User {
    /// Sequential from 1; seeded users are 1..=100.
    pub id: u32,
    /// Unique, case-insensitively.
    pub username: String,
    /// Unique, case-insensitively.
    pub email: String,
    /// Given name.
    pub first_name: String,
    /// Family name.
    pub last_name: String,
    /// When the account was made.
    pub created_at: DateTime<Utc>,
    password_hash: String,
    recent: Mutex<VecDeque<u32>>,
}

impl User {
    /// Product ids this user viewed, most recent first, without repeats.
    pub fn recently_viewed(&self) -> Vec<u32> {
        lock(&self.recent).iter().copied().collect()
    }

    /// Notes a view of `product_id`.
    pub fn viewed(&self, product_id: u32) {
        let mut recent = lock(&self.recent);
        recent.retain(|&p| p != product_id);
        recent.push_front(product_id);
        recent.truncate(RECENT_VIEWS);
    }
}

impl Serialize for User {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(8))?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("username", &self.username)?;
        map.serialize_entry("email", &self.email)?;
        map.serialize_entry("first_name", &self.first_name)?;
        map.serialize_entry("last_name", &self.last_name)?;
        map.serialize_entry("is_active", &true)?;
        map.serialize_entry("is_admin", &false)?;
        serialize_time(&mut map, "created_at", &self.created_at)?;
        map.end()
    }
}

/// `POST /api/auth/register` as sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// 3..20 of `[A-Za-z0-9_]`.
    pub username: String,
    /// `^[^@]+@[^@]+\.[^@]+$`, at most 254 characters.
    pub email: String,
    /// 8..128 characters.
    pub password: String,
    /// 1..50 characters.
    pub first_name: String,
    /// 1..50 characters.
    pub last_name: String,
}

/// `POST /api/auth/login` as sent: a username or an e-mail address.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// Username or e-mail.
    pub username: String,
    /// The password.
    pub password: String,
}

/// Why an account operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    /// A registration field breaks a rule.
    #[error("invalid registration: {0}")]
    Invalid(ValidationFailure),
    /// The username or e-mail (the field named) is already registered.
    #[error("that {0} is taken")]
    Taken(&'static str),
    /// Unknown user or wrong password; which one is not said.
    #[error("wrong username or password")]
    BadCredentials,
    /// A malformed, forged or expired token, or one of an unknown user.
    #[error("token refused: {0}")]
    BadToken(&'static str),
    /// The account limit is reached.
    #[error("the server holds its limit of {0} accounts")]
    Full(usize),
}

fn len_between(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.chars().count())
}

impl Registration {
    /// Every failing field.
    pub fn validate(&self) -> Result<(), ValidationFailure> {
        let mut errors = Vec::new();
        if !len_between(&self.username, 3, 20) || !USERNAME.is_match(&self.username) {
            errors.push(FieldError::new(
                "username",
                "pattern",
                "3 to 20 letters, digits or underscores",
            ));
        }
        if self.email.len() > 254 || !EMAIL.is_match(&self.email) {
            errors.push(FieldError::new(
                "email",
                "email",
                "not a valid e-mail address",
            ));
        }
        if !len_between(&self.password, 8, 128) {
            errors.push(FieldError::new(
                "password",
                "length",
                "must be 8 to 128 characters",
            ));
        }
        for (name, value) in [
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
        ] {
            if !len_between(value, 1, 50) || value.trim().is_empty() {
                errors.push(FieldError::new(
                    name,
                    "length",
                    "must be 1 to 50 characters, not blank",
                ));
            }
        }
        ValidationFailure::check(errors)
    }
}

#[derive(Default)]
struct Users {
    list: Vec<Arc<User>>,
    by_username: HashMap<String, u32>,
    by_email: HashMap<String, u32>,
}

impl Users {
    fn find_login(&self, name: &str) -> Option<&Arc<User>> {
        let key = name.to_lowercase();
        let id = self
            .by_username
            .get(&key)
            .or_else(|| self.by_email.get(&key))?;
        self.list.get(*id as usize - 1)
    }

    /// Whether `r` may become an account: its name and e-mail are free and
    /// the limit is not reached.
    fn admit(&self, r: &Registration, max_users: usize) -> Result<(), AccountError> {
        if self.by_username.contains_key(&r.username.to_lowercase()) {
            Err(AccountError::Taken("username"))
        } else if self.by_email.contains_key(&r.email.to_lowercase()) {
            Err(AccountError::Taken("email"))
        } else if self.list.len() >= max_users {
            Err(AccountError::Full(max_users))
        } else {
            Ok(())
        }
    }

    fn insert(&mut self, mut user: User) -> Arc<User> {
        user.id = self.list.len() as u32 + 1;
        self.by_username
            .insert(user.username.to_lowercase(), user.id);
        self.by_email.insert(user.email.to_lowercase(), user.id);
        let user = Arc::new(user);
        self.list.push(user.clone());
        user
    }
}

type HmacSha256 = Hmac<Sha256>;

/// A signed bearer token and when it expires.
#[derive(Debug, Clone, Serialize)]
pub struct Token {
    /// `"{user_id}.{expires_unix}.{hmac hex}"`.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// Seconds from now.
    pub expires_in: u64,
}

/// Users, password hashing and tokens.
pub struct Accounts {
    users: RwLock<Users>,
    hasher: PasswordHasher,
    cost: HashCost,
    key: [u8; 32],
    ttl: Duration,
    max_users: usize,
    /// A hash to verify against for unknown users, so a login takes as long
    /// whether or not the user exists.
    decoy: String,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Accounts {
    /// Seeds users 1..=100 (password `Passw0rd-{id}`), hashing their
    /// passwords with `cost` on all cores. Fails on cost parameters argon2
    /// refuses.
    pub fn seeded(cost: HashCost, ttl: Duration, max_users: usize) -> Result<Self, String> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        // As many arenas as hashes run at once by default (one per core).
        let hasher = cost.hasher(threads)?;
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        let seeds: Vec<_> = (1..=seed::USERS).map(seed::user).collect();
        let chunk = seeds.len().div_ceil(threads).max(1);
        let hashes: Vec<String> = std::thread::scope(|s| {
            let workers: Vec<_> = seeds
                .chunks(chunk)
                .map(|part| {
                    let hasher = &hasher;
                    s.spawn(move || {
                        part.iter()
                            .map(|u| hasher.hash(&u.password))
                            .collect::<Result<Vec<_>, _>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| {
                    w.join()
                        .unwrap_or_else(|_| Err("a hashing thread panicked".into()))
                })
                .collect::<Result<Vec<Vec<_>>, String>>()
                .map(|v| v.into_iter().flatten().collect())
        })?;
        let decoy = hasher.hash("decoy password")?;
        let mut users = Users::default();
        for (u, password_hash) in seeds.into_iter().zip(hashes) {
            users.insert(User {
                id: 0,
                username: u.username,
                email: u.email,
                first_name: u.first_name.to_owned(),
                last_name: u.last_name.to_owned(),
                created_at: u.created_at,
                password_hash,
                recent: Mutex::default(),
            });
        }
        Ok(Self {
            users: RwLock::new(users),
            hasher,
            cost,
            key,
            ttl,
            max_users: max_users.max(seed::USERS as usize),
            decoy,
        })
    }

    /// The hashing cost in use.
    pub fn cost(&self) -> HashCost {
        self.cost
    }

    /// User `id`.
    pub fn get(&self, id: u32) -> Option<Arc<User>> {
        let users = read(&self.users);
        users.list.get((id as usize).checked_sub(1)?).cloned()
    }

    /// Number of users.
    pub fn count(&self) -> usize {
        read(&self.users).list.len()
    }

    /// Creates an account (hashes the password: slow on purpose).
    pub fn register(&self, r: Registration) -> Result<Arc<User>, AccountError> {
        r.validate().map_err(AccountError::Invalid)?;
        read(&self.users).admit(&r, self.max_users)?;
        let password_hash = self
            .hasher
            .hash(&r.password)
            .map_err(|_| AccountError::BadCredentials)?;
        let mut users = write(&self.users);
        // Checked again: another registration may have won meanwhile.
        users.admit(&r, self.max_users)?;
        Ok(users.insert(User {
            id: 0,
            username: r.username,
            email: r.email,
            first_name: r.first_name.trim().to_owned(),
            last_name: r.last_name.trim().to_owned(),
            created_at: Utc::now(),
            password_hash,
            recent: Mutex::default(),
        }))
    }

    /// Checks a password (slow on purpose) and issues a token.
    pub fn login(&self, l: &Login) -> Result<(Arc<User>, Token), AccountError> {
        let user = read(&self.users).find_login(&l.username).cloned();
        let stored = user.as_ref().map_or(&self.decoy, |u| &u.password_hash);
        let ok = self.hasher.verify(stored, &l.password);
        match user {
            Some(u) if ok => {
                let token = self.issue(u.id);
                Ok((u, token))
            }
            _ => Err(AccountError::BadCredentials),
        }
    }

    fn mac(&self, message: &str) -> HmacSha256 {
        // HMAC takes keys of any length.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(message.as_bytes());
        mac
    }

    /// A token for `user_id`, valid for the configured time.
    pub fn issue(&self, user_id: u32) -> Token {
        let expires = unix_now() + self.ttl.as_secs();
        let message = format!("{user_id}.{expires}");
        let signature = self.mac(&message).finalize().into_bytes();
        Token {
            access_token: format!("{message}.{}", crate::hex::hex(&signature)),
            token_type: "bearer",
            expires_in: self.ttl.as_secs(),
        }
    }

    /// The user a token was issued to, if the signature holds, it has not
    /// expired and the user exists.
    pub fn authenticate(&self, token: &str) -> Result<Arc<User>, AccountError> {
        let (message, signature) = token
            .rsplit_once('.')
            .ok_or(AccountError::BadToken("malformed token"))?;
        let (user, expires) = message
            .split_once('.')
            .and_then(|(u, e)| Some((u.parse::<u32>().ok()?, e.parse::<u64>().ok()?)))
            .ok_or(AccountError::BadToken("malformed token"))?;
        let bytes = decode_hex(signature).ok_or(AccountError::BadToken("malformed token"))?;
        self.mac(message)
            .verify_slice(&bytes)
            .map_err(|_| AccountError::BadToken("invalid signature"))?;
        if expires <= unix_now() {
            return Err(AccountError::BadToken("token expired"));
        }
        self.get(user).ok_or(AccountError::BadToken("unknown user"))
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The PHC string argon2-cffi (the Python peers' hasher) gives for
    /// this password and salt at this cost:
    /// `PasswordHasher(time_cost=1, memory_cost=64, parallelism=1,
    /// hash_len=32, type=Type.ID).hash("Passw0rd-1", salt=bytes.fromhex(…))`.
    #[test]
    fn hashes_are_argon2_cffis() {
        let hasher = HashCost::CHEAPEST.hasher(1).unwrap();
        let salt: Vec<u8> = (0..16u8).map(|i| i * 0x11).collect();
        let want = "$argon2id$v=19$m=64,t=1,p=1$ABEiM0RVZneImaq7zN3u/w$kNRtgsAYGFopc/HYGaO6suiPFTLQCrl/hyn2uMdjPGc";
        assert_eq!(hasher.hash_with_salt("Passw0rd-1", &salt).unwrap(), want);
        assert!(hasher.verify(want, "Passw0rd-1"));
        assert!(!hasher.verify(want, "Passw0rd-2"));
        assert!(!hasher.verify("$argon2id$v=19$garbage", "Passw0rd-1"));
        // A stored hash of another cost is checked at its own cost.
        let other = HashCost {
            memory_kib: 128,
            ..HashCost::CHEAPEST
        }
        .hasher(1)
        .unwrap();
        assert!(hasher.verify(&other.hash("x").unwrap(), "x"));
    }

    /// However many threads hash, at most `keep` arenas stay idle.
    #[test]
    fn idle_arenas_are_bounded() {
        let hasher = HashCost::CHEAPEST.hasher(2).unwrap();
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..5 {
                        hasher.hash("password").unwrap();
                    }
                });
            }
        });
        let idle = lock(&hasher.idle).len();
        assert!((1..=2).contains(&idle), "{idle}");
    }
}
