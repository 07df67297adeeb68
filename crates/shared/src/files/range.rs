//! Single byte ranges of the `Range` request header (RFC 9110 §14).

/// What a `Range` header asks of a file of a given size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// No usable range: send the whole file (no header, another unit, or
    /// several ranges, which this server does not combine).
    Full,
    /// Bytes `start..=end` (206).
    Partial {
        /// First byte.
        start: u64,
        /// Last byte, inclusive.
        end: u64,
    },
    /// A `bytes` range that is malformed or lies outside the file (416).
    Unsatisfiable,
}

impl ByteRange {
    /// Interprets a `Range` header for a file of `size` bytes.
    pub fn parse(header: Option<&str>, size: u64) -> Self {
        let Some(spec) = header.map(str::trim) else {
            return Self::Full;
        };
        let Some((unit, ranges)) = spec.split_once('=') else {
            return Self::Unsatisfiable;
        };
        if !unit.trim().eq_ignore_ascii_case("bytes") {
            return Self::Full;
        }
        if ranges.contains(',') {
            return Self::Full;
        }
        let Some((first, last)) = ranges.trim().split_once('-') else {
            return Self::Unsatisfiable;
        };
        let num = |s: &str| {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u64>().ok())
                .flatten()
        };
        match (first.trim(), last.trim()) {
            ("", suffix) => match num(suffix) {
                Some(n) if n > 0 && size > 0 => Self::Partial {
                    start: size.saturating_sub(n),
                    end: size - 1,
                },
                _ => Self::Unsatisfiable,
            },
            (a, "") => match num(a) {
                Some(start) if start < size => Self::Partial {
                    start,
                    end: size - 1,
                },
                _ => Self::Unsatisfiable,
            },
            (a, b) => match (num(a), num(b)) {
                (Some(start), Some(end)) if start <= end && start < size => Self::Partial {
                    start,
                    end: end.min(size - 1),
                },
                _ => Self::Unsatisfiable,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ByteRange::{self, *};

    #[test]
    fn ranges() {
        let p = |s| ByteRange::parse(Some(s), 1000);
        assert_eq!(ByteRange::parse(None, 10), Full);
        assert_eq!(p("bytes=0-99"), Partial { start: 0, end: 99 });
        assert_eq!(
            p("bytes=900-5000"),
            Partial {
                start: 900,
                end: 999
            }
        );
        assert_eq!(
            p("bytes=990-"),
            Partial {
                start: 990,
                end: 999
            }
        );
        assert_eq!(
            p("bytes=-10"),
            Partial {
                start: 990,
                end: 999
            }
        );
        assert_eq!(p("bytes=-5000"), Partial { start: 0, end: 999 });
        assert_eq!(p("items=0-1"), Full);
        assert_eq!(p("bytes=0-1,5-6"), Full);
        for bad in [
            "bytes=1000-",
            "bytes=5-2",
            "bytes=x-1",
            "bytes=-0",
            "bytes",
            "bytes=+1-2",
            "bytes=-",
        ] {
            assert_eq!(p(bad), Unsatisfiable, "{bad}");
        }
        assert_eq!(ByteRange::parse(Some("bytes=0-0"), 0), Unsatisfiable);
    }
}
