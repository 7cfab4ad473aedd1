"""CDN: serves stored files at stable URLs with ``?v=`` versions and ``width``/``height`` transforms."""

from __future__ import annotations

import functools
import io
import logging

from PIL import Image, UnidentifiedImageError

logger = logging.getLogger(__name__)

MAX_TRANSFORM_PX = 5760
_FORMAT_MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}


class InvalidImage(ValueError):
    """Bytes that are not an image the devstore accepts (PNG, JPEG, WebP, GIF)."""


def image_info(data: bytes) -> tuple[str, int, int]:
    """Return ``(mime type, width, height)`` of an image, or raise :class:`InvalidImage`."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format or ""
            width, height = img.size
    except (UnidentifiedImageError, OSError) as exc:
        raise InvalidImage(f"not a readable image: {exc}") from exc
    mime = _FORMAT_MIME.get(fmt)
    if mime is None:
        raise InvalidImage(f"unsupported image format {fmt or 'unknown'}; use PNG, JPEG, WebP or GIF")
    return mime, width, height


def parse_dimension(name: str, raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError as exc:
        raise InvalidImage(f"{name} must be an integer number of pixels, got {raw!r}") from exc
    if not 1 <= value <= MAX_TRANSFORM_PX:
        raise InvalidImage(f"{name} must be between 1 and {MAX_TRANSFORM_PX}, got {value}")
    return value


@functools.lru_cache(maxsize=256)
def transform_image(data: bytes, content_type: str, width: int | None, height: int | None) -> bytes:
    """Scale an image to fit within ``width`` x ``height`` keeping its aspect ratio (never upscaling),
    as Shopify's CDN does for ``?width=&height=``."""
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        src_w, src_h = img.size
        scale = min((width or src_w) / src_w, (height or src_h) / src_h, 1.0)
        size = (max(1, round(src_w * scale)), max(1, round(src_h * scale)))
        out = img.resize(size, Image.Resampling.LANCZOS) if size != img.size else img.copy()
    buf = io.BytesIO()
    fmt = {v: k for k, v in _FORMAT_MIME.items()}.get(content_type, "PNG")
    if fmt == "JPEG" and out.mode not in ("RGB", "L"):
        out = out.convert("RGB")
    out.save(buf, format=fmt)
    return buf.getvalue()
