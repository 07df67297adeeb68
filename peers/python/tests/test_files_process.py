"""Image outputs encoded as the reference's encoders do (PNG at the fastest
compression, lossless WebP at the least effort, JPEG 4:4:4) still decode as
the requested sizes and formats; processing pools are sized by the CPUs
this process may use."""

from __future__ import annotations

import hashlib

import pytest
from PIL import Image, JpegImagePlugin

from bench_shared.files import fixtures, process
from bench_shared.files.process import Operation
from bench_shared import gate
from bench_shared.files.service import Limits
from test_files_helpers import is_empty, open_store


@pytest.mark.parametrize("fmt,pil", [("png", "PNG"), ("jpeg", "JPEG"), ("webp", "WEBP")])
def test_conversions_decode_as_asked(tmp_path, fmt, pil):
    store = open_store(tmp_path)
    result = process.process(store, "test-image-1", Operation("convert", format=fmt,
                                                              quality=80))
    out = result.file
    with Image.open(store.content_path(out)) as img:
        assert (img.format, img.size) == (pil, (64, 48))
        if fmt == "jpeg":
            assert JpegImagePlugin.get_sampling(img) == 0, "not 4:4:4"
        if fmt == "webp":
            with Image.open(store.content_path(store.get("test-image-1"))) as src:
                assert img.convert("RGB").tobytes() == src.convert("RGB").tobytes(), \
                    "not lossless"
    assert out.content_type == f"image/{fmt}"
    assert result.details["format"] == fmt


def test_resize_keeps_the_format_and_the_aspect_ratio(tmp_path):
    store = open_store(tmp_path)
    result = process.process(store, "test-image-1", Operation("resize", width=32, height=32))
    with Image.open(store.content_path(result.file)) as img:
        assert (img.format, img.size) == ("PNG", (32, 24))
    assert result.details["original_width"] == 64
    with pytest.raises(Exception) as e:
        process.process(store, "test-file-1", Operation("resize", width=10, height=10))
    assert getattr(e.value, "code", None) == "not_an_image"
    assert is_empty(tmp_path, "tmp")


def test_the_image_fixture_is_the_references_bytes(tmp_path):
    # No encoder's choices in it: the same bytes as the reference's
    # `fixtures::png` (whose test pins the same digest).
    png = fixtures.png_bytes(64, 48)
    assert (len(png), hashlib.sha256(png).hexdigest()) == (
        9332, "eba54f51b1880eb6dae2074afbd8e1cb198cbb9bd33d95fb7b7b03da9d41fdf0")
    store = open_store(tmp_path)
    path = store.content_path(store.get("test-image-1"))
    with open(path, "rb") as f:
        assert f.read() == png
    with Image.open(path) as img:
        assert (img.size, img.getpixel((10, 20))) == ((64, 48), (40, 100, 60))


def test_the_processing_pool_is_sized_by_the_cpus_this_process_may_use():
    # gate.cores counts them as Rust does (tests/test_gate.py).
    assert Limits.__dataclass_fields__["process_workers"].default_factory is gate.cores
    assert Limits().process_workers == gate.cores()
