//! Sending a stored file: `GET /download/{id}` (the whole file or one byte
//! range, with `ETag` and an optional attachment disposition) and
//! `GET /stream/{id}` (chunked, in chunks of exactly the asked size).
//! Content is read as the client reads: positional reads on blocking
//! threads straight into the buffers that are sent, counted as they go.

use super::{names, ByteRange, FileMeta, Store};
use crate::api::{Error, Query};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use std::pin::Pin;
use std::sync::Arc;

/// Chunk size of downloads.
const DOWNLOAD_CHUNK: usize = READ_BLOCK;

/// Smallest and largest `chunk_size` of `/stream`.
pub const CHUNK_SIZES: std::ops::RangeInclusive<usize> = 1024..=1024 * 1024;

/// Default `chunk_size` of `/stream`.
pub const DEFAULT_CHUNK_SIZE: usize = 64 * 1024;

/// A body read from disk, chunk by chunk.
pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// What to send: status, headers (lower-case names; `Content-Type`
/// included), the body, and its length when the response is sized (a
/// download) rather than chunked (a stream).
pub struct Transfer {
    /// 200 or 206.
    pub status: u16,
    /// Headers to send.
    pub headers: Vec<(&'static str, String)>,
    /// `Some(n)`: send with `Content-Length: n`; `None`: chunked.
    pub length: Option<u64>,
    /// The content.
    pub body: ByteStream,
}

/// Opens the content of `meta` (on a blocking thread).
async fn open(store: &Arc<Store>, meta: &FileMeta) -> Result<std::fs::File, Error> {
    let path = store.content_path(meta);
    let opened = tokio::task::spawn_blocking(move || std::fs::File::open(path))
        .await
        .map_err(|e| Error::internal(format!("cannot open the file: {e}")))?;
    opened.map_err(|e| match e.kind() {
        // Deleted between the lookup and the open.
        std::io::ErrorKind::NotFound => Error::not_found(format!("no file with id {:?}", meta.id)),
        _ => Error::internal(format!("cannot open the file: {e}")),
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

/// Counts sent bytes as the stream yields them.
fn counted(
    store: &Arc<Store>,
    s: impl Stream<Item = std::io::Result<Bytes>> + Send + 'static,
) -> ByteStream {
    let store = store.clone();
    Box::pin(s.map(move |r| {
        if let Ok(b) = &r {
            store.stats().bytes_out(b.len() as u64);
        }
        r
    }))
}

fn base_headers(meta: &FileMeta) -> Vec<(&'static str, String)> {
    vec![
        ("content-type", meta.content_type.clone()),
        ("etag", meta.etag()),
        ("x-content-type-options", "nosniff".to_owned()),
    ]
}

/// `GET /download/{id}?as_attachment=` with an optional `Range` header.
pub async fn download(
    store: &Arc<Store>,
    meta: &FileMeta,
    q: &Query<'_>,
    range: Option<&str>,
) -> Result<Transfer, Error> {
    let attachment = q.get::<bool>("as_attachment")?.unwrap_or(false);
    let parsed = ByteRange::parse(range, meta.size);
    if parsed == ByteRange::Unsatisfiable {
        return Err(Error::new(
            416,
            "range_not_satisfiable",
            format!(
                "the Range {:?} does not fit a file of {} bytes",
                range.unwrap_or(""),
                meta.size
            ),
        )
        .with_header("content-range", format!("bytes */{}", meta.size)));
    }
    let file = open(store, meta).await?;
    let (status, start, len) = match parsed {
        ByteRange::Partial { start, end } => (206, start, end - start + 1),
        _ => (200, 0, meta.size),
    };
    store.stats().download(1);
    let mut headers = base_headers(meta);
    headers.push(("accept-ranges", "bytes".to_owned()));
    if status == 206 {
        headers.push((
            "content-range",
            format!("bytes {start}-{}/{}", start + len - 1, meta.size),
        ));
    }
    if attachment {
        headers.push((
            "content-disposition",
            names::content_disposition("attachment", &meta.filename),
        ));
    }
    Ok(Transfer {
        status,
        headers,
        length: Some(len),
        body: counted(store, read_chunks(file, start, len, DOWNLOAD_CHUNK)),
    })
}

/// `GET /stream/{id}?chunk_size=`: chunked transfer in chunks of that size.
pub async fn stream(store: &Arc<Store>, meta: &FileMeta, q: &Query<'_>) -> Result<Transfer, Error> {
    let chunk_size = q.get::<usize>("chunk_size")?.unwrap_or(DEFAULT_CHUNK_SIZE);
    if !CHUNK_SIZES.contains(&chunk_size) {
        return Err(Error::invalid(
            "chunk_size",
            "range",
            format!(
                "must be from {} to {} bytes",
                CHUNK_SIZES.start(),
                CHUNK_SIZES.end()
            ),
        ));
    }
    let file = open(store, meta).await?;
    store.stats().stream(1);
    let mut headers = base_headers(meta);
    headers.push(("x-chunk-size", chunk_size.to_string()));
    Ok(Transfer {
        status: 200,
        headers,
        length: None,
        body: counted(store, read_chunks(file, 0, meta.size, chunk_size)),
    })
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
