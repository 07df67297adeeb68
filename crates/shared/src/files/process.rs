//! Processing a stored file: `analyze` (size, sha256, line and word counts,
//! byte entropy, detected type), `compress` (gzip into a derived file),
//! `resize` and `convert` (PNG, JPEG, WebP; real pixels). Every operation
//! reads the file from disk and does its whole work; nothing is cached.

use super::meta::FileMeta;
use super::store::{DerivedOutput, Store, StoreError};
use super::upload::HashingWriter;
use super::upload::TempPath;
use crate::{FieldError, ValidationFailure};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};
use std::sync::Arc;

/// Largest width or height `resize` produces.
pub const MAX_DIMENSION: u32 = 4096;

/// Largest image (per side) that is decoded at all.
const MAX_DECODED_SIDE: u32 = 8192;

/// Most memory an image decode may take.
const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;

/// Output formats of `convert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    /// PNG.
    Png,
    /// Baseline JPEG.
    Jpeg,
    /// Lossless WebP.
    Webp,
}

impl ImageKind {
    fn name(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpeg",
            Self::Webp => "webp",
        }
    }

    fn media_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Webp => "image/webp",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            other => other.name(),
        }
    }

    fn from_format(f: image::ImageFormat) -> Option<Self> {
        match f {
            image::ImageFormat::Png => Some(Self::Png),
            image::ImageFormat::Jpeg => Some(Self::Jpeg),
            image::ImageFormat::WebP => Some(Self::Webp),
            _ => None,
        }
    }
}

/// A validated processing request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Measure the content.
    Analyze,
    /// gzip at `level` (0–9, default 6).
    Compress {
        /// Compression level.
        level: u32,
    },
    /// Scale to fit within `width × height`, keeping the aspect ratio and
    /// the format.
    Resize {
        /// Bounding width.
        width: u32,
        /// Bounding height.
        height: u32,
    },
    /// Re-encode as `format` (JPEG at `quality`, 1–100, default 85).
    Convert {
        /// Target format.
        format: ImageKind,
        /// JPEG quality.
        quality: u8,
    },
}

/// Operation names, as accepted in `operation=`.
pub const OPERATIONS: [&str; 4] = ["analyze", "compress", "resize", "convert"];

fn invalid(field: &str, code: &str, message: impl Into<String>) -> ValidationFailure {
    ValidationFailure::single(FieldError::new(field, code, message))
}

/// An integer parameter in `lo..=hi`.
fn int_param(
    params: &Map<String, Value>,
    name: &str,
    lo: u64,
    hi: u64,
    errors: &mut Vec<FieldError>,
) -> Option<u64> {
    let v = params.get(name)?;
    match v.as_u64() {
        Some(n) if (lo..=hi).contains(&n) => Some(n),
        Some(_) | None if v.is_number() => {
            errors.push(FieldError::new(
                format!("params.{name}"),
                "range",
                format!("must be an integer from {lo} to {hi}"),
            ));
            None
        }
        _ => {
            errors.push(FieldError::new(
                format!("params.{name}"),
                "invalid_type",
                "must be an integer",
            ));
            None
        }
    }
}

impl Operation {
    /// Validates `operation` and its JSON `params` (an object; absent is
    /// `{}`). Unknown operations, unknown or missing parameters and values
    /// out of range are 422-style failures naming the field.
    pub fn parse(operation: Option<&str>, params: Option<&str>) -> Result<Self, ValidationFailure> {
        let Some(op) = operation else {
            return Err(invalid("operation", "required", "operation is required"));
        };
        if !OPERATIONS.contains(&op) {
            return Err(invalid(
                "operation",
                "one_of",
                format!("must be one of {}", OPERATIONS.join(", ")),
            ));
        }
        let params: Map<String, Value> = match params.map(str::trim) {
            None | Some("") => Map::new(),
            Some(text) => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(m)) => m,
                Ok(_) => {
                    return Err(invalid("params", "invalid_type", "must be a JSON object"));
                }
                Err(e) => {
                    return Err(invalid(
                        "params",
                        "malformed_json",
                        format!("not JSON: {e}"),
                    ));
                }
            },
        };
        let allowed: &[&str] = match op {
            "analyze" => &[],
            "compress" => &["level"],
            "resize" => &["width", "height"],
            _ => &["format", "quality"],
        };
        let mut errors: Vec<FieldError> = params
            .keys()
            .filter(|k| !allowed.contains(&k.as_str()))
            .map(|k| {
                FieldError::new(
                    format!("params.{k}"),
                    "unknown_field",
                    format!("`{op}` takes no parameter `{k}`"),
                )
            })
            .collect();
        let required = |name: &str, v: Option<u64>, errors: &mut Vec<FieldError>| {
            if v.is_none() && !params.contains_key(name) {
                errors.push(FieldError::new(
                    format!("params.{name}"),
                    "required",
                    format!("`{op}` needs `{name}`"),
                ));
            }
            v
        };
        let parsed = match op {
            "analyze" => Some(Self::Analyze),
            "compress" => {
                let level = int_param(&params, "level", 0, 9, &mut errors).unwrap_or(6);
                Some(Self::Compress {
                    level: level as u32,
                })
            }
            "resize" => {
                let max = u64::from(MAX_DIMENSION);
                let w = int_param(&params, "width", 1, max, &mut errors);
                let w = required("width", w, &mut errors);
                let h = int_param(&params, "height", 1, max, &mut errors);
                let h = required("height", h, &mut errors);
                w.zip(h).map(|(w, h)| Self::Resize {
                    width: w as u32,
                    height: h as u32,
                })
            }
            _ => {
                let quality = int_param(&params, "quality", 1, 100, &mut errors).unwrap_or(85);
                let format = match params.get("format").map(|v| v.as_str()) {
                    Some(Some("png")) => Some(ImageKind::Png),
                    Some(Some("jpeg" | "jpg")) => Some(ImageKind::Jpeg),
                    Some(Some("webp")) => Some(ImageKind::Webp),
                    None => {
                        required("format", None, &mut errors);
                        None
                    }
                    Some(_) => {
                        errors.push(FieldError::new(
                            "params.format",
                            "one_of",
                            "must be one of png, jpeg, webp",
                        ));
                        None
                    }
                };
                format.map(|format| Self::Convert {
                    format,
                    quality: quality as u8,
                })
            }
        };
        match parsed {
            Some(op) if errors.is_empty() => Ok(op),
            _ => {
                errors.sort_by(|a, b| a.field.cmp(&b.field));
                Err(ValidationFailure { errors })
            }
        }
    }

    /// The operation's name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Analyze => "analyze",
            Self::Compress { .. } => "compress",
            Self::Resize { .. } => "resize",
            Self::Convert { .. } => "convert",
        }
    }

    /// Canonical parameters (what makes two requests the same job).
    fn key(&self) -> String {
        match *self {
            Self::Analyze => String::new(),
            Self::Compress { level } => format!("level={level}"),
            Self::Resize { width, height } => format!("{width}x{height}"),
            Self::Convert { format, quality } => format!("{}@{quality}", format.name()),
        }
    }
}

/// What `analyze` measures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    /// Bytes.
    pub size: u64,
    /// Lower-case hex sha256.
    pub sha256: String,
    /// `\n` count.
    pub lines: u64,
    /// Runs of non-whitespace bytes.
    pub words: u64,
    /// Shannon entropy in bits per byte (0–8).
    pub entropy_bits_per_byte: f64,
    /// Distinct byte values present.
    pub distinct_bytes: u16,
    /// `png`, `jpeg`, `gif`, `webp`, `gzip`, `pdf`, `zip`, `text` or `binary`.
    pub detected_type: &'static str,
    /// Whether the content is valid UTF-8 without NUL bytes.
    pub is_text: bool,
    /// Pixel size, for images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageSize>,
}

/// Width and height of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ImageSize {
    /// Pixels across.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
}

/// A processing result.
#[derive(Debug, Clone)]
pub enum Processed {
    /// `analyze`.
    Analysis(Analysis),
    /// An operation that wrote a derived file; `details` say what it did.
    Derived {
        /// The new file.
        file: Arc<FileMeta>,
        /// Sizes, ratio, dimensions.
        details: Value,
    },
}

fn detect(head: &[u8]) -> Option<&'static str> {
    const MAGIC: [(&[u8], &str); 7] = [
        (b"\x89PNG\r\n\x1a\n", "png"),
        (b"\xff\xd8\xff", "jpeg"),
        (b"GIF8", "gif"),
        (b"\x1f\x8b", "gzip"),
        (b"%PDF-", "pdf"),
        (b"PK\x03\x04", "zip"),
        (b"RIFF", "webp"),
    ];
    MAGIC
        .iter()
        .find(|(m, kind)| {
            head.starts_with(m) && (*kind != "webp" || head.get(8..12) == Some(b"WEBP"))
        })
        .map(|(_, kind)| *kind)
}

/// Streams the file once and measures it.
pub fn analyze(path: &std::path::Path) -> io::Result<Analysis> {
    analyze_file(File::open(path)?)
}

/// [`analyze`] of an open file (read from its start).
fn analyze_file(mut f: File) -> io::Result<Analysis> {
    use sha2::Digest;
    let mut buf = vec![0u8; super::IO_BUFFER];
    let mut hasher = sha2::Sha256::new();
    let mut counts = [0u64; 256];
    let (mut size, mut lines, mut words) = (0u64, 0u64, 0u64);
    let mut in_word = false;
    let mut head = Vec::new();
    let mut utf8_ok = true;
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        hasher.update(chunk);
        if head.len() < 16 {
            head.extend_from_slice(&chunk[..chunk.len().min(16 - head.len())]);
        }
        for &b in chunk {
            counts[b as usize] += 1;
            let space = b.is_ascii_whitespace();
            if !space && !in_word {
                words += 1;
            }
            in_word = !space;
        }
        lines += counts_newlines(chunk);
        if utf8_ok {
            carry.extend_from_slice(chunk);
            match std::str::from_utf8(&carry) {
                Ok(_) => carry.clear(),
                Err(e) if e.error_len().is_none() => {
                    let rest = carry.split_off(e.valid_up_to());
                    carry = rest;
                }
                Err(_) => utf8_ok = false,
            }
        }
        size += n as u64;
    }
    let is_text = utf8_ok && carry.is_empty() && counts[0] == 0;
    let entropy = if size == 0 {
        0.0
    } else {
        counts
            .iter()
            .filter(|&&c| c > 0)
            .map(|&c| {
                let p = c as f64 / size as f64;
                -p * p.log2()
            })
            .sum::<f64>()
    };
    let detected = detect(&head).unwrap_or(if is_text { "text" } else { "binary" });
    let image = matches!(detected, "png" | "jpeg" | "gif" | "webp")
        .then(|| {
            f.seek(io::SeekFrom::Start(0)).ok()?;
            image::ImageReader::new(BufReader::new(&mut f))
                .with_guessed_format()
                .ok()?
                .into_dimensions()
                .ok()
        })
        .flatten()
        .map(|(width, height)| ImageSize { width, height });
    Ok(Analysis {
        size,
        sha256: crate::hex::hex(&hasher.finalize()),
        lines,
        words,
        entropy_bits_per_byte: (entropy * 10_000.0).round() / 10_000.0,
        distinct_bytes: counts.iter().filter(|&&c| c > 0).count() as u16,
        detected_type: detected,
        is_text,
        image,
    })
}

fn counts_newlines(chunk: &[u8]) -> u64 {
    chunk.iter().filter(|&&b| b == b'\n').count() as u64
}

/// Decodes an image with size and memory limits.
fn decode(file: File) -> Result<(image::DynamicImage, ImageKind), StoreError> {
    let not_image = |why: String| StoreError::NotAnImage(why);
    let mut reader = image::ImageReader::new(BufReader::new(file))
        .with_guessed_format()
        .map_err(|e| not_image(format!("cannot read the file: {e}")))?;
    let kind = reader
        .format()
        .and_then(ImageKind::from_format)
        .ok_or_else(|| not_image("the file is not a PNG, JPEG or WebP image".into()))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_DECODED_SIDE);
    limits.max_image_height = Some(MAX_DECODED_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|e| not_image(format!("the image cannot be decoded: {e}")))?;
    Ok((img, kind))
}

/// Encodes `img` as `kind` into `out`.
fn encode(
    img: &image::DynamicImage,
    kind: ImageKind,
    quality: u8,
    out: &mut impl Write,
) -> Result<(), StoreError> {
    let failed = |e: image::ImageError| StoreError::Io(io::Error::other(e));
    match kind {
        ImageKind::Png => img
            .write_with_encoder(image::codecs::png::PngEncoder::new(out))
            .map_err(failed),
        ImageKind::Jpeg => image::DynamicImage::ImageRgb8(img.to_rgb8())
            .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
                out, quality,
            ))
            .map_err(failed),
        ImageKind::Webp => image::DynamicImage::ImageRgba8(img.to_rgba8())
            .write_with_encoder(image::codecs::webp::WebPEncoder::new_lossless(out))
            .map_err(failed),
    }
}

impl Store {
    /// Runs `op` on the file `id`. Blocking (reads, encodes, syncs): call
    /// it off the reactor threads. Counted in the stats either way.
    pub fn process(&self, id: &str, op: Operation) -> Result<Processed, StoreError> {
        let result = self.run(id, op);
        let counted = !matches!(result, Err(StoreError::NotFound(_)));
        if counted {
            self.stats().processed(op.name(), result.is_ok());
        }
        result
    }

    /// The source is pinned against eviction while the job runs; one
    /// deleted before it is opened is not found.
    fn run(&self, id: &str, op: Operation) -> Result<Processed, StoreError> {
        let not_found = || StoreError::NotFound(id.to_owned());
        let (source, _pinned) = self.pin(id).ok_or_else(not_found)?;
        #[cfg(test)]
        {
            // Taken first: the hook may wait, and must not hold the lock.
            let hook = crate::sync::lock(&self.hooks.before_open).take();
            if let Some(hook) = hook {
                hook(self);
            }
        }
        let file = File::open(self.content_path(&source)).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound if self.get(id).is_none() => not_found(),
            _ => e.into(),
        })?;
        match op {
            Operation::Analyze => Ok(Processed::Analysis(analyze_file(file)?)),
            Operation::Compress { level } => {
                let temp = self.output_file();
                let mut input = BufReader::with_capacity(super::IO_BUFFER, file);
                let out = HashingWriter::new(BufWriter::with_capacity(
                    super::IO_BUFFER,
                    File::create_new(temp.path())?,
                ));
                let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::new(level));
                io::copy(&mut input, &mut gz)?;
                let output = self.finish_output(
                    gz.finish()?,
                    temp,
                    "application/gzip",
                    format!("{}.gz", source.filename),
                )?;
                let size = output.size;
                let file = self.place_derived(&source, op.name(), &op.key(), output)?;
                let ratio = if source.size == 0 {
                    0.0
                } else {
                    size as f64 / source.size as f64
                };
                Ok(Processed::Derived {
                    file,
                    details: json!({
                        "level": level,
                        "original_size": source.size,
                        "compressed_size": size,
                        "ratio": (ratio * 10_000.0).round() / 10_000.0,
                    }),
                })
            }
            Operation::Resize { width, height } => {
                let (img, kind) = decode(file)?;
                let resized = img.resize(width, height, image::imageops::FilterType::Triangle);
                self.image_output(
                    &source,
                    op,
                    &resized,
                    kind,
                    90,
                    json!({
                        "original_width": img.width(),
                        "original_height": img.height(),
                    }),
                )
            }
            Operation::Convert { format, quality } => {
                let (img, from) = decode(file)?;
                self.image_output(
                    &source,
                    op,
                    &img,
                    format,
                    quality,
                    json!({
                        "from_format": from.name(),
                        "quality": quality,
                    }),
                )
            }
        }
    }

    fn image_output(
        &self,
        source: &FileMeta,
        op: Operation,
        img: &image::DynamicImage,
        kind: ImageKind,
        quality: u8,
        mut details: Value,
    ) -> Result<Processed, StoreError> {
        let temp = self.output_file();
        let mut out = HashingWriter::new(BufWriter::new(File::create_new(temp.path())?));
        encode(img, kind, quality, &mut out)?;
        let stem = source
            .filename
            .rsplit_once('.')
            .map_or(source.filename.as_str(), |(s, _)| s);
        let output = self.finish_output(
            out,
            temp,
            kind.media_type(),
            format!("{stem}.{}", kind.extension()),
        )?;
        let file = self.place_derived(source, op.name(), &op.key(), output)?;
        if let Value::Object(m) = &mut details {
            m.insert("format".into(), json!(kind.name()));
            m.insert("width".into(), json!(img.width()));
            m.insert("height".into(), json!(img.height()));
        }
        Ok(Processed::Derived { file, details })
    }

    /// Flushes (and syncs) an output file and describes it.
    fn finish_output(
        &self,
        out: HashingWriter<BufWriter<File>>,
        temp: TempPath,
        content_type: &'static str,
        filename: String,
    ) -> Result<DerivedOutput, StoreError> {
        use sha2::Digest;
        let HashingWriter {
            inner,
            hasher,
            size,
        } = out;
        let file = inner.into_inner().map_err(|e| e.into_error())?;
        if self.options().fsync {
            file.sync_all()?;
        }
        Ok(DerivedOutput {
            temp,
            size,
            sha256: crate::hex::hex(&hasher.finalize()),
            content_type,
            filename,
        })
    }
}
