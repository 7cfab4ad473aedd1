"""Preview images for 3D models, standing in for the thumbnail Shopify renders for Model3d media."""

from __future__ import annotations

import io
import logging

import numpy as np
from PIL import Image, ImageDraw

logger = logging.getLogger(__name__)

PREVIEW_SIZE = 256
MAX_RENDER_BYTES = 32 * 1024 * 1024


def _placeholder(size: int) -> bytes:
    img = Image.new("RGB", (size, size), (244, 244, 244))
    draw = ImageDraw.Draw(img)
    s = size / 8
    # a simple isometric cube outline
    c = size / 2
    top = [(c, c - 2 * s), (c + 1.8 * s, c - s), (c, c), (c - 1.8 * s, c - s)]
    draw.polygon(top, outline=(120, 120, 120))
    draw.line(
        [
            (c - 1.8 * s, c - s),
            (c - 1.8 * s, c + s),
            (c, c + 2 * s),
            (c + 1.8 * s, c + s),
            (c + 1.8 * s, c - s),
        ],
        fill=(120, 120, 120),
    )
    draw.line([(c, c), (c, c + 2 * s)], fill=(120, 120, 120))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def model_preview_png(glb: bytes, size: int = PREVIEW_SIZE) -> bytes:
    """Render a front studio view of a GLB; fall back to a neutral placeholder when it cannot be drawn."""
    if len(glb) > MAX_RENDER_BYTES:
        return _placeholder(size)
    try:
        import trimesh

        from devstore.studio import StudioProduct, render_view

        mesh = trimesh.load(io.BytesIO(glb), file_type="glb", force="mesh")
        if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
            return _placeholder(size)
        if not hasattr(mesh.visual, "vertex_colors") or mesh.visual.kind != "vertex":
            mesh.visual = mesh.visual.to_color()
        lo, hi = mesh.bounds
        mesh.apply_translation([-(lo[0] + hi[0]) / 2, -lo[1], -(lo[2] + hi[2]) / 2])
        extents = tuple(float(v) for v in mesh.extents)
        if not np.all(np.isfinite(extents)) or max(extents) <= 0:
            return _placeholder(size)
        product = StudioProduct(kind="model", name="model", category="", mesh=mesh, size_m=extents)  # type: ignore[arg-type]
        image = render_view(product, 0.0, size=size, supersample=1)
    except Exception as exc:  # noqa: BLE001 - any unreadable model gets the placeholder, as a preview is cosmetic
        logger.info("could not render a 3D preview (%s: %s); using a placeholder", type(exc).__name__, exc)
        return _placeholder(size)
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()
