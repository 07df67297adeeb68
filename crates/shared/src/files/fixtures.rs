//! Files every server seeds at start, with deterministic content so the
//! contract can name them and check their bytes.

use std::io::{self, Write};

/// How a fixture's bytes are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// Text lines `{k:06} the quick brown fox jumps over the lazy dog\n`
    /// for k = 0, 1, …, cut at the size.
    Text,
    /// Byte i is `i mod 251`.
    Binary,
    /// A PNG of `width × height` RGB pixels, pixel (x, y) =
    /// `(4x mod 256, 5y mod 256, 2(x+y) mod 256)`.
    Png {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
}

/// One seeded file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fixture {
    /// Its id.
    pub id: &'static str,
    /// File name shown in metadata and `Content-Disposition`.
    pub filename: &'static str,
    /// Media type.
    pub content_type: &'static str,
    /// Category.
    pub category: &'static str,
    /// Size in bytes (for PNGs, what [`write_content`] makes: 0 here).
    pub size: u64,
    /// How its bytes are made.
    pub content: Content,
}

/// Every fixture, in seeding order.
pub const FIXTURES: [Fixture; 5] = [
    Fixture {
        id: "test-file-1",
        filename: "test-file-1.txt",
        content_type: "text/plain",
        category: "documents",
        size: 1024,
        content: Content::Text,
    },
    Fixture {
        id: "test-file-2",
        filename: "test-file-2.txt",
        content_type: "text/plain",
        category: "documents",
        size: 100 * 1024,
        content: Content::Text,
    },
    Fixture {
        id: "test-file-3",
        filename: "test-file-3.txt",
        content_type: "text/plain",
        category: "documents",
        size: 1024 * 1024,
        content: Content::Text,
    },
    Fixture {
        id: "test-file-4",
        filename: "test-file-4.bin",
        content_type: "application/octet-stream",
        category: "media",
        size: 100 * 1024 * 1024,
        content: Content::Binary,
    },
    Fixture {
        id: "test-image-1",
        filename: "test-image-1.png",
        content_type: "image/png",
        category: "images",
        size: 0,
        content: Content::Png {
            width: 64,
            height: 48,
        },
    },
];

const LINE_TAIL: &[u8] = b" the quick brown fox jumps over the lazy dog\n";

/// Writes the fixture's bytes to `out`, a block at a time.
pub fn write_content(fixture: &Fixture, out: &mut impl Write) -> io::Result<()> {
    match fixture.content {
        Content::Text => {
            let mut block = Vec::with_capacity(64 * 1024);
            let mut left = fixture.size as usize;
            let mut k = 0u64;
            while left > 0 {
                block.clear();
                while block.len() < 60 * 1024 {
                    block.extend_from_slice(format!("{k:06}").as_bytes());
                    block.extend_from_slice(LINE_TAIL);
                    k += 1;
                }
                let n = left.min(block.len());
                out.write_all(&block[..n])?;
                left -= n;
            }
            Ok(())
        }
        Content::Binary => {
            // 251 × 261 bytes: a whole number of periods per block.
            let block: Vec<u8> = (0..251 * 261).map(|i| (i % 251) as u8).collect();
            let mut left = fixture.size as usize;
            while left > 0 {
                let n = left.min(block.len());
                out.write_all(&block[..n])?;
                left -= n;
            }
            Ok(())
        }
        Content::Png { width, height } => out.write_all(&png(width, height)),
    }
}

/// The PNG fixture's bytes, written alike in every language (no encoder's
/// choices in them, so every server seeds the same bytes): 8-bit RGB, every
/// row unfiltered, the image data in stored (uncompressed) deflate blocks
/// of at most 65,535 bytes.
fn png(width: u32, height: u32) -> Vec<u8> {
    let mut raw = Vec::with_capacity(height as usize * (1 + 3 * width as usize));
    for y in 0..height {
        raw.push(0);
        for x in 0..width {
            raw.extend_from_slice(&[(4 * x) as u8, (5 * y) as u8, (2 * (x + y)) as u8]);
        }
    }
    let mut stream = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = if raw.is_empty() {
        vec![&[]]
    } else {
        raw.chunks(65_535).collect()
    };
    for (n, block) in blocks.iter().enumerate() {
        let len = block.len() as u16;
        stream.push(u8::from(n + 1 == blocks.len()));
        stream.extend_from_slice(&len.to_le_bytes());
        stream.extend_from_slice(&(!len).to_le_bytes());
        stream.extend_from_slice(block);
    }
    stream.extend_from_slice(&adler32(&raw).to_be_bytes());
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    png_chunk(&mut out, b"IHDR", &header);
    png_chunk(&mut out, b"IDAT", &stream);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

/// The fixture called `id`.
pub fn find(id: &str) -> Option<&'static Fixture> {
    FIXTURES.iter().find(|f| f.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(f: &Fixture) -> Vec<u8> {
        let mut v = Vec::new();
        write_content(f, &mut v).unwrap();
        v
    }

    #[test]
    fn contents_follow_their_rules() {
        let t = bytes(&FIXTURES[0]);
        assert_eq!(t.len(), 1024);
        assert!(t.starts_with(b"000000 the quick brown fox jumps over the lazy dog\n000001 "));
        let t3 = bytes(&FIXTURES[2]);
        assert_eq!(t3.len(), 1024 * 1024);
        assert_eq!(&t3[..1024], &t[..]);
        let line = 51 * 20_000;
        assert_eq!(&t3[line..line + 7], b"020000 ");
        let b = bytes(&FIXTURES[3]);
        assert_eq!(b.len(), 100 * 1024 * 1024);
        assert!(b
            .iter()
            .enumerate()
            .step_by(9973)
            .all(|(i, &x)| x == (i % 251) as u8));
        let png = bytes(&FIXTURES[4]);
        let img = image::load_from_memory(&png).unwrap().to_rgb8();
        assert_eq!((img.width(), img.height()), (64, 48));
        assert_eq!(img.get_pixel(10, 20).0, [40, 100, 60]);
        // The bytes bench_shared's fixtures.png_bytes writes too.
        assert_eq!(png.len(), 9332);
        assert_eq!(
            crate::hex::hex(&<sha2::Sha256 as sha2::Digest>::digest(&png)),
            "eba54f51b1880eb6dae2074afbd8e1cb198cbb9bd33d95fb7b7b03da9d41fdf0"
        );
        assert_eq!(find("test-file-2").unwrap().size, 102_400);
        assert!(find("x").is_none());
    }
}
