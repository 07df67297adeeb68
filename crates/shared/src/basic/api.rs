//! The `basic` endpoints' rules, for any server: path ids, query
//! parameters, bodies, and the chunks of the two streams.

use super::{
    csv_header, csv_row, json_stream_item, BenchmarkProduct, BenchmarkUser, PageParams,
    SearchParams, STREAM_MAX_COUNT, USER_COUNT,
};
use crate::api::{parse_json, path_param, Error, Query};
use crate::{FieldError, ValidationFailure};
use serde::Serialize;
use validator::Validate;

/// The text of `GET /` and the message of `GET /json`.
pub const HELLO: &str = "Hello, World!";

/// The answer of `GET /json`: `{"message": "Hello, World!"}`, serialized
/// per request.
#[derive(Debug, Serialize)]
pub struct Message {
    /// [`HELLO`].
    pub message: &'static str,
}

impl Message {
    /// The greeting.
    pub const HELLO: Self = Self { message: HELLO };
}

/// Rows written per stream chunk.
pub const ROWS_PER_CHUNK: u64 = 100;

/// The `{id}` of a user route: an integer (400 otherwise) naming a user of
/// the directory (404 otherwise).
pub fn user_id(raw: &str) -> Result<u64, Error> {
    let id: u64 = path_param("id", raw)?;
    if (1..=USER_COUNT).contains(&id) {
        Ok(id)
    } else {
        Err(Error::not_found(format!(
            "user {id} not found (ids are 1 to {USER_COUNT})"
        )))
    }
}

impl PageParams {
    /// `limit` and `offset` of `GET /users`.
    pub fn from_query(q: &Query<'_>) -> Result<Self, Error> {
        Ok(Self::new(q.get("limit")?, q.get("offset")?)?)
    }
}

impl SearchParams {
    /// The parameters of `GET /search/validate`.
    pub fn from_query(q: &Query<'_>) -> Result<Self, Error> {
        Ok(Self::new(
            q.str("query").map(str::to_owned),
            q.get("limit")?,
            q.get("offset")?,
            q.str("sort_by").map(str::to_owned),
        )?)
    }
}

/// The answer of `POST /echo`: the parsed body and its size.
#[derive(Debug, Serialize)]
pub struct Echo {
    /// The body, parsed.
    pub echo: serde_json::Value,
    /// Its size in bytes.
    pub received_bytes: usize,
}

impl Echo {
    /// Parses a JSON body (400 when it is not JSON).
    pub fn of(body: &[u8]) -> Result<Self, Error> {
        Ok(Self {
            echo: parse_json(body)?,
            received_bytes: body.len(),
        })
    }
}

impl BenchmarkUser {
    /// A user read from a JSON body and validated: 400 or 422 naming every
    /// failing field.
    pub fn from_body(body: &[u8]) -> Result<Self, Error> {
        let user: Self = parse_json(body)?;
        user.validate()?;
        Ok(user)
    }
}

impl BenchmarkProduct {
    /// A product read from a JSON body and validated.
    pub fn from_body(body: &[u8]) -> Result<Self, Error> {
        let product: Self = parse_json(body)?;
        product.validate()?;
        Ok(product)
    }
}

/// The `count` of a stream (1 to [`STREAM_MAX_COUNT`], default 100).
pub fn stream_count(q: &Query<'_>) -> Result<u64, Error> {
    let count = q.get::<u64>("count")?.unwrap_or(100);
    if (1..=STREAM_MAX_COUNT).contains(&count) {
        Ok(count)
    } else {
        Err(ValidationFailure::single(FieldError::new(
            "count",
            "range",
            format!("must be at least 1 and at most {STREAM_MAX_COUNT}"),
        ))
        .into())
    }
}

/// Chunks of `count` rows, [`ROWS_PER_CHUNK`] a chunk, each rendered by
/// `render(rows, out)`.
fn chunks(
    count: u64,
    render: impl Fn(std::ops::Range<u64>, &mut String),
) -> impl Iterator<Item = String> {
    (0..count.div_ceil(ROWS_PER_CHUNK)).map(move |c| {
        let rows = c * ROWS_PER_CHUNK..((c + 1) * ROWS_PER_CHUNK).min(count);
        let mut out = String::with_capacity(64 * ROWS_PER_CHUNK as usize);
        render(rows, &mut out);
        out
    })
}

/// `GET /stream/json?count=N`: `[{"id":0,…},…]`, chunk by chunk.
pub fn json_stream(count: u64) -> impl Iterator<Item = String> {
    chunks(count, move |rows, out| {
        let last = rows.end == count;
        for i in rows {
            out.push(if i == 0 { '[' } else { ',' });
            json_stream_item(i, out);
        }
        if last {
            out.push(']');
        }
    })
}

/// `GET /stream/csv?count=N`: a header line and N user rows, chunk by chunk.
pub fn csv_stream(count: u64) -> impl Iterator<Item = String> {
    chunks(count, |rows, out| {
        if rows.start == 0 {
            out.push_str(csv_header());
        }
        for i in rows {
            csv_row(i, out);
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn user_ids() {
        assert_eq!(user_id("42").unwrap(), 42);
        assert_eq!(user_id("abc").unwrap_err().status, 400);
        assert_eq!(user_id("0").unwrap_err().status, 404);
        assert_eq!(user_id("10001").unwrap_err().status, 404);
    }

    #[test]
    fn streams_are_whole_documents_in_chunks() {
        let json: String = json_stream(250).collect();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 250);
        assert_eq!(json_stream(250).count(), 3);
        let csv: String = csv_stream(101).collect();
        assert_eq!(csv.lines().count(), 102);
        let q = Query::parse(Some("count=0"));
        assert_eq!(stream_count(&q).unwrap_err().status, 422);
        assert_eq!(
            stream_count(&Query::parse(Some("count=x")))
                .unwrap_err()
                .status,
            400
        );
    }
}
