//! `Range` headers against files of any size: whatever is answered lies
//! inside the file.

#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::files::ByteRange;

fuzz_target!(|input: (&str, u64)| {
    let (header, size) = input;
    if let ByteRange::Partial { start, end } = ByteRange::parse(Some(header), size) {
        assert!(
            start <= end && end < size,
            "{header:?} of {size}: {start}-{end}"
        );
    }
});
