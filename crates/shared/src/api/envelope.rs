//! `{"valid": true, "<key>": value}`: how validation endpoints answer with
//! the normalized input.

use serde::Serialize;

/// The envelope of a validated value, under `key`.
pub struct Valid<'a, T: ?Sized>(pub &'static str, pub &'a T);

impl<T: Serialize + ?Sized> Serialize for Valid<'_, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("valid", &true)?;
        map.serialize_entry(self.0, self.1)?;
        map.end()
    }
}
