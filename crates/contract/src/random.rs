//! Random request values, so that a server answering with canned data fails.

use crate::model::{RandomKind, RandomSpec};
use rand::Rng;
use serde_json::Value;

fn text(rng: &mut impl Rng, len: usize, alphabet: &[u8]) -> String {
    (0..len)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

/// Length of a `unique` token.
pub const UNIQUE_LEN: usize = 16;
const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// A fresh `unique` token.
pub(crate) fn token(rng: &mut impl Rng) -> String {
    text(rng, UNIQUE_LEN, LOWER_ALNUM)
}

/// A `unique` value for `spec` and the token in it.
pub(crate) fn unique(spec: &RandomSpec, rng: &mut impl Rng) -> (Value, String) {
    let token = token(rng);
    let value = match &spec.format {
        Some(f) => f.replacen("{}", &token, 1),
        None => token.clone(),
    };
    (Value::from(value), token)
}

/// A fresh value for `spec`.
pub(crate) fn value(spec: &RandomSpec, rng: &mut impl Rng) -> Value {
    const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
    let (lo, hi) = match spec.kind {
        RandomKind::Integer => (spec.min.unwrap_or(1), spec.max.unwrap_or(1_000_000)),
        _ => (spec.min.unwrap_or(1).max(1), spec.max.unwrap_or(24).max(1)),
    };
    let (lo, hi) = (lo.min(hi), hi.max(lo));
    let drawn = rng.random_range(lo..=hi);
    let n = drawn as usize;
    match spec.kind {
        RandomKind::Integer => Value::from(drawn),
        RandomKind::String => Value::from(text(rng, n, ALNUM)),
        RandomKind::Word => Value::from(text(rng, n, LOWER)),
        RandomKind::Email => {
            let user = text(rng, n, LOWER);
            let host = text(rng, 8, LOWER);
            Value::from(format!("{user}@{host}.com"))
        }
        RandomKind::Boolean => Value::from(rng.random_bool(0.5)),
        RandomKind::Unique => unique(spec, rng).0,
        RandomKind::Choice => match spec.values.len() {
            0 => Value::Null,
            n => spec.values[rng.random_range(0..n)].clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_respect_their_spec() {
        let mut rng = rand::rng();
        for _ in 0..200 {
            let n = value(
                &RandomSpec {
                    kind: RandomKind::Integer,
                    min: Some(5),
                    max: Some(9),
                    values: Vec::new(),
                    format: None,
                },
                &mut rng,
            );
            assert!((5..=9).contains(&n.as_i64().unwrap()));
            let s = value(
                &RandomSpec {
                    kind: RandomKind::Word,
                    min: Some(3),
                    max: Some(4),
                    values: Vec::new(),
                    format: None,
                },
                &mut rng,
            );
            assert!((3..=4).contains(&s.as_str().unwrap().len()));
            let e = value(
                &RandomSpec {
                    kind: RandomKind::Email,
                    min: None,
                    max: None,
                    values: Vec::new(),
                    format: None,
                },
                &mut rng,
            );
            assert!(e.as_str().unwrap().contains('@'));
            let c = value(
                &RandomSpec {
                    kind: RandomKind::Choice,
                    min: None,
                    max: None,
                    values: vec![Value::from("a"), Value::Null],
                    format: None,
                },
                &mut rng,
            );
            assert!(c == "a" || c.is_null());
            let spec = RandomSpec {
                kind: RandomKind::Unique,
                min: None,
                max: None,
                values: Vec::new(),
                format: Some("{}@example.com".into()),
            };
            let (u, token) = unique(&spec, &mut rng);
            assert_eq!(u, format!("{token}@example.com"));
            assert_eq!(token.len(), UNIQUE_LEN);
        }
    }
}
