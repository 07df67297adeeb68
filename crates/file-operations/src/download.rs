//! `GET /download/{id}` (whole file or one byte range, with `ETag` and an
//! optional attachment disposition) and `GET /stream/{id}` (chunked, in
//! chunks of the requested size). Content is read from disk as the client
//! reads, with positional reads on blocking threads straight into the
//! buffers that are sent; bytes sent are counted as they go.

use crate::errors::invalid;
use crate::manage::lookup;
use crate::App;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http::{header, HeaderValue, StatusCode};
use server_kit::{ApiError, Body, BodyError, Req, Response};
use shared::files::{names, ByteRange, FileMeta};
use std::sync::Arc;

/// Chunk size of downloads.
const DOWNLOAD_CHUNK: usize = READ_BLOCK;

/// Smallest and largest `chunk_size` of `/stream`.
pub const CHUNK_SIZES: std::ops::RangeInclusive<usize> = 1024..=1024 * 1024;

/// Default `chunk_size` of `/stream`.
pub const DEFAULT_CHUNK_SIZE: usize = 64 * 1024;

async fn open(app: &App, meta: &FileMeta) -> Result<std::fs::File, ApiError> {
    let path = app.store.content_path(meta);
    let opened = tokio::task::spawn_blocking(move || std::fs::File::open(path))
        .await
        .map_err(|e| ApiError::internal(format!("cannot open the file: {e}")))?;
    opened.map_err(|e| match e.kind() {
        // Deleted between the lookup and the open.
        std::io::ErrorKind::NotFound => {
            ApiError::not_found(format!("no file with id {:?}", meta.id))
        }
        _ => ApiError::internal(format!("cannot open the file: {e}")),
    })
}

/// Most bytes read from disk per blocking job.
const READ_BLOCK: usize = 256 * 1024;

/// `len` bytes of `file` from `offset`, in chunks of exactly `chunk` bytes
/// (the last may be shorter). Reads go in blocks of whole chunks of about
/// [`READ_BLOCK`] bytes, each on a blocking thread, and are cut into
/// chunks without copying. Stored files never change in place (a
/// replacement is a new inode), so the length from the metadata holds for
/// the open file; a shorter file is an error, not a short body.
fn read_chunks(
    file: std::fs::File,
    offset: u64,
    len: u64,
    chunk: usize,
) -> impl Stream<Item = std::io::Result<Bytes>> + Send {
    use std::os::unix::fs::FileExt;
    let file = Arc::new(file);
    let chunk = chunk.max(1);
    let block = (READ_BLOCK.max(chunk) / chunk * chunk) as u64;
    futures_util::stream::try_unfold(
        (offset, len, Bytes::new()),
        move |(pos, left, mut pending)| {
            let file = file.clone();
            async move {
                if pending.is_empty() {
                    if left == 0 {
                        return Ok(None);
                    }
                    let want = left.min(block) as usize;
                    let read = tokio::task::spawn_blocking(move || {
                        let mut buf = vec![0u8; want];
                        let mut filled = 0;
                        while filled < want {
                            match file.read_at(&mut buf[filled..], pos + filled as u64)? {
                                0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                                n => filled += n,
                            }
                        }
                        Ok::<_, std::io::Error>(Bytes::from(buf))
                    })
                    .await
                    .map_err(std::io::Error::other)??;
                    pending = read;
                    let n = pending.len() as u64;
                    let out = pending.split_to(chunk.min(pending.len()));
                    return Ok(Some((out, (pos + n, left - n, pending))));
                }
                let out = pending.split_to(chunk.min(pending.len()));
                Ok(Some((out, (pos, left, pending))))
            }
        },
    )
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// Counts sent bytes as the stream yields them.
fn counted<S>(app: &Arc<App>, s: S) -> impl Stream<Item = Result<Bytes, BodyError>> + Send
where
    S: Stream<Item = std::io::Result<Bytes>> + Send,
{
    let app = app.clone();
    s.map(move |r| {
        if let Ok(b) = &r {
            app.store.stats().bytes_out(b.len() as u64);
        }
        r.map_err(BodyError::from)
    })
}

/// `GET /download/{id}?as_attachment=`.
pub async fn download(app: Arc<App>, req: Req) -> Result<Response, ApiError> {
    let meta = lookup(&app, &req)?;
    let attachment = req.query().get::<bool>("as_attachment")?.unwrap_or(false);
    let range = ByteRange::parse(req.header(header::RANGE), meta.size);
    if range == ByteRange::Unsatisfiable {
        let mut resp = ApiError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "range_not_satisfiable",
            format!(
                "the Range {:?} does not fit a file of {} bytes",
                req.header(header::RANGE).unwrap_or(""),
                meta.size
            ),
        )
        .into_response();
        resp.headers_mut().insert(
            header::CONTENT_RANGE,
            header_value(&format!("bytes */{}", meta.size)),
        );
        return Ok(resp);
    }
    let file = open(&app, &meta).await?;
    let (status, start, len) = match range {
        ByteRange::Partial { start, end } => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        _ => (StatusCode::OK, 0, meta.size),
    };
    app.store.stats().download(1);
    let chunks = read_chunks(file, start, len, DOWNLOAD_CHUNK);
    let mut resp = Response::new(Body::sized_stream(counted(&app, chunks), len));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, header_value(&meta.content_type));
    h.insert(header::ETAG, header_value(&meta.etag()));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if status == StatusCode::PARTIAL_CONTENT {
        h.insert(
            header::CONTENT_RANGE,
            header_value(&format!("bytes {start}-{}/{}", start + len - 1, meta.size)),
        );
    }
    if attachment {
        h.insert(
            header::CONTENT_DISPOSITION,
            header_value(&names::content_disposition("attachment", &meta.filename)),
        );
    }
    Ok(resp)
}

/// `GET /stream/{id}?chunk_size=`: chunked transfer in chunks of that size.
pub async fn stream(app: Arc<App>, req: Req) -> Result<Response, ApiError> {
    let meta = lookup(&app, &req)?;
    let chunk_size = req
        .query()
        .get::<usize>("chunk_size")?
        .unwrap_or(DEFAULT_CHUNK_SIZE);
    if !CHUNK_SIZES.contains(&chunk_size) {
        return Err(invalid(
            "chunk_size",
            "range",
            format!(
                "must be from {} to {} bytes",
                CHUNK_SIZES.start(),
                CHUNK_SIZES.end()
            ),
        ));
    }
    let file = open(&app, &meta).await?;
    app.store.stats().stream(1);
    let chunks = read_chunks(file, 0, meta.size, chunk_size);
    let mut resp = Response::new(Body::stream(counted(&app, chunks)));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, header_value(&meta.content_type));
    h.insert(header::ETAG, header_value(&meta.etag()));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-chunk-size", HeaderValue::from(chunk_size));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn chunks_have_exactly_the_asked_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let open = || std::fs::File::open(&path).unwrap();
        let chunks: Vec<Bytes> = read_chunks(open(), 0, 10_000, 4096)
            .map(Result::unwrap)
            .collect()
            .await;
        let sizes: Vec<usize> = chunks.iter().map(Bytes::len).collect();
        assert_eq!(sizes, [4096, 4096, 1808]);
        assert_eq!(chunks.concat(), data);
        // Across read blocks too: 1000-byte chunks of a 600,000-byte file.
        let big: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &big).unwrap();
        let chunks: Vec<Bytes> = read_chunks(open(), 0, 600_000, 1000)
            .map(Result::unwrap)
            .collect()
            .await;
        assert!(chunks.iter().all(|c| c.len() == 1000));
        assert_eq!(chunks.concat(), big);
        std::fs::write(&path, &data).unwrap();
        let slice: Vec<Bytes> = read_chunks(open(), 1000, 50, 4096)
            .map(Result::unwrap)
            .collect()
            .await;
        assert_eq!(slice.concat(), &data[1000..1050]);
        // A file shorter than its metadata says is an error, not a short body.
        let mut short = std::pin::pin!(read_chunks(open(), 9_000, 2_000, 4096));
        assert!(short.next().await.unwrap().is_err());
    }
}
