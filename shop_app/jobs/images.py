"""Input images: type by content (Pillow), pixel cap, size cap, a full decode, and the re-encoding seed 000
reports on."""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

logger = logging.getLogger(__name__)

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
ALLOWED_FORMATS = {"JPEG": ".jpg", "PNG": ".png"}


class InvalidImage(ValueError):
    """An upload or fetched file is not an acceptable image; `code` is stable, the message is for people."""

    def __init__(self, message: str, *, code: str = "invalid_image", too_large: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.too_large = too_large


@dataclass(frozen=True)
class ImageInfo:
    format: str  # JPEG | PNG
    width: int
    height: int
    suffix: str


def inspect_image(data: bytes, *, name: str = "image", max_bytes: int = MAX_FILE_BYTES) -> ImageInfo:
    """Check the bytes are a JPEG or PNG (by content, whatever the file name says) within the caps."""
    if not data:
        raise InvalidImage(f"{name} is empty", code="empty_file")
    if len(data) > max_bytes:
        raise InvalidImage(
            # Uploads are read only to max_bytes + 1, so the real size is unknown: say "over", not a number.
            f"{name} is over {max_bytes / 1024 / 1024:g} MB; the limit is {max_bytes / 1024 / 1024:g} MB per file",
            code="file_too_large",
            too_large=True,
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                fmt = img.format or ""
                width, height = img.size
                if fmt in ALLOWED_FORMATS and width * height <= MAX_PIXELS:
                    # Decode every pixel (verify() decodes none): a truncated or corrupt file fails here,
                    # before anything is stored, not later in the re-encode or the engine.
                    img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidImage(
            f"{name} has too many pixels (limit {MAX_PIXELS:,})", code="too_many_pixels"
        ) from None
    except UnidentifiedImageError:
        raise InvalidImage(
            f"{name} is not an image; upload a JPEG or PNG file", code="unsupported_type"
        ) from None
    except (OSError, SyntaxError, ValueError) as err:
        raise InvalidImage(f"{name} is a damaged image: {err}", code="damaged_image") from None
    if fmt not in ALLOWED_FORMATS:
        raise InvalidImage(
            f"{name} is a {fmt or 'unknown'} image; only JPEG and PNG are accepted", code="unsupported_type"
        )
    if width * height > MAX_PIXELS:
        raise InvalidImage(
            f"{name} is {width}x{height} pixels; the limit is {MAX_PIXELS:,} pixels", code="too_many_pixels"
        )
    return ImageInfo(format=fmt, width=width, height=height, suffix=ALLOWED_FORMATS[fmt])


@dataclass(frozen=True)
class Reencoded:
    data: bytes
    suffix: str
    original_size: int


def reencode(data: bytes, info: ImageInfo, *, jpeg_quality: int = 85) -> Reencoded:
    """Re-encode an upload (seed 000 stores compressed copies): JPEG stays JPEG at `jpeg_quality`, PNG is
    re-encoded losslessly at zlib level 6 (keeping its alpha, which the engine uses as a mask). Not with
    `optimize=True`: it tries every filter and costs ~130 ms per 1024 px photo on the upload path for a few
    per cent of size. The smaller of the original and the re-encoded bytes is kept."""
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        out = io.BytesIO()
        if info.format == "JPEG":
            img.convert("RGB").save(out, format="JPEG", quality=jpeg_quality, optimize=True)
        else:
            img.save(out, format="PNG", compress_level=6)
    encoded = out.getvalue()
    if len(encoded) >= len(data):
        encoded = data
    return Reencoded(data=encoded, suffix=info.suffix, original_size=len(data))
