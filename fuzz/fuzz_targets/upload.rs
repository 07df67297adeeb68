//! Multipart upload bodies, cut into chunks at arbitrary points, through the
//! form reader into a real store: committed, or refused with a 4xx leaving
//! nothing staged — never a panic.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use shared::files::service::Limits;
use shared::files::Service;
use std::sync::{Arc, OnceLock};

struct Fixture {
    runtime: tokio::runtime::Runtime,
    service: Arc<Service>,
    _dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temporary directory");
        let limits = Limits {
            max_file_bytes: 64 * 1024,
            max_request_bytes: 256 * 1024,
            max_stored_files: 200,
            fsync: false,
            ..Limits::default()
        };
        let service = Service::open(dir.path(), &limits).expect("store opens");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        Fixture {
            runtime,
            service,
            _dir: dir,
        }
    })
}

fuzz_target!(|input: (u8, bool, &[u8])| {
    let (cut, multiple, body) = input;
    let f = fixture();
    let step = usize::from(cut.max(1));
    let chunks: Vec<Result<Bytes, std::io::Error>> = body
        .chunks(step)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let stream = futures_util::stream::iter(chunks);
    let content_type = Some("multipart/form-data; boundary=XBOUNDARY");
    let length = body.len().to_string();
    let result = f.runtime.block_on(async {
        if multiple {
            f.service
                .upload_multiple(content_type, Some(length.as_str()), stream)
                .await
        } else {
            f.service
                .upload_single(content_type, Some(length.as_str()), stream)
                .await
        }
    });
    if let Err(e) = result {
        assert!(matches!(e.status, 400 | 413 | 415 | 422), "{e}");
    }
});
