//! The category's parameters and their rules: unparseable is a 400 naming
//! the parameter, out of range a 422 naming it, as in every category.

use crate::api::{path_param, Error, Query};

/// Most steps of a chain.
pub const MAX_CHAIN: u64 = 1000;
/// The longest timer wait, in milliseconds.
pub const MAX_SLEEP_MS: u64 = 1000;
/// Most concurrent upstream requests.
pub const MAX_UPSTREAM: u64 = 16;
/// The largest fan-out `x`.
pub const MAX_FANOUT_X: u64 = 1_000_000;

/// `value` of the parameter `name` when within `min..=max`, else a 422
/// naming it.
pub(crate) fn in_range(name: &str, value: u64, min: u64, max: u64) -> Result<u64, Error> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(Error::invalid(
            name,
            "range",
            format!("must be at least {min} and at most {max}"),
        ))
    }
}

fn required(q: &Query<'_>, name: &str, max: u64) -> Result<u64, Error> {
    match q.get::<u64>(name)? {
        Some(v) => in_range(name, v, 1, max),
        None => Err(Error::invalid(name, "required", "is required")),
    }
}

/// `{steps}` of `/async/chain/{steps}`: 1 to [`MAX_CHAIN`].
pub fn chain_steps(raw: &str) -> Result<u64, Error> {
    in_range("steps", path_param::<u64>("steps", raw)?, 1, MAX_CHAIN)
}

/// `ms` of `/async/sleep`: required, 1 to [`MAX_SLEEP_MS`].
pub fn sleep_ms(q: &Query<'_>) -> Result<u64, Error> {
    required(q, "ms", MAX_SLEEP_MS)
}

/// `n` of `/async/upstream`: required, 1 to [`MAX_UPSTREAM`].
pub fn upstream_n(q: &Query<'_>) -> Result<u64, Error> {
    required(q, "n", MAX_UPSTREAM)
}

/// `x` of `/async/fanout`: 0 to [`MAX_FANOUT_X`], 0 when absent.
pub fn fanout_x(q: &Query<'_>) -> Result<u64, Error> {
    in_range("x", q.get::<u64>("x")?.unwrap_or(0), 0, MAX_FANOUT_X)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn status(r: Result<u64, Error>) -> u16 {
        r.unwrap_err().status
    }

    #[test]
    fn bounds_are_inclusive_and_errors_name_the_parameter() {
        assert_eq!(chain_steps("1").unwrap(), 1);
        assert_eq!(chain_steps("1000").unwrap(), 1000);
        assert_eq!(status(chain_steps("0")), 422);
        assert_eq!(status(chain_steps("1001")), 422);
        assert_eq!(status(chain_steps("abc")), 400);
        assert_eq!(status(chain_steps("-1")), 400);
        let q = |s| Query::parse(Some(s));
        assert_eq!(sleep_ms(&q("ms=1000")).unwrap(), 1000);
        assert_eq!(status(sleep_ms(&q(""))), 422);
        assert_eq!(status(sleep_ms(&q("ms=soon"))), 400);
        assert_eq!(upstream_n(&q("n=16")).unwrap(), 16);
        let e = upstream_n(&q("n=17")).unwrap_err();
        assert_eq!((e.status, e.details[0].field.as_str()), (422, "n"));
        assert_eq!(fanout_x(&q("")).unwrap(), 0);
        assert_eq!(status(fanout_x(&q("x=1000001"))), 422);
        assert_eq!(status(fanout_x(&q("x=1.5"))), 400);
    }
}
