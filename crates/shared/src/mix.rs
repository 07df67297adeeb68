//! Deterministic mixing used to derive stable, varied data from small integers.

/// SplitMix64 finalizer: a fast bijective mix of a 64-bit value.
///
/// Every server derives its generated data from ids with this function, so two
/// frameworks asked for user 42 answer with the same bytes.
pub const fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// An index below `len` chosen by `seed` (`len` must not be 0).
pub fn index(len: usize, seed: u64) -> usize {
    (seed % len as u64) as usize
}

/// Picks an element of `items` from `seed` (never panics on a non-empty slice).
pub fn pick<T: Copy>(items: &[T], seed: u64) -> T {
    items[index(items.len(), seed)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_is_stable_and_spreads() {
        assert_eq!(splitmix64(0), 0xe220_a839_7b1d_cdaf);
        assert_ne!(splitmix64(1), splitmix64(2));
    }
}
