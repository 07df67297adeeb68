//! How the store's values look in JSON: amounts as numbers with their two
//! places, times as RFC 3339 UTC in whole seconds.

use chrono::{DateTime, Utc};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// A decimal amount as a JSON number (for `serialize_with`).
pub(crate) fn money<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.to_f64().unwrap_or(0.0))
}

/// A decimal amount, serialized as [`money`].
pub(crate) struct Money<'a>(pub(crate) &'a Decimal);

impl Serialize for Money<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        money(self.0, s)
    }
}

/// Writes `t` under `key`.
pub(crate) fn serialize_time<S: SerializeMap>(
    map: &mut S,
    key: &str,
    t: &DateTime<Utc>,
) -> Result<(), S::Error> {
    map.serialize_entry(key, &t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}
