//! Typed access to URL query and path parameters: unparseable values are
//! 400s that name the parameter (`invalid_query`, `invalid_path_param`);
//! range checks belong to the models (422).

use super::Error;
use crate::FieldError;
use std::borrow::Cow;
use std::str::FromStr;

/// Decoded query pairs of one request, in order; a repeated name reads as
/// its first value.
#[derive(Debug, Default, Clone)]
pub struct Query<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Query<'a> {
    /// Decodes a raw query string (`a=1&b=x%20y`); `None` means no query.
    pub fn parse(raw: Option<&'a str>) -> Self {
        Self {
            pairs: raw
                .map(|q| form_urlencoded::parse(q.as_bytes()).collect())
                .unwrap_or_default(),
        }
    }

    /// The first value of `name`, as text.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_ref())
    }

    /// The first value of `name` parsed as `T`; absent is `Ok(None)`, present
    /// but unparseable (also empty) is a 400 `invalid_query` naming it.
    pub fn get<T: FromStr>(&self, name: &str) -> Result<Option<T>, Error> {
        self.str(name)
            .map(|v| {
                v.parse().map_err(|_| {
                    Error::bad_request(
                        "invalid_query",
                        format!(
                            "query parameter `{name}` must be {}, got {v:?}",
                            kind_of::<T>()
                        ),
                    )
                    .with_details(vec![FieldError::new(
                        name,
                        "invalid_type",
                        format!("must be {}", kind_of::<T>()),
                    )])
                })
            })
            .transpose()
    }
}

/// A path parameter parsed as `T`: 400 `invalid_path_param` naming it when
/// it does not parse.
pub fn path_param<T: FromStr>(name: &str, raw: &str) -> Result<T, Error> {
    raw.parse().map_err(|_| {
        Error::bad_request(
            "invalid_path_param",
            format!(
                "path parameter `{name}` must be {}, got {raw:?}",
                kind_of::<T>()
            ),
        )
        .with_details(vec![FieldError::new(
            name,
            "invalid_type",
            format!("must be {}", kind_of::<T>()),
        )])
    })
}

/// A short description of what a type expects, for error messages.
pub fn kind_of<T>() -> &'static str {
    match std::any::type_name::<T>() {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a non-negative integer",
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "an integer",
        "f32" | "f64" => "a number",
        "bool" => "true or false",
        _ => "a valid value",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn decodes_and_types_values() {
        let q = Query::parse(Some("limit=20&query=a%20b&x=1&x=2"));
        assert_eq!(q.get::<u64>("limit").unwrap(), Some(20));
        assert_eq!(q.str("query"), Some("a b"));
        assert_eq!(q.get::<u64>("x").unwrap(), Some(1));
        assert_eq!(q.get::<u64>("missing").unwrap(), None);
    }

    #[test]
    fn bad_values_are_400_naming_the_parameter() {
        for raw in ["limit=foo", "limit=", "limit=-1", "limit=1.5"] {
            let err = Query::parse(Some(raw)).get::<u64>("limit").unwrap_err();
            assert_eq!(err.status, 400, "{raw}");
            assert_eq!(err.code, "invalid_query");
            assert!(err.message.contains("`limit`"), "{}", err.message);
        }
    }

    #[test]
    fn path_params() {
        assert_eq!(path_param::<u64>("id", "7").unwrap(), 7);
        let e = path_param::<u64>("id", "abc").unwrap_err();
        assert_eq!((e.status, e.code), (400, "invalid_path_param"));
        assert_eq!(e.details[0].field, "id");
    }
}
