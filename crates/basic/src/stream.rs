//! Chunked streams: `/stream/json` (a JSON array) and `/stream/csv`, produced
//! lazily a batch of rows per chunk as the client reads.

use bytes::Bytes;
use futures_util::stream;
use server_kit::{ApiError, BodyError, Req, Response};
use shared::basic::{csv_header, csv_row, json_stream_item, STREAM_MAX_COUNT};
use shared::{FieldError, ValidationFailure};

/// Rows written per chunk.
const ROWS_PER_CHUNK: u64 = 100;

/// The validated `count` query parameter (1 to [`STREAM_MAX_COUNT`], default 100).
fn count(req: &Req) -> Result<u64, ApiError> {
    let count = req.query().get::<u64>("count")?.unwrap_or(100);
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

/// A response whose chunk `c` is `render(rows of chunk c, is first, is last)`.
fn chunked(
    content_type: &'static str,
    count: u64,
    render: impl Fn(std::ops::Range<u64>, &mut String) + Send + 'static,
) -> Response {
    let chunks = count.div_ceil(ROWS_PER_CHUNK);
    let body = stream::iter((0..chunks).map(move |c| {
        let rows = c * ROWS_PER_CHUNK..((c + 1) * ROWS_PER_CHUNK).min(count);
        let mut out = String::with_capacity(64 * ROWS_PER_CHUNK as usize);
        render(rows, &mut out);
        Ok::<_, BodyError>(Bytes::from(out))
    }));
    server_kit::stream(content_type, body)
}

/// `GET /stream/json?count=N`: `[{"id":0,…},…]` sent in chunks.
pub async fn json_items(req: Req) -> Result<Response, ApiError> {
    let count = count(&req)?;
    Ok(chunked("application/json", count, move |rows, out| {
        let last = rows.end == count;
        for i in rows {
            out.push(if i == 0 { '[' } else { ',' });
            json_stream_item(i, out);
        }
        if last {
            out.push(']');
        }
    }))
}

/// `GET /stream/csv?count=N`: a header line and N user rows sent in chunks.
pub async fn csv_rows(req: Req) -> Result<Response, ApiError> {
    let count = count(&req)?;
    Ok(chunked("text/csv; charset=utf-8", count, |rows, out| {
        if rows.start == 0 {
            out.push_str(csv_header());
        }
        for i in rows {
            csv_row(i, out);
        }
    }))
}
