//! Store behaviour on a real directory.

use super::*;
use std::io::Read;

fn opts(dir: &std::path::Path) -> StoreOptions {
    let mut o = StoreOptions::new(dir);
    o.fsync = false;
    o
}

fn sha(bytes: &[u8]) -> String {
    use sha2::Digest;
    crate::hex::hex(&sha2::Sha256::digest(bytes))
}

fn put(store: &Store, bytes: &[u8], category: &str) -> std::sync::Arc<FileMeta> {
    let mut up = store.begin_upload().unwrap();
    for chunk in bytes.chunks(7) {
        up.write(chunk).unwrap();
    }
    let staged = up.finish().unwrap();
    store
        .commit(
            staged,
            NewFile {
                filename: "../dir/notes.txt".into(),
                content_type: Some("text/plain".into()),
                category: category.into(),
                description: "d".into(),
            },
        )
        .unwrap()
}

fn content(store: &Store, meta: &FileMeta) -> Vec<u8> {
    std::fs::read(store.content_path(meta)).unwrap()
}

fn decode(path: &std::path::Path) -> image::DynamicImage {
    image::ImageReader::open(path)
        .unwrap()
        .with_guessed_format()
        .unwrap()
        .decode()
        .unwrap()
}

fn tmp_is_empty(dir: &std::path::Path) -> bool {
    std::fs::read_dir(dir.join("tmp")).unwrap().next().is_none()
}

#[test]
fn fixtures_are_seeded_once_with_their_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(opts(dir.path())).unwrap();
    for f in &fixtures::FIXTURES {
        let m = store.get(f.id).unwrap();
        let bytes = content(&store, &m);
        assert_eq!(m.sha256, sha(&bytes), "{}", f.id);
        assert!(f.size == 0 || m.size == f.size);
        assert!(m.fixture);
    }
    let before = store.get("test-file-3").unwrap();
    drop(store);
    let again = Store::open(opts(dir.path())).unwrap();
    assert_eq!(again.get("test-file-3").unwrap(), before);
    assert!(matches!(
        again.delete("test-file-1"),
        Err(StoreError::ReadOnly(_))
    ));
}

#[test]
fn uploads_are_hashed_named_safely_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(opts(dir.path())).unwrap();
    let bytes: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let a = put(&store, &bytes, "general");
    let b = put(&store, &bytes, "general");
    assert_ne!(a.id, b.id);
    assert_eq!(a.sha256, sha(&bytes));
    assert_eq!(a.filename, "notes.txt");
    assert_eq!(content(&store, &a), bytes);
    assert!(tmp_is_empty(dir.path()));
    let s = store.snapshot();
    assert_eq!((s.uploads, s.upload_bytes), (2, 20_000));
    drop(store);

    // Leftovers of interrupted work: staging files, content without
    // metadata, metadata without content.
    std::fs::write(dir.path().join("tmp/1-9.part"), b"half").unwrap();
    std::fs::write(dir.path().join("files/f-orphan"), b"x").unwrap();
    std::fs::write(
        dir.path().join("meta/f-0000000000000000000a.json"),
        serde_json::to_vec(&FileMeta {
            id: "f-0000000000000000000a".into(),
            ..(*a).clone()
        })
        .unwrap(),
    )
    .unwrap();
    let store = Store::open(opts(dir.path())).unwrap();
    assert_eq!(store.get(&a.id).unwrap(), a);
    assert_eq!(content(&store, &a), bytes);
    assert!(store.get("f-0000000000000000000a").is_none());
    assert!(!dir.path().join("files/f-orphan").exists());
    assert!(!dir.path().join("meta/f-0000000000000000000a.json").exists());
    assert!(tmp_is_empty(dir.path()));
}

#[test]
fn refused_and_abandoned_uploads_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path());
    o.max_file_bytes = 100;
    let store = Store::open(o).unwrap();
    let mut up = store.begin_upload().unwrap();
    up.write(&[1; 60]).unwrap();
    assert!(matches!(
        up.write(&[1; 60]),
        Err(StoreError::TooLarge { limit: 100 })
    ));
    drop(up);
    let up = store.begin_upload().unwrap();
    let staged = up.finish().unwrap();
    drop(staged);
    assert!(tmp_is_empty(dir.path()));
    assert_eq!(store.list(None, 100, 0).0, fixtures::FIXTURES.len());
}

#[test]
fn listing_deleting_and_the_quota() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path());
    o.max_stored_files = 3;
    let store = Store::open(o).unwrap();
    let ids: Vec<String> = (0..4)
        .map(|i| {
            std::thread::sleep(std::time::Duration::from_millis(2));
            put(
                &store,
                &[i as u8; 10],
                if i % 2 == 0 { "even" } else { "odd" },
            )
            .id
            .clone()
        })
        .collect();
    // The oldest upload made room; fixtures never count.
    assert!(store.get(&ids[0]).is_none());
    assert_eq!(store.snapshot().evicted, 1);
    assert!(!dir.path().join("files").join(&ids[0]).exists());
    let (total, page) = store.list(Some("odd"), 10, 0);
    assert_eq!(total, 2);
    assert_eq!(page[0].id, ids[3], "newest first");
    let (total, page) = store.list(None, 2, 1);
    assert_eq!((total, page.len()), (3 + fixtures::FIXTURES.len(), 2));
    assert_eq!(page[0].id, ids[2]);

    let derived = match store
        .process(&ids[3], Operation::Compress { level: 6 })
        .unwrap()
    {
        Processed::Derived { file, .. } => file,
        other => panic!("{other:?}"),
    };
    assert_eq!(store.derived_of(&ids[3]), vec![derived.clone()]);
    let deleted = store.delete(&ids[3]).unwrap();
    assert_eq!(deleted.len(), 2, "the derived file goes with its source");
    assert!(store.get(&derived.id).is_none());
    assert!(matches!(
        store.delete(&ids[3]),
        Err(StoreError::NotFound(_))
    ));
    assert!(store.get("../etc/passwd").is_none());
}

#[test]
fn processing_does_the_work() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(opts(dir.path())).unwrap();
    let Processed::Analysis(a) = store.process("test-file-1", Operation::Analyze).unwrap() else {
        panic!()
    };
    assert_eq!((a.size, a.lines, a.words), (1024, 20, 201));
    assert_eq!(a.detected_type, "text");
    assert!(a.is_text && a.entropy_bits_per_byte > 3.0 && a.entropy_bits_per_byte < 5.0);
    let Processed::Analysis(b) = store.process("test-file-4", Operation::Analyze).unwrap() else {
        panic!()
    };
    assert_eq!((b.distinct_bytes, b.is_text), (251, false));
    assert!((b.entropy_bits_per_byte - 251f64.log2()).abs() < 0.001);

    let Processed::Derived { file, details } = store
        .process("test-file-3", Operation::Compress { level: 6 })
        .unwrap()
    else {
        panic!()
    };
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(store.content_path(&file)).unwrap())
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(sha(&out), store.get("test-file-3").unwrap().sha256);
    assert!(details["ratio"].as_f64().unwrap() < 0.2);
    assert_eq!(file.filename, "test-file-3.txt.gz");
    // Repeating an operation replaces its output.
    let again = store
        .process("test-file-3", Operation::Compress { level: 6 })
        .unwrap();
    let Processed::Derived { file: file2, .. } = again else {
        panic!()
    };
    assert_eq!(file2.id, file.id);
    assert_eq!(store.derived_of("test-file-3").len(), 1);

    let Processed::Derived { file, details } = store
        .process(
            "test-image-1",
            Operation::Resize {
                width: 32,
                height: 32,
            },
        )
        .unwrap()
    else {
        panic!()
    };
    let img = decode(&store.content_path(&file));
    assert_eq!((img.width(), img.height()), (32, 24));
    assert_eq!(
        (
            details["original_width"].as_u64(),
            file.content_type.as_str()
        ),
        (Some(64), "image/png")
    );
    for format in [process::ImageKind::Jpeg, process::ImageKind::Webp] {
        let op = Operation::Convert {
            format,
            quality: 80,
        };
        let Processed::Derived { file, .. } = store.process("test-image-1", op).unwrap() else {
            panic!()
        };
        let img = decode(&store.content_path(&file));
        assert_eq!((img.width(), img.height()), (64, 48));
    }
    let err = store
        .process(
            "test-file-1",
            Operation::Resize {
                width: 10,
                height: 10,
            },
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::NotAnImage(_)));
    let s = store.snapshot();
    assert_eq!((s.processed, s.processing_failed, s.resize), (7, 1, 2));
    assert!(tmp_is_empty(dir.path()));
}

#[test]
fn operations_are_validated() {
    let ok = |op, p| Operation::parse(Some(op), p).unwrap();
    let err = |op: Option<&str>, p| {
        let e = Operation::parse(op, p).unwrap_err();
        e.errors
            .iter()
            .map(|f| format!("{}:{}", f.field, f.code))
            .collect::<Vec<_>>()
    };
    assert_eq!(ok("analyze", None), Operation::Analyze);
    assert_eq!(ok("compress", Some("{}")), Operation::Compress { level: 6 });
    assert_eq!(
        ok("resize", Some(r#"{"width":800,"height":600}"#)),
        Operation::Resize {
            width: 800,
            height: 600
        }
    );
    assert_eq!(
        ok("convert", Some(r#"{"format":"jpeg","quality":70}"#)),
        Operation::Convert {
            format: process::ImageKind::Jpeg,
            quality: 70
        }
    );
    assert_eq!(err(None, None), ["operation:required"]);
    assert_eq!(err(Some("shred"), None), ["operation:one_of"]);
    assert_eq!(err(Some("compress"), Some("{")), ["params:malformed_json"]);
    assert_eq!(err(Some("compress"), Some("[1]")), ["params:invalid_type"]);
    assert_eq!(
        err(Some("compress"), Some(r#"{"level":12}"#)),
        ["params.level:range"]
    );
    assert_eq!(
        err(Some("analyze"), Some(r#"{"x":1}"#)),
        ["params.x:unknown_field"]
    );
    assert_eq!(
        err(Some("resize"), Some(r#"{"width":"a"}"#)),
        ["params.height:required", "params.width:invalid_type"]
    );
    assert_eq!(
        err(Some("convert"), Some(r#"{"format":"bmp"}"#)),
        ["params.format:one_of"]
    );
    assert_eq!(err(Some("convert"), None), ["params.format:required"]);
}

#[test]
fn a_batch_commits_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(opts(dir.path())).unwrap();
    let staged = |n: u8| {
        let mut up = store.begin_upload().unwrap();
        up.write(&[n; 100]).unwrap();
        up.finish().unwrap()
    };
    let new = || NewFile {
        filename: "x.bin".into(),
        category: "batch".into(),
        ..NewFile::default()
    };
    let files_before = std::fs::read_dir(dir.path().join("files")).unwrap().count();
    let good = staged(1);
    let broken = staged(2);
    // The second staging file vanishes before the commit (a disk fault).
    std::fs::remove_file(broken.temp.path()).unwrap();
    assert!(store
        .commit_all(vec![(good, new()), (broken, new())])
        .is_err());
    assert_eq!(store.list(Some("batch"), 10, 0).0, 0);
    assert_eq!(
        std::fs::read_dir(dir.path().join("files")).unwrap().count(),
        files_before,
        "the first file was moved back out"
    );
    assert_eq!(store.snapshot().uploads, 0);
    let both = store
        .commit_all(vec![(staged(3), new()), (staged(4), new())])
        .unwrap();
    assert_eq!(both.len(), 2);
    assert_eq!(store.list(Some("batch"), 10, 0).0, 2);
    assert!(tmp_is_empty(dir.path()));
}

fn shared(o: StoreOptions) -> std::sync::Arc<Store> {
    std::sync::Arc::new(Store::open(o).unwrap())
}

fn later() {
    // Files are ordered by creation time in milliseconds.
    std::thread::sleep(std::time::Duration::from_millis(2));
}

#[test]
fn a_derived_file_never_evicts_its_source() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path());
    o.max_stored_files = 2;
    let store = shared(o);
    let source = put(&store, &[b'a'; 5000], "general");
    later();
    let other = put(&store, b"other", "general");
    later();
    let Processed::Derived { file, .. } = store
        .process(&source.id, Operation::Compress { level: 6 })
        .unwrap()
    else {
        panic!()
    };
    assert!(store.get(&file.id).is_some(), "the new output stands");
    assert!(store.get(&source.id).is_some(), "its source stands");
    assert!(
        store.get(&other.id).is_none(),
        "the oldest other file made room"
    );
    // An output of an output: neither its parent nor the original go.
    later();
    let Processed::Derived { file: again, .. } = store
        .process(&file.id, Operation::Compress { level: 1 })
        .unwrap()
    else {
        panic!()
    };
    for id in [&source.id, &file.id, &again.id] {
        assert!(store.get(id).is_some(), "{id} was evicted");
        assert!(dir.path().join("files").join(id).exists());
    }
}

#[test]
fn uploads_in_progress_count_toward_the_quota() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path());
    o.max_stored_bytes = 1000;
    let store = shared(o);
    let a = put(&store, &[1; 400], "general");
    later();
    let b = put(&store, &[2; 400], "general");
    let mut writing = store.begin_upload().unwrap();
    writing.write(&[3; 300]).unwrap();
    assert!(
        store.get(&a.id).is_none(),
        "the oldest file made room for the bytes being written"
    );
    assert!(!dir.path().join("files").join(&a.id).exists());
    assert!(store.get(&b.id).is_some());
    // Uploads in progress alone past the quota: refused, nothing evicted
    // for it.
    let mut another = store.begin_upload().unwrap();
    let refused = another.write(&[4; 800]).unwrap_err();
    assert_eq!(crate::api::Error::from(refused).status, 507);
    assert!(store.get(&b.id).is_some());
    drop(another);
    // Committed bytes move from staging to the store, not counted twice.
    let c = store
        .commit(writing.finish().unwrap(), NewFile::default())
        .unwrap();
    assert!(store.get(&b.id).is_some() && store.get(&c.id).is_some());
    let mut next = store.begin_upload().unwrap();
    next.write(&[5; 300]).unwrap();
    assert!(store.get(&b.id).is_some(), "400 + 300 + 300 fit in 1000");
    next.write(&[5; 1]).unwrap();
    assert!(store.get(&b.id).is_none());
    drop(next);
    assert!(tmp_is_empty(dir.path()));
}

#[test]
fn deleting_and_evicting_sync_the_directories() {
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path());
    o.fsync = true;
    o.max_stored_files = 1;
    let store = shared(o);
    let syncs = || store.hooks.dir_syncs.load(Ordering::Relaxed);
    let a = put(&store, b"a", "general");
    let before = syncs();
    store.delete(&a.id).unwrap();
    assert!(syncs() >= before + 2, "a delete syncs files/ and meta/");
    put(&store, b"b", "general");
    later();
    let before = syncs();
    put(&store, b"c", "general");
    assert_eq!(store.snapshot().evicted, 1);
    assert!(
        syncs() >= before + 4,
        "the commit and the eviction each sync files/ and meta/"
    );
}

#[test]
fn a_batch_cut_by_a_crash_is_all_or_nothing_after_a_restart() {
    let files = 3;
    for k in 0..=2 * files {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = shared(opts(dir.path()));
            let batch = (0..files)
                .map(|n| {
                    let mut up = store.begin_upload().unwrap();
                    up.write(&[n as u8; 100]).unwrap();
                    let new = NewFile {
                        filename: format!("{n}.bin"),
                        category: "batch".into(),
                        ..NewFile::default()
                    };
                    (up.finish().unwrap(), new)
                })
                .collect();
            *crate::sync::lock(&store.hooks.crash_after_renames) = Some(k);
            assert!(store.commit_all(batch).is_err(), "k={k}");
        }
        let store = Store::open(opts(dir.path())).unwrap();
        let visible = store.list(Some("batch"), 10, 0).0;
        assert!(
            visible == 0 || visible == files,
            "crash after {k} renames: {visible} of {files} files visible after the restart"
        );
        let names = |d: &str| {
            let mut v: Vec<String> = std::fs::read_dir(dir.path().join(d))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .map(|n| n.trim_end_matches(".json").to_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names("files"), names("meta"), "k={k}");
    }
}

#[test]
fn processing_a_file_deleted_under_it_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let store = shared(opts(dir.path()));
    let png = content(&store, &store.get("test-image-1").unwrap());
    let ops = [
        Operation::Analyze,
        Operation::Compress { level: 6 },
        Operation::Resize {
            width: 8,
            height: 8,
        },
    ];
    for op in ops {
        let file = put(&store, &png, "general");
        let id = file.id.clone();
        // Deleted after the job looked it up, before it opened it.
        *crate::sync::lock(&store.hooks.before_open) = Some(Box::new(move |s: &Store| {
            s.delete(&id).unwrap();
        }));
        let err = store.process(&file.id, op).unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)), "{op:?}: {err:?}");
        assert_eq!(crate::api::Error::from(err).status, 404);
        assert!(store.get(&file.id).is_none());
    }
    assert!(tmp_is_empty(dir.path()));
}

/// Category listings through uploads, evictions, derived files and deletes
/// equal a brute-force filter of the full listing (which walks the age
/// order itself): counts and every page.
#[test]
fn category_listings_equal_a_scan_through_eviction() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path());
    o.max_stored_files = 12;
    let store = Store::open(o).unwrap();
    let categories = ["a", "b", "c"];
    let check = |store: &Store| {
        let (all_total, all) = store.list(None, 10_000, 0);
        assert_eq!(all_total, all.len());
        for c in categories.iter().copied().chain(["documents", "none"]) {
            let want: Vec<&str> = all
                .iter()
                .filter(|m| m.category == c)
                .map(|m| m.id.as_str())
                .collect();
            for (offset, limit) in [(0, 3), (2, 2), (0, 100), (50, 5)] {
                let (total, page) = store.list(Some(c), limit, offset);
                let got: Vec<&str> = page.iter().map(|m| m.id.as_str()).collect();
                let expected: Vec<&str> = want.iter().skip(offset).take(limit).copied().collect();
                assert_eq!((total, got), (want.len(), expected), "{c} {offset} {limit}");
            }
        }
    };
    let mut ids = Vec::new();
    for i in 0..40usize {
        let m = put(&store, format!("file {i}").as_bytes(), categories[i % 3]);
        ids.push(m.id.clone());
        if i % 9 == 4 {
            let _ = store.process(&m.id, Operation::Compress { level: 1 });
        }
        if i % 7 == 6 {
            let _ = store.delete(&ids[i - 3]);
        }
        check(&store);
    }
    assert!(store.snapshot().evicted > 0, "nothing was evicted");
}

#[test]
fn room_raises_the_file_quota_and_never_lowers_it() {
    let d = service::Limits::default();
    assert_eq!(d.clone().with_room(250_000).max_stored_files, 250_000);
    assert_eq!(d.clone().with_room(5).max_stored_files, d.max_stored_files);
    assert_eq!(
        d.clone().with_room(250_000).max_stored_bytes,
        d.max_stored_bytes
    );
}
