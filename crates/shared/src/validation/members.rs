//! `Members`: a JSON object's members as a map, kept in one vector.

use serde::ser::{Serialize, SerializeMap, Serializer};
use std::borrow::Cow;

/// The members of a JSON object read as a map (`metadata`, `dimensions`,
/// `preferences`, `variants`): each name once, the last one written wins
/// (as in any JSON parser that builds a map), in name order. One
/// allocation, where a `BTreeMap` takes a node of eleven slots.
#[derive(Debug, Clone, PartialEq)]
pub struct Members<'j, V>(Vec<(Cow<'j, str>, V)>);

impl<V> Default for Members<'_, V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'j, V> Members<'j, V> {
    /// Collects members in the order they were read: names are sorted and
    /// a repeated name keeps its last value.
    pub fn from_read(mut members: Vec<(Cow<'j, str>, V)>) -> Self {
        if !members.windows(2).all(|w| w[0].0 < w[1].0) {
            // Latest first, so that the stable sort puts each name's last
            // value first among its equals, and dedup keeps the first.
            members.reverse();
            members.sort_by(|a, b| a.0.cmp(&b.0));
            members.dedup_by(|a, b| a.0 == b.0);
        }
        Self(members)
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&V> {
        self.0
            .binary_search_by(|(k, _)| k.as_ref().cmp(name))
            .ok()
            .map(|i| &self.0[i].1)
    }

    /// Members in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }

    /// How many members.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<V: Serialize> Serialize for Members<'_, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn behaves_as_a_map_built_in_reading_order() {
        // Oracle: a BTreeMap fed the same members in the same order.
        let reads: [&[(&str, i32)]; 5] = [
            &[],
            &[("a", 1), ("b", 2)],
            &[("b", 1), ("a", 2), ("b", 3), ("c", 4), ("a", 5)],
            &[("x", 1), ("x", 2), ("x", 3)],
            &[("é", 1), ("e", 2), ("z", 3), ("A", 4)],
        ];
        for read in reads {
            let members =
                Members::from_read(read.iter().map(|&(k, v)| (Cow::Borrowed(k), v)).collect());
            let oracle: BTreeMap<&str, i32> = read.iter().copied().collect();
            assert_eq!(
                members.iter().map(|(k, v)| (k, *v)).collect::<Vec<_>>(),
                oracle.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>()
            );
            assert_eq!(
                serde_json::to_string(&members).ok(),
                serde_json::to_string(&oracle).ok()
            );
            for (k, v) in &oracle {
                assert_eq!(members.get(k), Some(v));
            }
            assert_eq!(members.get("missing"), None);
            assert_eq!(members.len(), oracle.len());
        }
    }
}
