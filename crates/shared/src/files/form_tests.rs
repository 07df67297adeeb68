//! Upload forms read from byte streams: framing limits, part and field
//! bounds, any chunking of the body, and where the bytes are written.

use super::form::{self, Form, Received};
use super::{Store, StoreOptions};
use crate::api::Error;
use bytes::Bytes;
use futures_util::{stream, Stream, StreamExt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const BOUNDARY: &str = "XyZ-bound";

fn content_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

fn store(dir: &std::path::Path) -> Arc<Store> {
    let mut o = StoreOptions::new(dir);
    o.fsync = false;
    Arc::new(Store::open(o).unwrap())
}

fn tmp_is_empty(dir: &std::path::Path) -> bool {
    std::fs::read_dir(dir.join("tmp")).unwrap().next().is_none()
}

type Body = Result<Bytes, std::io::Error>;

/// `body` cut into chunks of `size` bytes.
fn chunked(body: &[u8], size: usize) -> impl Stream<Item = Body> + Send {
    let chunks: Vec<Body> = body
        .chunks(size.max(1))
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(chunks)
}

/// `head`, then `filler` forever in 4 KiB chunks, counting what is pulled.
fn endless(head: &str, filler: u8, pulled: Arc<AtomicU64>) -> impl Stream<Item = Body> + Send {
    let head = Bytes::copy_from_slice(head.as_bytes());
    stream::iter([head])
        .chain(stream::repeat_with(move || {
            pulled.fetch_add(4096, Ordering::Relaxed);
            Bytes::from(vec![filler; 4096])
        }))
        .map(Ok)
}

async fn read<S: Stream<Item = Body> + Send>(
    store: &Arc<Store>,
    form: &Form,
    max_request: u64,
    body: S,
) -> Result<Received, Error> {
    form::read(store, max_request, form, Some(&content_type()), None, body).await
}

/// A part: name, optional filename, content.
fn part(name: &str, filename: Option<&str>, data: &[u8]) -> Vec<u8> {
    let mut out = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"");
    if let Some(f) = filename {
        out.push_str(&format!(
            "; filename=\"{f}\"\r\nContent-Type: application/octet-stream"
        ));
    }
    out.push_str("\r\n\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

fn close(mut body: Vec<u8>) -> Vec<u8> {
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn sha(bytes: &[u8]) -> String {
    use sha2::Digest;
    crate::hex::hex(&sha2::Sha256::digest(bytes))
}

#[tokio::test]
async fn a_part_header_that_never_ends_is_refused_at_its_bound() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let pulled = Arc::new(AtomicU64::new(0));
    let head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\nX-Pad: "
    );
    let body = endless(&head, b'a', pulled.clone());
    let err = read(&store, &Form::SINGLE, 4 << 20, body)
        .await
        .err()
        .unwrap();
    assert_eq!(
        (err.status, err.code),
        (413, "payload_too_large"),
        "{err:?}"
    );
    let pulled = pulled.load(Ordering::Relaxed);
    assert!(
        pulled < 64 * 1024,
        "{pulled} bytes of one header block were read"
    );
    assert!(tmp_is_empty(dir.path()));
}

#[tokio::test]
async fn a_body_without_its_boundary_is_refused_early() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let pulled = Arc::new(AtomicU64::new(0));
    let body = endless("", b'z', pulled.clone());
    let err = read(&store, &Form::SINGLE, 4 << 20, body)
        .await
        .err()
        .unwrap();
    assert_eq!(
        (err.status, err.code),
        (400, "malformed_multipart"),
        "{err:?}"
    );
    let pulled = pulled.load(Ordering::Relaxed);
    assert!(pulled < 64 * 1024, "{pulled} bytes of preamble were read");
}

#[tokio::test]
async fn parts_and_text_fields_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    // Text parts beyond the form's fields.
    let mut body = part("file", Some("a.txt"), b"hello");
    for _ in 0..10 {
        body.extend(part("description", None, b"again"));
    }
    let err = read(&store, &Form::SINGLE, 1 << 20, chunked(&close(body), 100))
        .await
        .err()
        .unwrap();
    assert_eq!(
        (err.status, err.code),
        (413, "payload_too_large"),
        "{err:?}"
    );
    // A text field far longer than any valid value.
    let mut body = part("file", Some("a.txt"), b"hello");
    body.extend(part("description", None, &[b'd'; 9000]));
    let err = read(&store, &Form::SINGLE, 1 << 20, chunked(&close(body), 100))
        .await
        .err()
        .unwrap();
    assert_eq!(
        (err.status, err.code),
        (413, "payload_too_large"),
        "{err:?}"
    );
    // Files beyond the form's count stay a 422 naming the field.
    let mut body = Vec::new();
    for n in 0..3 {
        body.extend(part("files", Some(&format!("{n}.bin")), b"x"));
    }
    let err = read(
        &store,
        &Form::multiple(2),
        1 << 20,
        chunked(&close(body), 7),
    )
    .await
    .err()
    .unwrap();
    assert_eq!(
        (err.status, err.details[0].code.as_str()),
        (422, "too_many_files")
    );
    assert!(tmp_is_empty(dir.path()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_chunking_of_a_tricky_body_reads_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    // Content with delimiter look-alikes: a bare `--boundary`, a cut
    // `\r\n--boundar`, blank lines, and `\r` just before the real delimiter.
    let mut data = Vec::new();
    data.extend_from_slice(format!("--{BOUNDARY} inside\r\n\r\n").as_bytes());
    data.extend_from_slice(format!("\r\n--{}", &BOUNDARY[..5]).as_bytes());
    data.extend((0..2000u32).map(|i| (i * 31 % 256) as u8));
    data.extend_from_slice(b"\r\n-\r\r");
    let other: Vec<u8> = (0..700u32).map(|i| (i % 7) as u8 + b'\r').collect();
    let mut body = b"a preamble to ignore\r\n".to_vec();
    // Transport padding after a delimiter.
    let first = part("files", Some("one.bin"), &data);
    body.extend_from_slice(format!("--{BOUNDARY} \t").as_bytes());
    body.extend_from_slice(&first[BOUNDARY.len() + 2..]);
    body.extend(part("category", None, b"tricky"));
    body.extend(part("files", Some("two.bin"), &other));
    body.extend(part("files", Some("empty.bin"), b""));
    body.extend(part("description", None, "déjà vu".as_bytes()));
    let mut body = close(body);
    body.extend_from_slice(b"an epilogue, also ignored");
    for size in [1, 2, 3, 5, 11, 12, 13, 64, 1000, 4096, body.len()] {
        let received = read(&store, &Form::multiple(5), 1 << 20, chunked(&body, size))
            .await
            .unwrap_or_else(|e| panic!("chunks of {size}: {e:?}"));
        assert_eq!(received.category, "tricky");
        assert_eq!(received.description, "déjà vu");
        let stored = form::commit(store.clone(), received).await.unwrap();
        let got: Vec<(&str, u64, &str)> = stored
            .iter()
            .map(|m| (m.filename.as_str(), m.size, m.sha256.as_str()))
            .collect();
        let (a, b, c) = (sha(&data), sha(&other), sha(b""));
        assert_eq!(
            got,
            [
                ("one.bin", data.len() as u64, a.as_str()),
                ("two.bin", other.len() as u64, b.as_str()),
                ("empty.bin", 0, c.as_str()),
            ],
            "chunks of {size}"
        );
    }
    assert!(tmp_is_empty(dir.path()));
}

#[tokio::test]
async fn upload_writes_run_off_the_reactor_thread() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let data: Vec<u8> = (0..(1u32 << 20)).map(|i| (i % 251) as u8).collect();
    let body = close(part("file", Some("big.bin"), &data));
    let received = read(&store, &Form::SINGLE, 4 << 20, chunked(&body, 16 * 1024))
        .await
        .unwrap();
    let threads = &received.files[0].upload.threads;
    assert!(!threads.is_empty(), "nothing was written while reading");
    assert!(
        !threads.contains(&std::thread::current().id()),
        "the reactor's thread wrote upload bytes"
    );
    let stored = form::commit(store.clone(), received).await.unwrap();
    assert_eq!(stored[0].sha256, sha(&data));
}

#[tokio::test]
async fn the_per_file_limit_holds_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = StoreOptions::new(dir.path());
    o.fsync = false;
    o.max_file_bytes = 300 * 1024;
    let store = Arc::new(Store::open(o).unwrap());
    let body = close(part("file", Some("big.bin"), &vec![7u8; 1 << 20]));
    let err = read(&store, &Form::SINGLE, 4 << 20, chunked(&body, 8192))
        .await
        .err()
        .unwrap();
    assert_eq!((err.status, err.code), (413, "payload_too_large"));
    assert!(tmp_is_empty(dir.path()));
}
