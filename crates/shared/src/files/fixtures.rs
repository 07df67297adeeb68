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
    /// Size in bytes (for PNGs, whatever the encoder produces: 0 here).
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
        Content::Png { width, height } => {
            let img = image::RgbImage::from_fn(width, height, |x, y| {
                image::Rgb([(4 * x) as u8, (5 * y) as u8, (2 * (x + y)) as u8])
            });
            let mut bytes = Vec::new();
            img.write_to(&mut io::Cursor::new(&mut bytes), image::ImageFormat::Png)
                .map_err(io::Error::other)?;
            out.write_all(&bytes)
        }
    }
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
        assert_eq!(find("test-file-2").unwrap().size, 102_400);
        assert!(find("x").is_none());
    }
}
