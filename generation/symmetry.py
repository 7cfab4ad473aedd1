"""A photo's mirror symmetry: the guessed views of a single photo, a round product's body axis and body.

A single photo of a product is carved with guessed companions: its mirror image as the back view and a
squeezed copy as the side views (`squeeze`). A round product is mirror-symmetric about its body's axis, which a
handle or a spout pulls away from the silhouette's box centre (`symmetry_axis`); what the mirror image about
that axis lacks is the handle (`body_mask`). Several photos that all show the same symmetric silhouette say
"a surface of revolution" (`round_fallback`).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def mirror(arr: np.ndarray, cx: float) -> np.ndarray:
    w = arr.shape[1]
    src = np.rint(2 * cx - np.arange(w) - 1).astype(int)
    ok = (src >= 0) & (src < w)
    out = np.zeros_like(arr)
    out[:, ok] = arr[:, src[ok]]
    return out


def mirror_iou(mask: np.ndarray, cx: float) -> float:
    """How well the silhouette matches its mirror image about column cx (intersection over union)."""
    mirrored = mirror(mask, cx)
    return float((mask & mirrored).sum() / max(1, (mask | mirrored).sum()))


def symmetry_axis(mask: np.ndarray, cx: float, *, reach: float = 0.25) -> float:
    """The column (to half a pixel, within ``reach`` of the silhouette's width of ``cx``) about which the
    silhouette best matches its mirror image: a mug's body axis, where its box centre leans to the handle."""
    rows = np.nonzero(mask.any(1))[0]
    cols = np.nonzero(mask.any(0))[0]
    m = mask[rows[0] : rows[-1] + 1]
    span = reach * (cols[-1] - cols[0] + 1)

    def iou(c: float) -> float:
        return mirror_iou(m, float(c))

    # every 2 px, then every half pixel around the best (a candidate's cost is one mirrored copy)
    coarse = np.arange(round(cx - span), cx + span + 1.0, 2.0)
    best = float(max(coarse, key=iou))
    return float(max(np.arange(best - 1.5, best + 1.75, 0.5), key=iou))


def body_mask(mask: np.ndarray) -> np.ndarray:
    """A round product's silhouette without what its mirror image about the body's axis lacks (a handle)."""
    cols = np.nonzero(mask.any(0))[0]
    if len(cols) < 4:
        return mask
    return mask & mirror(mask, symmetry_axis(mask, (cols[0] + cols[-1] + 1) / 2))


def squeeze(mask: np.ndarray, cx: float, k: float) -> np.ndarray:
    """The silhouette narrowed horizontally by factor k about column cx (a guessed side view)."""
    h, w = mask.shape
    u = (np.arange(w) + 0.5 - cx) / k + cx - 0.5
    rows = np.arange(h)
    uu, rr = np.meshgrid(u, rows)
    vals = ndimage.map_coordinates(mask.astype(np.float32), [rr, uu], order=1, cval=0.0)
    return vals > 0.5


def round_fallback(masks: list[np.ndarray]) -> float | None:
    """2.0 (round) when every view shows the same mirror-symmetric silhouette, as a surface of revolution does."""
    if len(masks) < 2:
        return None
    widths = []
    for m in masks:
        cols = np.nonzero(m.any(0))[0]
        if len(cols) < 4:
            return None
        cx = (cols[0] + cols[-1] + 1) / 2
        if mirror_iou(m, cx) < 0.95:
            return None
        widths.append(m.sum(1).astype(np.float64))
    ref = widths[0]
    rows = ref > 0
    for w in widths[1:]:
        if np.abs(w[rows] - ref[rows]).mean() > 0.04 * ref[rows].mean():
            return None
    return 2.0
