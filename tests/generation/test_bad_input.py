"""Bad input gives a typed error with a clear message (and the CLI prints it in one line, see test_cli)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from generation import (
    BackgroundTooBusy,
    EmptyForeground,
    GenerationParams,
    ImageTooLarge,
    InconsistentViews,
    InvalidImage,
    InvalidParams,
)
from generation.images import load_photos

from .conftest import SMALL, png_bytes


def _load(*items):
    return load_photos(list(items), max_pixels=50_000_000)


def test_empty_file(engine):
    with pytest.raises(InvalidImage, match="empty") as err:
        engine.generate([b""], params=SMALL)
    assert err.value.code == "invalid_image"


def test_not_an_image(engine):
    with pytest.raises(InvalidImage, match="not an image"):
        engine.generate([b"%PDF-1.7 this is a pdf, not a photo"], params=SMALL)


def test_truncated_png(engine, can_photos):
    with pytest.raises(InvalidImage, match="truncated or corrupt"):
        engine.generate([can_photos[0][: len(can_photos[0]) // 2]], params=SMALL)


def test_corrupt_jpeg():
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(buf, format="JPEG")
    data = bytearray(buf.getvalue())
    data[200:260] = b"\xff" * 60  # garbage inside the entropy-coded data and tables
    data = bytes(data[:300])
    with pytest.raises(InvalidImage):
        _load(data)


def test_missing_file(tmp_path):
    with pytest.raises(InvalidImage, match="cannot read"):
        _load(tmp_path / "nope.png")


def test_decompression_bomb_over_50_megapixels(engine):
    buf = io.BytesIO()
    Image.new("1", (8000, 6500)).save(buf, format="PNG")  # 52 MP, a few kB on disk
    with pytest.raises(ImageTooLarge, match="MP") as err:
        engine.generate([buf.getvalue()], params=SMALL)
    assert err.value.code == "image_too_large"


def test_fully_transparent_image(engine):
    im = Image.new("RGBA", (128, 128), (255, 255, 255, 0))
    with pytest.raises(EmptyForeground, match="fully transparent") as err:
        engine.generate([png_bytes(im)], params=SMALL)
    assert err.value.code == "empty_foreground"


def test_all_background_photo(engine):
    im = Image.new("RGB", (128, 128), (250, 250, 250))
    with pytest.raises(EmptyForeground, match="empty background"):
        engine.generate([png_bytes(im)], params=SMALL)


def test_views_of_different_sizes(engine, can_photos):
    other = png_bytes(Image.open(io.BytesIO(can_photos[1])).resize((160, 192)))
    with pytest.raises(InconsistentViews, match="same size") as err:
        engine.generate([can_photos[0], other], params=SMALL)
    assert err.value.code == "inconsistent_views"


def test_busy_background(engine):
    rng = np.random.default_rng(0)
    im = Image.fromarray(rng.integers(0, 255, (128, 128, 3), dtype=np.uint8))
    with pytest.raises(BackgroundTooBusy, match="background too busy") as err:
        engine.generate([png_bytes(im)], params=SMALL)
    assert err.value.code == "background_too_busy"


def test_error_names_the_photo(engine, can_photos):
    with pytest.raises(InvalidImage, match="photo 3"):
        engine.generate([can_photos[0], can_photos[1], b"junk", can_photos[3]], params=SMALL)


@pytest.mark.parametrize(
    "kwargs",
    [{"resolution": 100}, {"face_limit": 10}, {"texture_size": 1000}, {"steps": 0}, {"size_hint_m": -1.0}],
)
def test_params_are_validated(kwargs):
    with pytest.raises(InvalidParams):
        GenerationParams(**kwargs)


def test_resolution_accepts_seed_strings():
    assert GenerationParams(resolution="256").resolution == 256


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P", "CMYK", "L", "I;16", "I", "F"])
def test_colour_modes_are_normalised(mode, can_photos):
    base = Image.open(io.BytesIO(can_photos[0])).convert("RGB")
    if mode in ("I;16", "I", "F"):
        arr = np.asarray(base.convert("L")).astype(np.uint16) * 257
        im = Image.fromarray(
            arr.astype(np.uint16 if mode == "I;16" else (np.int32 if mode == "I" else np.float32))
        )
    else:
        im = base.convert(mode)
    buf = io.BytesIO()
    fmt = "TIFF" if mode in ("CMYK", "I", "F") else "PNG"
    im.save(buf, format=fmt)
    (photo,) = _load(buf.getvalue())
    assert photo.rgb.dtype == np.uint8 and photo.rgb.shape == (192, 192, 3)
    assert photo.rgb[0, 0].min() > 200, "white background stays white"


def test_exif_orientation_is_applied():
    im = Image.new("RGB", (120, 80), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    buf = io.BytesIO()
    im.save(buf, format="JPEG", exif=exif)
    (photo,) = _load(buf.getvalue())
    assert photo.original_size == (80, 120)


def test_pil_images_and_paths_are_accepted(tmp_path, can_photos):
    p = tmp_path / "front.png"
    p.write_bytes(can_photos[0])
    photos = _load(p, str(p), Image.open(io.BytesIO(can_photos[0])))
    assert len(photos) == 3
