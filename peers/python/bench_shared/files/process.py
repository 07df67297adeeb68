"""Processing a stored file: `analyze` (size, sha256, line and word counts,
byte entropy, detected type), `compress` (gzip into a derived file),
`resize` and `convert` (PNG, JPEG, WebP; real pixels, Pillow with decode
limits). Every operation reads the file from disk and does its whole work;
nothing is cached. Blocking: run it off the event loop (through the gate)."""

from __future__ import annotations

import codecs
import gzip
import hashlib
import json
import math
import os
from dataclasses import dataclass
from typing import Any

from .. import errors
from ..errors import FieldError
from . import IO_BUFFER
from .meta import FileMeta
from .store import DerivedOutput, Store
from .upload import HashingWriter, remove_quietly

#: Largest width or height `resize` produces.
MAX_DIMENSION = 4096
#: Largest image (per side) that is decoded at all.
MAX_DECODED_SIDE = 8192
#: Most memory an image decode may take.
MAX_DECODE_BYTES = 256 * 1024 * 1024
#: Operation names, as accepted in `operation=`.
OPERATIONS = ("analyze", "compress", "resize", "convert")

#: Output formats of `convert`: name → (media type, extension, Pillow format).
IMAGE_KINDS = {
    "png": ("image/png", "png", "PNG"),
    "jpeg": ("image/jpeg", "jpg", "JPEG"),
    "webp": ("image/webp", "webp", "WEBP"),
}
_FROM_PILLOW = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp"}

# Analysis reads bigger blocks than the store writes: fewer passes of
# Python-level work per byte, the same result.
_ANALYZE_BLOCK = 1024 * 1024


def round_half_away(x: float) -> int:
    """Rounds to the nearest integer, halves away from zero (Rust's `round`)."""
    r = math.floor(abs(x))
    if abs(x) - r >= 0.5:
        r += 1
    return int(math.copysign(r, x))


def _round4(x: float) -> float:
    return round_half_away(x * 10_000.0) / 10_000.0


# -- parsing --------------------------------------------------------------


def _invalid(field: str, code: str, message: str) -> errors.ApiError:
    return errors.single(field, code, message)


def _int_param(params: dict, name: str, lo: int, hi: int,
               errs: list[FieldError]) -> int | None:
    """An integer parameter in `lo..=hi`; absent is None with no error."""
    if name not in params:
        return None
    v = params[name]
    if type(v) is int and lo <= v <= hi:
        return v
    if type(v) in (int, float):
        errs.append(FieldError(f"params.{name}", "range",
                               f"must be an integer from {lo} to {hi}"))
    else:
        errs.append(FieldError(f"params.{name}", "invalid_type", "must be an integer"))
    return None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


@dataclass(frozen=True, slots=True)
class Operation:
    """A validated processing request."""

    #: `analyze`, `compress`, `resize` or `convert`.
    name: str
    #: gzip level (0–9, default 6).
    level: int = 6
    #: Bounding box of `resize`.
    width: int = 0
    height: int = 0
    #: Target of `convert`: `png`, `jpeg` or `webp`.
    format: str = ""
    #: JPEG quality of `convert` (1–100, default 85).
    quality: int = 85

    @classmethod
    def parse(cls, operation: str | None, params: str | None) -> "Operation":
        """Validates `operation` and its JSON `params` (an object; absent is
        `{}`). Unknown operations, unknown or missing parameters and values
        out of range are 422s naming the field."""
        if operation is None:
            raise _invalid("operation", "required", "operation is required")
        if operation not in OPERATIONS:
            raise _invalid("operation", "one_of", f"must be one of {', '.join(OPERATIONS)}")
        args = cls._params(params)
        allowed = {"analyze": (), "compress": ("level",), "resize": ("width", "height"),
                   "convert": ("format", "quality")}[operation]
        errs = [FieldError(f"params.{k}", "unknown_field",
                           f"`{operation}` takes no parameter `{k}`")
                for k in args if k not in allowed]

        def required(name: str, v: int | None) -> int | None:
            if v is None and name not in args:
                errs.append(FieldError(f"params.{name}", "required",
                                       f"`{operation}` needs `{name}`"))
            return v

        parsed: Operation | None
        if operation == "analyze":
            parsed = cls("analyze")
        elif operation == "compress":
            level = _int_param(args, "level", 0, 9, errs)
            parsed = cls("compress", level=6 if level is None else level)
        elif operation == "resize":
            w = required("width", _int_param(args, "width", 1, MAX_DIMENSION, errs))
            h = required("height", _int_param(args, "height", 1, MAX_DIMENSION, errs))
            parsed = cls("resize", width=w, height=h) if w and h else None
        else:
            quality = _int_param(args, "quality", 1, 100, errs)
            fmt = args.get("format")
            target = {"png": "png", "jpeg": "jpeg", "jpg": "jpeg", "webp": "webp"}.get(fmt) \
                if isinstance(fmt, str) else None
            if "format" not in args:
                required("format", None)
            elif target is None:
                errs.append(FieldError("params.format", "one_of",
                                       "must be one of png, jpeg, webp"))
            parsed = (cls("convert", format=target, quality=85 if quality is None else quality)
                      if target else None)
        if parsed is None or errs:
            errs.sort(key=lambda e: e.field)
            raise errors.validation(errs)
        return parsed

    @staticmethod
    def _params(params: str | None) -> dict:
        text = (params or "").strip()
        if not text:
            return {}
        try:
            value = json.loads(text, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as e:
            raise _invalid("params", "malformed_json", f"not JSON: {e}") from None
        if not isinstance(value, dict):
            raise _invalid("params", "invalid_type", "must be a JSON object")
        return value

    def key(self) -> str:
        """Canonical parameters (what makes two requests the same job)."""
        if self.name == "compress":
            return f"level={self.level}"
        if self.name == "resize":
            return f"{self.width}x{self.height}"
        if self.name == "convert":
            return f"{self.format}@{self.quality}"
        return ""


# -- analyze --------------------------------------------------------------

_MAGIC = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpeg"), (b"GIF8", "gif"),
          (b"\x1f\x8b", "gzip"), (b"%PDF-", "pdf"), (b"PK\x03\x04", "zip"), (b"RIFF", "webp"))

# Rust's `u8::is_ascii_whitespace` (no vertical tab): those bytes → 0, others → 1.
_WORD_TABLE = bytes(0 if b in b" \t\n\x0c\r" else 1 for b in range(256))


def detect(head: bytes) -> str | None:
    """The type named by the first bytes, if any."""
    for magic, kind in _MAGIC:
        if head.startswith(magic) and (kind != "webp" or head[8:12] == b"WEBP"):
            return kind
    return None


def _histogram(block: bytes) -> list[int]:
    """How often each byte value occurs in `block` (Pillow's C histogram of
    the bytes seen as a one-row grey image)."""
    from PIL import Image

    return Image.frombytes("L", (len(block), 1), block).histogram()


def _image_size(path: str) -> dict | None:
    from PIL import Image

    try:
        with Image.open(path, formats=tuple(_FROM_PILLOW)) as im:
            width, height = im.size
    except Exception:  # not a readable image: no size, as in the reference
        return None
    return {"width": width, "height": height}


def analyze(path: str) -> dict:
    """Streams the file once and measures it."""
    hasher = hashlib.sha256()
    counts = [0] * 256
    size = lines = words = 0
    in_word = False
    head = b""
    utf8 = codecs.getincrementaldecoder("utf-8")("strict")
    utf8_ok = True
    with open(path, "rb", buffering=0) as f:
        while block := f.read(_ANALYZE_BLOCK):
            hasher.update(block)
            if len(head) < 16:
                head += block[:16 - len(head)]
            for value, n in enumerate(_histogram(block)):
                counts[value] += n
            marks = block.translate(_WORD_TABLE)
            words += marks.count(b"\x00\x01") + (1 if marks[0] == 1 and not in_word else 0)
            in_word = marks[-1] == 1
            lines += block.count(b"\n")
            if utf8_ok:
                try:
                    utf8.decode(block)
                except UnicodeDecodeError:
                    utf8_ok = False
            size += len(block)
    is_text = utf8_ok and not utf8.getstate()[0] and counts[0] == 0
    entropy = 0.0
    if size:
        for c in counts:
            if c > 0:
                p = c / size
                entropy += -p * math.log2(p)
    detected = detect(head) or ("text" if is_text else "binary")
    out = {
        "size": size,
        "sha256": hasher.hexdigest(),
        "lines": lines,
        "words": words,
        "entropy_bits_per_byte": _round4(entropy),
        "distinct_bytes": sum(1 for c in counts if c > 0),
        "detected_type": detected,
        "is_text": is_text,
    }
    if detected in ("png", "jpeg", "gif", "webp"):
        image = _image_size(path)
        if image is not None:
            out["image"] = image
    return out


# -- images ---------------------------------------------------------------


def _not_an_image(why: str) -> errors.ApiError:
    return errors.ApiError(422, "not_an_image", why,
                           [FieldError("file_id", "not_an_image", why)])


def _pixel_bytes(mode: str, bands: int) -> int:
    # Pillow keeps multi-band pixels in 4 bytes, 32-bit modes in 4, 16-bit in 2.
    if bands > 1 or mode in ("I", "F"):
        return 4
    return 2 if mode.startswith("I;16") else 1


def decode(path: str):
    """Decodes a PNG, JPEG or WebP with size and memory limits; anything
    else, or anything too big, is a 422 `not_an_image`."""
    from PIL import Image

    try:
        im = Image.open(path, formats=tuple(_FROM_PILLOW))
    except FileNotFoundError:
        raise
    except Exception:  # unidentified, or a header Pillow refuses
        raise _not_an_image("the file is not a PNG, JPEG or WebP image") from None
    try:
        kind = _FROM_PILLOW[im.format]
        width, height = im.size
        if width > MAX_DECODED_SIDE or height > MAX_DECODED_SIDE:
            raise _not_an_image(f"the image cannot be decoded: {width}x{height} exceeds the "
                                f"limit of {MAX_DECODED_SIDE} pixels per side")
        need = width * height * _pixel_bytes(im.mode, len(im.getbands()))
        if need > MAX_DECODE_BYTES:
            raise _not_an_image("the image cannot be decoded: it needs more than "
                                f"{MAX_DECODE_BYTES} bytes of memory")
        try:
            im.load()
        except Exception as e:  # truncated or corrupt data
            raise _not_an_image(f"the image cannot be decoded: {e}") from None
        # Pixels as the reference decodes them: palettes and bilevel images
        # expanded, so resizing interpolates real colours.
        if im.mode == "P":
            expanded = im.convert("RGBA" if "transparency" in im.info else "RGB")
        elif im.mode == "1":
            expanded = im.convert("L")
        else:
            return im, kind
        im.close()
        return expanded, kind
    except BaseException:
        im.close()
        raise


def resize_dimensions(width: int, height: int, nwidth: int, nheight: int) -> tuple[int, int]:
    """The size that fits `nwidth × nheight` keeping the aspect ratio (the
    reference's image crate rule)."""
    ratio = min(nwidth / width, nheight / height)
    return max(round_half_away(width * ratio), 1), max(round_half_away(height * ratio), 1)


#: PNG as the reference's image 0.25 `PngEncoder::new` writes it (the
#: fastest compression): zlib level 1 is Pillow's nearest. Left: the
#: reference's deflate is fdeflate's ultra-fast mode (its own Huffman-only
#: and run-length scheme) where zlib level 1 searches for matches; both
#: pick a filter per row (adaptive).
PNG_OPTIONS = {"compress_level": 1}
#: Lossless WebP as the reference's image-webp encoder writes it: one pass
#: (subtract-green, a fixed predictor, Huffman codes, runs; no colour cache
#: and no LZ77 search). libwebp's least effort (method 0, quality 0) is the
#: nearest; it still tries its cheapest transforms and a short match search.
WEBP_OPTIONS = {"lossless": True, "method": 0, "quality": 0}


def _jpeg_options(quality: int) -> dict:
    """Baseline JPEG at `quality` with 4:4:4 sampling, as the reference's
    image 0.25 encoder does: the standard quantization tables scaled as
    libjpeg scales them, the standard Huffman tables (no optimization).
    Left: libjpeg-turbo's SIMD DCT against the image crate's own."""
    return {"quality": quality, "subsampling": 0}


def _encode(img, kind: str, quality: int, out: HashingWriter) -> None:
    if kind == "jpeg":
        img.convert("RGB").save(out, format="JPEG", **_jpeg_options(quality))
    elif kind == "webp":
        img.convert("RGBA").save(out, format="WEBP", **WEBP_OPTIONS)
    else:
        if img.mode not in ("1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"):
            img = img.convert("RGBA" if "A" in img.getbands() else "RGB")
        img.save(out, format="PNG", **PNG_OPTIONS)


# -- running --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Processed:
    """A processing result: an analysis, or a derived file and what was done."""

    analysis: dict | None = None
    file: FileMeta | None = None
    details: dict | None = None


def _finish_output(store: Store, out: HashingWriter, raw, path: str, content_type: str,
                   filename: str) -> DerivedOutput:
    """Flushes (and syncs) an output file and describes it."""
    raw.flush()
    if store.opts.fsync:
        os.fsync(raw.fileno())
    return DerivedOutput(path, out.size, out.hasher.hexdigest(), content_type, filename)


def _compress(store: Store, source: FileMeta, path: str, op: Operation) -> Processed:
    temp = store.temp_file("out")
    try:
        with open(path, "rb", buffering=0) as src, open(temp, "xb", buffering=IO_BUFFER) as raw:
            out = HashingWriter(raw)
            with gzip.GzipFile(filename="", mode="wb", compresslevel=op.level, fileobj=out,
                               mtime=0) as gz:
                while block := src.read(IO_BUFFER):
                    gz.write(block)
            output = _finish_output(store, out, raw, temp, "application/gzip",
                                    f"{source.filename}.gz")
        file = store.place_derived(source, op.name, op.key(), output)
    except BaseException:
        remove_quietly(temp)
        raise
    ratio = output.size / source.size if source.size else 0.0
    return Processed(file=file, details={
        "level": op.level, "original_size": source.size, "compressed_size": output.size,
        "ratio": _round4(ratio),
    })


def _image_output(store: Store, source: FileMeta, op: Operation, img, kind: str,
                  quality: int, details: dict) -> Processed:
    media_type, extension, _ = IMAGE_KINDS[kind]
    stem = source.filename.rsplit(".", 1)[0] if "." in source.filename else source.filename
    temp = store.temp_file("out")
    try:
        with open(temp, "xb", buffering=IO_BUFFER) as raw:
            out = HashingWriter(raw)
            _encode(img, kind, quality, out)
            output = _finish_output(store, out, raw, temp, media_type, f"{stem}.{extension}")
        file = store.place_derived(source, op.name, op.key(), output)
    except BaseException:
        remove_quietly(temp)
        raise
    details.update(format=kind, width=img.width, height=img.height)
    return Processed(file=file, details=details)


def _run(store: Store, id_: str, op: Operation) -> Processed:
    """The source is pinned against eviction while the job runs; one deleted
    before it is opened is not found."""
    pin = store.pin(id_)
    if pin is None:
        raise errors.not_found(f"no file with id {id_!r}")
    with pin as source:
        return _run_on(store, source, op)


def _run_on(store: Store, source: FileMeta, op: Operation) -> Processed:
    path = store.content_path(source)
    if op.name == "analyze":
        return Processed(analysis=analyze(path))
    if op.name == "compress":
        return _compress(store, source, path, op)
    from PIL import Image

    img, kind = decode(path)
    with img:
        if op.name == "resize":
            size = resize_dimensions(img.width, img.height, op.width, op.height)
            resized = img.resize(size, Image.Resampling.BILINEAR)
            return _image_output(store, source, op, resized, kind, 90, {
                "original_width": img.width, "original_height": img.height})
        return _image_output(store, source, op, img, op.format, op.quality, {
            "from_format": kind, "quality": op.quality})


def process(store: Store, id_: str, op: Operation) -> Processed:
    """Runs `op` on the file `id_` (blocking: reads, encodes, syncs).
    Counted in the stats either way, except for an unknown id."""
    try:
        result = _run(store, id_, op)
    except errors.ApiError as e:
        if e.status != 404:
            store.stats.processed(op.name, False)
        raise
    except FileNotFoundError:
        # Deleted between the lookup and the read.
        raise errors.not_found(f"no file with id {id_!r}") from None
    except BaseException:
        store.stats.processed(op.name, False)
        raise
    store.stats.processed(op.name, True)
    return result
