"""Loading and normalising product photos: EXIF orientation, colour modes, size checks."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import EmptyForeground, ImageTooLarge, InconsistentViews, InvalidImage

ImageInput = bytes | bytearray | memoryview | str | Path | Image.Image

MIN_SIDE = 32


@dataclass
class Photo:
    """One normalised photo: 8-bit RGB plus an optional alpha (None when fully opaque)."""

    rgb: np.ndarray  # H, W, 3 uint8
    alpha: np.ndarray | None  # H, W uint8, or None
    original_size: tuple[int, int]  # (width, height) after EXIF rotation


def _open(data: ImageInput, max_pixels: int, view: int) -> Image.Image:
    if isinstance(data, Image.Image):
        im = data
        if im.width * im.height > max_pixels:
            raise ImageTooLarge(
                f"{im.width}x{im.height} is {im.width * im.height / 1e6:.0f} MP; the limit is {max_pixels / 1e6:.0f} MP",
                view=view,
            )
        return im.copy()
    if isinstance(data, str | Path):
        try:
            raw = Path(data).read_bytes()
        except OSError as err:
            raise InvalidImage(f"cannot read {str(data)!r}: {err.strerror or err}", view=view) from None
    elif isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
    else:
        raise InvalidImage(f"unsupported input type {type(data).__name__}", view=view)
    if not raw:
        raise InvalidImage("the file is empty (0 bytes)", view=view)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(raw))
    except Image.DecompressionBombError:
        raise ImageTooLarge(
            f"decompression bomb refused: more than {max_pixels / 1e6:.0f} MP", view=view
        ) from None
    except UnidentifiedImageError:
        raise InvalidImage("not an image (unrecognised file format)", view=view) from None
    except (OSError, ValueError, SyntaxError) as err:
        raise InvalidImage(f"corrupt image header ({err})", view=view) from None
    if im.width * im.height > max_pixels:
        raise ImageTooLarge(
            f"{im.width}x{im.height} is {im.width * im.height / 1e6:.0f} MP; the limit is {max_pixels / 1e6:.0f} MP",
            view=view,
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im.load()
    except Image.DecompressionBombError:
        raise ImageTooLarge(
            f"decompression bomb refused: more than {max_pixels / 1e6:.0f} MP", view=view
        ) from None
    except (OSError, ValueError, SyntaxError, EOFError) as err:
        raise InvalidImage(f"truncated or corrupt image data ({err})", view=view) from None
    return im


def _to_8bit(arr: np.ndarray) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.dtype == np.uint8:
        return arr
    a = arr.astype(np.float64)
    if np.issubdtype(arr.dtype, np.floating):
        hi = 1.0 if a.max(initial=0.0) <= 1.0 else 255.0
    else:
        hi = 255.0 if a.max(initial=0.0) <= 255 else 65535.0
    return np.clip(np.rint(a / hi * 255.0), 0, 255).astype(np.uint8)


def normalize(im: Image.Image, view: int = 0) -> Photo:
    """EXIF-rotate and convert any Pillow mode (RGBA, LA, P, CMYK, 16-bit, float) to 8-bit RGB + alpha."""
    try:
        im = ImageOps.exif_transpose(im)
    except Exception:  # noqa: BLE001 - a broken EXIF block must not reject an otherwise fine photo
        pass
    mode = im.mode
    alpha = None
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        g = _to_8bit(np.asarray(im))
        rgb = np.repeat(g[..., None], 3, axis=2)
    else:
        if mode == "P":
            im = im.convert("RGBA") if "transparency" in im.info else im.convert("RGB")
        elif mode in ("LA", "La", "PA", "RGBa"):
            im = im.convert("RGBA")
        elif mode == "RGBA":
            pass
        elif mode != "RGB":
            im = im.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV
        arr = np.asarray(im)
        rgb = np.ascontiguousarray(arr[..., :3])
        if im.mode == "RGBA":
            alpha = np.ascontiguousarray(arr[..., 3])
    if rgb.shape[0] < MIN_SIDE or rgb.shape[1] < MIN_SIDE:
        raise InvalidImage(
            f"{rgb.shape[1]}x{rgb.shape[0]} px is too small (at least {MIN_SIDE} px a side)", view=view
        )
    if alpha is not None:
        if int(alpha.max()) == 0:
            raise EmptyForeground("the image is fully transparent: there is no product to model", view=view)
        if int(alpha.min()) >= 250:
            alpha = None
    return Photo(rgb=rgb, alpha=alpha, original_size=(rgb.shape[1], rgb.shape[0]))


def load_photos(images: list[ImageInput] | tuple, *, max_pixels: int) -> list[Photo]:
    """Open, check and normalise 1..N photos; all must have the same size."""
    if isinstance(images, ImageInput):  # a single photo is accepted too
        images = [images]
    images = list(images)
    if not images:
        raise InvalidImage("no photos given")
    if len(images) > 16:
        raise InvalidImage(f"{len(images)} photos given; at most 16 are accepted")
    photos = [normalize(_open(data, max_pixels, i), i) for i, data in enumerate(images)]
    sizes = {p.original_size for p in photos}
    if len(sizes) > 1:
        listed = ", ".join(f"{w}x{h}" for w, h in (p.original_size for p in photos))
        raise InconsistentViews(f"all photos must have the same size; got {listed}")
    return photos


def resize(arr: np.ndarray, size: tuple[int, int], *, resample=Image.BILINEAR) -> np.ndarray:
    """Resize an HxW or HxWxC uint8 array to (width, height)."""
    if (arr.shape[1], arr.shape[0]) == size:
        return arr
    return np.asarray(Image.fromarray(arr).resize(size, resample))


def scaled_size(width: int, height: int, longest: int) -> tuple[int, int]:
    s = min(1.0, longest / max(width, height))
    return max(1, round(width * s)), max(1, round(height * s))
