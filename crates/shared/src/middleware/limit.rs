//! Rate limiting: a token bucket per subject. A bucket holds up to one
//! second's worth of tokens, refills continuously, and a request takes
//! one; without one it is refused, told when the next token comes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets by subject. Subjects come from signed tokens only, so the table
/// holds as many as the key's issuer made.
#[derive(Debug)]
pub struct TokenBuckets {
    rate: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// A refused request: how long until the subject has a token again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// Until the next token.
    pub wait: Duration,
}

impl Limited {
    /// `Retry-After` in whole seconds, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        self.wait.as_secs_f64().ceil().max(1.0) as u64
    }
}

impl TokenBuckets {
    /// Buckets of `rate` tokens a second (at least 1).
    pub fn new(rate: u32) -> Self {
        Self {
            rate: f64::from(rate.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token from `subject`'s bucket.
    pub fn take(&self, subject: &str) -> Result<(), Limited> {
        self.take_at(subject, Instant::now())
    }

    /// [`take`](Self::take) at the instant `now`.
    pub fn take_at(&self, subject: &str, now: Instant) -> Result<(), Limited> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if !buckets.contains_key(subject) {
            // The subject's first request: a full bucket.
            buckets.insert(
                subject.to_owned(),
                Bucket {
                    tokens: self.rate,
                    at: now,
                },
            );
        }
        let Some(bucket) = buckets.get_mut(subject) else {
            return Ok(());
        };
        let refill = now.saturating_duration_since(bucket.at).as_secs_f64() * self.rate;
        bucket.tokens = (bucket.tokens + refill).min(self.rate);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Limited {
                wait: Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_refills_and_is_per_subject() {
        let b = TokenBuckets::new(3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(b.take_at("a", t0).is_ok());
        }
        let refused = b.take_at("a", t0).unwrap_err();
        assert_eq!(refused.retry_after_secs(), 1);
        assert!(refused.wait <= Duration::from_millis(334), "{refused:?}");
        assert!(b.take_at("b", t0).is_ok());
        // A third of a second brings one token back, not more.
        let t1 = t0 + Duration::from_millis(334);
        assert!(b.take_at("a", t1).is_ok());
        assert!(b.take_at("a", t1).is_err());
        // A long pause fills the bucket only to its capacity.
        let t2 = t1 + Duration::from_secs(60);
        for _ in 0..3 {
            assert!(b.take_at("a", t2).is_ok());
        }
        assert!(b.take_at("a", t2).is_err());
    }
}
