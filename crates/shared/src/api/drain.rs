//! Reading and dropping what is left of a refused body: a client still
//! sending then reads the 413 (or 415, 422) instead of a reset connection.

use futures_util::{Stream, StreamExt};
use std::time::Duration;

/// At most this many times the body limit is read and dropped.
pub const DRAIN_FACTOR: u64 = 8;

/// Longest time spent dropping the rest of a refused body.
pub const DRAIN_TIME: Duration = Duration::from_secs(2);

/// Reads and drops what is left of `body` (at most [`DRAIN_FACTOR`] ×
/// `limit` bytes — at least 512 KiB —, for at most [`DRAIN_TIME`]).
pub async fn drain<S, O, E>(body: &mut S, limit: u64)
where
    S: Stream<Item = Result<O, E>> + Unpin,
    O: AsRef<[u8]>,
{
    let budget = limit.max(64 * 1024).saturating_mul(DRAIN_FACTOR);
    let discard = async {
        let mut seen = 0u64;
        while seen <= budget {
            match body.next().await {
                Some(Ok(chunk)) => seen += chunk.as_ref().len() as u64,
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, discard).await;
}
