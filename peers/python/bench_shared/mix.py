"""SplitMix64: the deterministic mixing every server derives its data with."""

MASK = (1 << 64) - 1


def splitmix64(x: int) -> int:
    """SplitMix64 finalizer of a 64-bit value (same bits as the Rust crate)."""
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def pick(items, seed: int):
    """The element of `items` chosen by `seed`."""
    return items[seed % len(items)]
