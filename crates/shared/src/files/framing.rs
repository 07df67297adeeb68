//! A guard in front of multer, which has no header limit: it buffers a
//! part's header block until its blank line however long it grows
//! (rescanning it on every read), and the preamble until the first
//! boundary. The guard follows the body's framing as it streams past, the
//! way multer reads it, and cuts the stream when a part's header block
//! passes [`MAX_HEADER_BLOCK`] or no boundary comes within
//! [`MAX_PREAMBLE`].

use memchr::memmem::Finder;

/// Largest header block of a part: its delimiter line and headers.
pub const MAX_HEADER_BLOCK: usize = 8 * 1024;

/// Most bytes up to the end of the first boundary.
pub const MAX_PREAMBLE: usize = 8 * 1024;

/// Why the guard cut a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// A part's header block passed [`MAX_HEADER_BLOCK`] (413).
    #[error("a part's header block exceeds {MAX_HEADER_BLOCK} bytes")]
    HeaderTooLarge,
    /// No boundary within [`MAX_PREAMBLE`] (400).
    #[error("no multipart boundary in the first {MAX_PREAMBLE} bytes")]
    NoBoundary,
}

/// Where the body is, as multer reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Before the first `--boundary` (found anywhere, as multer does).
    Preamble,
    /// After a `--boundary`: `--` closes, else padding and CRLF.
    Line,
    /// The part's headers, up to their blank line.
    Headers,
    /// The part's content, up to `\r\n--boundary`.
    Content,
    /// After the closing delimiter: not multer's concern.
    Epilogue,
}

/// The framing state of one body.
pub(crate) struct Framing {
    stage: Stage,
    /// Bytes of the preamble, or of the current header block.
    seen: usize,
    /// The first bytes of a delimiter line (to spot the closing `--`).
    line: [u8; 2],
    first: Pattern,
    delimiter: Pattern,
    line_end: Pattern,
    blank: Pattern,
}

impl Framing {
    pub(crate) fn new(boundary: &str) -> Self {
        Self {
            stage: Stage::Preamble,
            seen: 0,
            line: [0; 2],
            first: Pattern::new(format!("--{boundary}").as_bytes()),
            delimiter: Pattern::new(format!("\r\n--{boundary}").as_bytes()),
            line_end: Pattern::new(b"\r\n"),
            blank: Pattern::new(b"\r\n\r\n"),
        }
    }

    /// Follows `chunk`, the next bytes of the body.
    pub(crate) fn scan(&mut self, mut chunk: &[u8]) -> Result<(), Violation> {
        while !chunk.is_empty() {
            if self.stage == Stage::Line && self.seen < 2 {
                let n = (2 - self.seen).min(chunk.len());
                self.line[self.seen..self.seen + n].copy_from_slice(&chunk[..n]);
                if self.seen + n == 2 && self.line == *b"--" {
                    self.stage = Stage::Epilogue;
                }
            }
            let (found, limit, violation) = match self.stage {
                Stage::Epilogue => return Ok(()),
                Stage::Preamble => (self.first.feed(chunk), MAX_PREAMBLE, Violation::NoBoundary),
                Stage::Content => (
                    self.delimiter.feed(chunk),
                    usize::MAX,
                    Violation::NoBoundary,
                ),
                Stage::Line => (
                    self.line_end.feed(chunk),
                    MAX_HEADER_BLOCK,
                    Violation::HeaderTooLarge,
                ),
                Stage::Headers => (
                    self.blank.feed(chunk),
                    MAX_HEADER_BLOCK,
                    Violation::HeaderTooLarge,
                ),
            };
            if self.stage != Stage::Content {
                self.seen += found.unwrap_or(chunk.len());
                if self.seen > limit {
                    return Err(violation);
                }
            }
            let Some(end) = found else {
                return Ok(());
            };
            self.stage = match self.stage {
                Stage::Line => Stage::Headers,
                Stage::Headers => Stage::Content,
                _ => {
                    self.seen = 0;
                    Stage::Line
                }
            };
            chunk = &chunk[end..];
        }
        Ok(())
    }
}

/// A byte pattern searched for across chunks.
struct Pattern {
    finder: Finder<'static>,
    /// The last bytes seen (fewer than the pattern), a match's possible
    /// start.
    tail: Vec<u8>,
    joined: Vec<u8>,
}

impl Pattern {
    fn new(pattern: &[u8]) -> Self {
        Self {
            finder: Finder::new(pattern).into_owned(),
            tail: Vec::new(),
            joined: Vec::new(),
        }
    }

    /// Follows `chunk`: the offset just past the first match, counting
    /// bytes of earlier chunks, if it ends in `chunk` (and the search
    /// starts afresh after it).
    fn feed(&mut self, chunk: &[u8]) -> Option<usize> {
        let len = self.finder.needle().len();
        if !self.tail.is_empty() {
            // A match that starts in the tail ends in the first bytes.
            self.joined.clear();
            self.joined.extend_from_slice(&self.tail);
            self.joined
                .extend_from_slice(&chunk[..chunk.len().min(len - 1)]);
            if let Some(i) = self.finder.find(&self.joined) {
                let end = i + len - self.tail.len();
                self.tail.clear();
                return Some(end);
            }
        }
        if let Some(i) = self.finder.find(chunk) {
            self.tail.clear();
            return Some(i + len);
        }
        let keep = len - 1;
        if chunk.len() >= keep {
            self.tail.clear();
            self.tail.extend_from_slice(&chunk[chunk.len() - keep..]);
        } else {
            self.tail.extend_from_slice(chunk);
            let extra = self.tail.len().saturating_sub(keep);
            self.tail.drain(..extra);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body whose second part's header block is `block` bytes long.
    fn body(block: usize) -> Vec<u8> {
        let head = "\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Pad: ";
        let pad = block - head.len() - 4;
        let mut out = b"preamble\r\n--B\r\nX: y\r\n\r\nfirst\r\n--B".to_vec();
        out.extend_from_slice(head.as_bytes());
        out.resize(out.len() + pad, b'p');
        out.extend_from_slice(b"\r\n\r\ncontent\r\n--B--\r\n");
        out.resize(out.len() + 3 * MAX_HEADER_BLOCK, b'e');
        out
    }

    fn scan(body: &[u8], size: usize) -> Result<(), Violation> {
        let mut framing = Framing::new("B");
        body.chunks(size).try_for_each(|c| framing.scan(c))
    }

    #[test]
    fn header_blocks_are_bounded_however_the_body_is_cut() {
        for size in [1, 2, 3, 7, 4096, usize::MAX] {
            assert_eq!(scan(&body(MAX_HEADER_BLOCK), size), Ok(()), "{size}");
            assert_eq!(
                scan(&body(MAX_HEADER_BLOCK + 1), size),
                Err(Violation::HeaderTooLarge),
                "{size}"
            );
        }
    }

    #[test]
    fn the_preamble_is_bounded() {
        let mut long = vec![b'x'; MAX_PREAMBLE + 1];
        long.extend_from_slice(b"--B\r\n");
        assert_eq!(scan(&long, 100), Err(Violation::NoBoundary));
        assert_eq!(scan(&long[4..], 100), Ok(()));
    }
}
