"""Foreground segmentation without learned weights.

The alpha channel is used when the photo has one. Otherwise the background model is a studio background: the
colour of the image border (uniform, usually white) plus achromatic darkening that is smooth (soft shadows:
an off-white label's fine print is achromatic darkening too, but not smooth). Background is
every pixel reachable from the border through background-like pixels without crossing an edge; the product is
the rest, cleaned (small specks dropped, holes filled). A confidence score summarises how clean that was.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.color import rgb2lab

from .errors import BackgroundTooBusy, EmptyForeground

SLIT_FRACTION = 0.02  # closing radius as a fraction of the product's size: fills slits up to ~4 % wide
SHADOW_MAX_CURVATURE = 1.0  # mean |Laplacian of L*| (per pixel^2) above which a pixel is print, not shadow


@dataclass
class Segmentation:
    mask: np.ndarray  # H, W bool
    soft: np.ndarray  # H, W float32 in [0, 1] (anti-aliased coverage)
    confidence: float
    source: str  # "alpha" or "background_model"
    background_rgb: tuple[int, int, int] | None


def _border(a: np.ndarray, w: int) -> np.ndarray:
    return np.concatenate(
        [
            a[:w].reshape(-1, *a.shape[2:]),
            a[-w:].reshape(-1, *a.shape[2:]),
            a[:, :w].reshape(-1, *a.shape[2:]),
            a[:, -w:].reshape(-1, *a.shape[2:]),
        ]
    )


def _close_slits(mask: np.ndarray) -> np.ndarray:
    """The mask with slits and notches narrower than ~4 % of the product's size filled (a morphological closing).

    The seam between a cushion's two faces (or two parts touching) shows the background in a line a few pixels
    wide; carved, it would split the product with a thin slot lined with interior faces. A handle's opening
    is several times wider and survives.
    """
    rows = np.nonzero(mask.any(1))[0]
    cols = np.nonzero(mask.any(0))[0]
    if len(rows) < 8 or len(cols) < 8:
        return mask
    r = int(np.clip(round(SLIT_FRACTION * max(rows[-1] - rows[0], cols[-1] - cols[0])), 1, 12))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    disk = yy**2 + xx**2 <= r * r
    padded = np.pad(mask, r + 1)
    closed = ndimage.binary_closing(padded, structure=disk)[r + 1 : -(r + 1), r + 1 : -(r + 1)]
    # only gaps a few pixels across: the closing's slivers along concave outlines (a can's neck, the corner
    # between a handle and its body) would round the shape
    added = closed & ~mask
    lab, n = ndimage.label(added)
    if n == 0:
        return mask
    half_width = ndimage.maximum(ndimage.distance_transform_edt(added), lab, index=np.arange(1, n + 1))
    keep = np.zeros(n + 1, dtype=bool)
    keep[1:] = np.asarray(half_width) >= max(1.5, r / 2)
    return mask | keep[lab]


def _clean(mask: np.ndarray) -> np.ndarray:
    mask = ndimage.binary_opening(mask, iterations=1)
    lab, n = ndimage.label(mask)
    if n == 0:
        return mask
    sizes = ndimage.sum_labels(mask, lab, index=np.arange(1, n + 1))
    keep = np.zeros(n + 1, dtype=bool)
    keep[1:] = sizes >= 0.05 * sizes.max()
    return ndimage.binary_fill_holes(keep[lab])


def _flood_from_border(bg_like: np.ndarray, lab: np.ndarray) -> np.ndarray:
    """Pixels reachable from the border through background-coloured pixels without crossing an edge."""
    smooth_l = ndimage.gaussian_filter(lab[..., 0], 1.0)
    grad = np.hypot(ndimage.sobel(smooth_l, 0), ndimage.sobel(smooth_l, 1)) / 8.0
    comp, _ = ndimage.label(bg_like & (grad < 3.5))
    ids = np.unique(_border(comp, 1))
    return np.isin(comp, ids[ids > 0])


def segment(rgb: np.ndarray, alpha: np.ndarray | None, *, view: int = 0) -> Segmentation:
    """Separate the product from a studio background (or use the alpha channel)."""
    h, w = rgb.shape[:2]
    if alpha is not None:
        soft = alpha.astype(np.float32) / 255.0
        mask = _clean(soft > 0.5)
        if mask.sum() < 0.001 * h * w:
            raise EmptyForeground(
                "the visible (non-transparent) part of the image is too small to model", view=view
            )
        return Segmentation(mask, soft, 0.98, "alpha", None)

    bw = max(2, round(0.015 * min(h, w)))
    lab = rgb2lab(rgb).astype(np.float32)
    border = _border(lab, bw)
    bg = np.median(border, axis=0)
    d_border = np.linalg.norm(border - bg, axis=1)
    border_ok = float((d_border < 10.0).mean())
    if border_ok < 0.6:
        raise BackgroundTooBusy(
            "background too busy to separate the product: photograph it on a plain white or uniform background",
            view=view,
        )
    d_l = lab[..., 0] - bg[0]
    d_c = np.hypot(lab[..., 1] - bg[1], lab[..., 2] - bg[2])
    d_e = np.sqrt(d_l**2 + d_c**2)
    # shadows: the background colour darkened, without a colour shift
    shadow_like = (d_c < 5.0 + 0.08 * np.maximum(-d_l, 0)) & (d_l > -45.0) & (d_l < 4.0)
    shadow_tone = shadow_like.copy()
    # and soft: a shadow's brightness changes smoothly, a pale label's fine print does not (without this the
    # flood runs from the floor shadow into an off-white label)
    # (curvature of the brightness, not its slope: a contact shadow darkens steeply but evenly)
    curvature = ndimage.uniform_filter(np.abs(ndimage.gaussian_laplace(lab[..., 0], 1.0)), 5)
    # (the thin band where the product's own edge meets its shadow curves as well: the last, colour-only
    # step below takes it back by tone alone)
    shadow_like &= (curvature < SHADOW_MAX_CURVATURE) | (d_c < 1.5)  # a grey shadow may curve at its edge
    # shadows lie on the floor: below the product's middle. A first pass without them bounds the product.
    rough = ~_flood_from_border((d_e < 7.0), lab)
    rows = np.nonzero(rough.any(1))[0]
    if len(rows):
        floor_row = rows[0] + 0.55 * (rows[-1] - rows[0])
        shadow_like &= (np.arange(h) >= floor_row)[:, None]
        shadow_tone &= (np.arange(h) >= floor_row)[:, None]
    bg_like = (d_e < 7.0) | shadow_like
    smooth_l = ndimage.gaussian_filter(lab[..., 0], 1.0)
    grad = np.hypot(ndimage.sobel(smooth_l, 0), ndimage.sobel(smooth_l, 1)) / 8.0
    smooth_c = ndimage.gaussian_filter(d_c, 1.0)
    grad_c = np.hypot(ndimage.sobel(smooth_c, 0), ndimage.sobel(smooth_c, 1)) / 8.0
    passable = bg_like & (grad < 3.5) & (grad_c < 3.0)
    comp, _ = ndimage.label(passable)
    edge_ids = np.unique(_border(comp, 1))
    edge_ids = edge_ids[edge_ids > 0]
    background = np.isin(comp, edge_ids)
    background = ndimage.binary_dilation(background, mask=bg_like & (grad < 6.0), iterations=2)
    # the blurred gradient stops the flood a pixel or two short of the true edge: finish by colour alone
    background = ndimage.binary_dilation(
        background, mask=(d_e < 8.0) | (shadow_tone & (d_e < 12.0)), iterations=3
    )
    mask = _clean(~background)
    # holes (a mug's handle) show the background itself: uniform, the border's colour, no shading
    holes = mask & passable
    if holes.any():
        lab_h, n_h = ndimage.label(holes)
        for i in range(1, n_h + 1):
            comp = lab_h == i
            vals = d_e[comp]
            if comp.sum() >= 0.0005 * h * w and np.median(vals) < 2.5 and np.percentile(vals, 90) < 5.0:
                mask[comp] = False
    mask = _close_slits(mask)
    area = float(mask.mean())
    if area < 0.002:
        raise EmptyForeground("no product found: the photo looks like an empty background", view=view)
    border_fg = float(_border(mask, 1).mean())
    if area > 0.92 or border_fg > 0.5:
        raise BackgroundTooBusy(
            "background too busy to separate the product: photograph it on a plain white or uniform background",
            view=view,
        )
    # soft coverage: the colour distance to the background, saturated, only near the mask edge
    ring = ndimage.binary_dilation(mask, iterations=1) & ~ndimage.binary_erosion(mask, iterations=1)
    soft = mask.astype(np.float32)
    soft[ring] = np.clip(d_e[ring] / 20.0, 0.0, 1.0)
    inner = mask & ~ndimage.binary_erosion(mask, iterations=3)
    contrast = float(np.percentile(d_e[inner], 75)) if inner.any() else 0.0
    confidence = float(
        np.clip(
            0.45 * border_ok + 0.35 * min(1.0, contrast / 25.0) + 0.2 * (1.0 - min(1.0, border_fg * 10)), 0, 1
        )
    )
    rgb_bg = tuple(int(v) for v in np.median(_border(rgb, bw), axis=0))
    return Segmentation(mask, soft, confidence, "background_model", rgb_bg)
