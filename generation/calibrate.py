"""Camera elevation and field of view from what the silhouettes show.

Three cues, each measured per photo and combined in one least-squares search over (elevation, field of view):

1. **Vertical convergence.** The sides of boxes, cans, tins and bottle bodies are vertical in the world. A
   camera pitched down by e sees vertical lines meet at the vanishing point y_v = cy + f / tan(e) below the
   image, so the silhouette's width changes linearly with the row: w(y) = w_c + g (y - cy) with
   -g / w_c = tan(e) / f. Measured on the straight middle part of each side with a robust line fit.
2. **Rim ellipses.** A round base (or lid) of half-width a seen along a ray that descends by e_r draws an
   ellipse whose near (base) or far (lid) arc is a parabola y = y0 -+ kappa u^2 with sin(e_r) = 2 kappa a /
   rho, rho the section's depth / width (1 for round; from the neighbouring views' widths when there are 4).
   e_r = e + atan((y - cy) / f) is the ray's angle at that row, so base and lid together give both e and f
   (the base, lower in the image, looks more open than the lid). Straight rims (boxes) carry no information
   and are skipped. Rims are read only off products with straight vertical sides; where no side converges
   measurably but one is a line (a mug: its handle breaks one side), the lid or rim arc alone is read (the
   base arc is not: the contact shadow flattens it), and rho comes from the widths at the arc's own row.
3. **Box tops.** With views 90 deg apart, a box's silhouette height is h cos e + (its depth) sin e in each
   view, so the height difference between neighbouring views is (d - w) sin e.

A weak prior (elevation 12 +- 15 deg, field of view 35 +- 20 deg) keeps the search bounded when the cues are
few. The confidence is 1 - (posterior spread / prior spread) on the elevation, 0 when no cue was usable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .config import CameraConfig

ELEVATIONS = np.radians(np.arange(-2.0, 40.01, 0.25))
FOVS = np.radians(np.arange(16.0, 70.01, 0.5))


@dataclass
class CameraEstimate:
    elevation_deg: float
    fov_deg: float
    confidence: float
    cues: list[str] = field(default_factory=list)


def _edges(soft: np.ndarray, rows: np.ndarray, centre: float) -> tuple[np.ndarray, np.ndarray]:
    """Sub-pixel left and right silhouette edges per row, from the coverage left and right of ``centre``."""
    c = int(round(centre))
    left = centre - soft[rows, :c].sum(1) - (centre - c)
    right = c + soft[rows, c:].sum(1)
    return left, right


def _robust_line(y: np.ndarray, x: np.ndarray) -> tuple[float, float, float]:
    """Slope, intercept and RMS residual of x(y) after dropping the worst quarter (handles, labels' relief)."""
    coef = np.polyfit(y, x, 1)
    for _ in range(2):
        res = np.abs(np.polyval(coef, y) - x)
        keep = res <= np.quantile(res, 0.75) + 1e-9
        if keep.sum() < 6:
            break
        coef = np.polyfit(y[keep], x[keep], 1)
    res = np.polyval(coef, y[keep]) - x[keep]
    return float(coef[0]), float(coef[1]), float(np.sqrt((res**2).mean()))


def _bends(y: np.ndarray, x: np.ndarray) -> bool:
    """True when a parabola explains x(y) better than a line by more than 0.35 px at the ends (a curved side)."""
    t = (y - y.mean()) / max(1.0, (y.max() - y.min()) / 2)
    c2 = np.polyfit(t, x, 2)[0]
    return abs(float(c2)) > 0.35


def _side_edges(
    mask: np.ndarray, soft: np.ndarray, part: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(rows, left edges, right edges) of the silhouette's sides within ``part`` of its height, on the rows
    its centre column covers (a handle's or a neck's gap is left out); None when too few rows."""
    rows = np.nonzero(mask.any(1))[0]
    if len(rows) < 24:
        return None
    top, bot = int(rows[0]), int(rows[-1])
    span = bot - top + 1
    ys = np.arange(top + int(part[0] * span), top + int(part[1] * span))
    if len(ys) < 10:
        return None
    cols = np.nonzero(mask[ys].any(0))[0]
    centre = (cols[0] + cols[-1] + 1) / 2
    ys = ys[mask[ys][:, int(centre)]]
    if len(ys) < 10:
        return None
    left, right = _edges(soft, ys, centre)
    return ys, left, right


def _convergence(
    mask: np.ndarray, soft: np.ndarray, cy: float, part: tuple[float, float]
) -> tuple[float, float, float] | None:
    """(-g / w_c, its standard error, its dead zone) of the straight sides within ``part`` of the height."""
    sides = _side_edges(mask, soft, part)
    if sides is None:
        return None
    ys, left, right = sides
    bl, al, rl = _robust_line(ys.astype(float), left)
    br, ar, rr = _robust_line(ys.astype(float), right)
    if max(rl, rr) > 0.5 or _bends(ys, left) or _bends(ys, right):  # a vase, a plush: not straight lines
        return None
    w_c = (ar + br * cy) - (al + bl * cy)
    if w_c < 8:
        return None
    g = br - bl
    # slope error of a line fit over n rows with residual r: r * sqrt(12 / n^3)
    n = len(ys)
    se = math.sqrt(rl**2 + rr**2 + 0.15**2) * math.sqrt(12.0 / n**3) / w_c
    se = max(se, 0.3 / (n * w_c))  # edges' anti-aliasing bias: +-0.3 px of width change over the part
    # hard-edged (or small) silhouettes quantise the width to whole pixels: a change below half a pixel over
    # the part is invisible, so the measurement is only a bound there (a dead zone in the cost)
    return -g / w_c, se, 0.5 / (n * w_c)


def _rim_row(mask: np.ndarray, which: str) -> tuple[int, int, int, np.ndarray] | None:
    """(top, bottom, reference row, covered columns there) of the base ('bottom') or lid ('top') arc: the row
    a tenth of the height inside the arc, where its half-width is measured."""
    rows = np.nonzero(mask.any(1))[0]
    if len(rows) < 24:
        return None
    top, bot = int(rows[0]), int(rows[-1])
    span = bot - top + 1
    ref = bot - max(2, int(0.1 * span)) if which == "bottom" else top + max(2, int(0.1 * span))
    cols = np.nonzero(mask[ref])[0]
    return (top, bot, ref, cols) if len(cols) >= 12 else None


def _rim(mask: np.ndarray, soft: np.ndarray, which: str) -> tuple[float, float, float, float] | None:
    """(2 kappa a, a, row, standard error) for the base ('bottom') or lid ('top') arc; None when straight."""
    found = _rim_row(mask, which)
    if found is None:
        return None
    top, bot, _, cols = found
    span = bot - top + 1
    uc, a = (cols[0] + cols[-1] + 1) / 2, (cols[-1] + 1 - cols[0]) / 2
    u = np.arange(int(np.ceil(uc - 0.6 * a)), int(np.floor(uc + 0.6 * a)) + 1)
    if len(u) < 8:
        return None
    band = max(6, int(0.2 * span))
    if which == "bottom":
        lo = bot + 1 - band
        y = lo + np.clip(soft[lo : bot + 1, u], 0, 1).sum(0)  # lowest covered position per column
        sign = -1.0
    else:
        hi = top + band
        y = hi - np.clip(soft[top:hi, u], 0, 1).sum(0)
        sign = 1.0
    x = u + 0.5 - uc
    coef, res, *_ = np.polyfit(x, y, 2, full=True)
    kappa = sign * float(coef[0])
    rms = math.sqrt(float(res[0]) / len(x)) if len(res) else 0.0
    if rms > 0.8:  # not a clean arc: a cap, a spout, a turned box's corner
        return None
    # curvature error of a quadratic fit over half-width 0.6 a
    se_k = max(rms, 0.12) * math.sqrt(180.0 / len(x)) / (0.6 * a) ** 2
    s = 2 * kappa * a
    if s < 4 * 2 * se_k * a:  # flat within noise: a straight edge tells nothing
        return None
    return s, a, float(np.polyval(coef, 0.0)), 2 * se_k * a


def _row_width(mask: np.ndarray, which: str) -> float | None:
    """The silhouette's width at the row `_rim` measures its arc's half-width on."""
    found = _rim_row(mask, which)
    return None if found is None else float(found[3][-1] + 1 - found[3][0])


def _one_straight_side(mask: np.ndarray, soft: np.ndarray) -> bool:
    """True when the left or the right side over the middle half of the height is a line within 0.5 px."""
    sides = _side_edges(mask, soft, (0.25, 0.75))
    if sides is None:
        return False
    ys, left, right = sides
    return min(_robust_line(ys.astype(float), left)[2], _robust_line(ys.astype(float), right)[2]) <= 0.5


def estimate_camera(
    masks: list[np.ndarray],
    softs: list[np.ndarray],
    *,
    height: int,
    config: CameraConfig,
) -> CameraEstimate:
    """Elevation and field of view of equally spaced turntable views (see the module docstring)."""
    e = ELEVATIONS[:, None]
    fov = FOVS[None, :]
    f = (height / 2) / np.tan(fov / 2)
    cy = height / 2
    cost = ((np.degrees(e) - config.prior_elevation_deg) / config.prior_elevation_sigma_deg) ** 2 + (
        (np.degrees(fov) - config.prior_fov_deg) / config.prior_fov_sigma_deg
    ) ** 2
    cost = np.broadcast_to(cost, (len(ELEVATIONS), len(FOVS))).copy()
    cues: list[str] = []
    n = len(masks)
    widths = [float(m.any(0).sum()) for m in masks]
    rim_widths = {w: [_row_width(m, w) for m in masks] for w in ("bottom", "top")}
    for k, (m, s) in enumerate(zip(masks, softs, strict=True)):
        lower = _convergence(m, s, cy, (0.5, 0.82))
        if lower is not None:  # the lower sides of a product standing on the floor are vertical
            q, se, dead = lower
            cost += (np.maximum(0.0, np.abs(np.tan(e) / f - q) - dead) / se) ** 2
            cues.append(f"view{k + 1}:vertical_edges")
        upper = _convergence(m, s, cy, (0.15, 0.45))
        if upper is not None:  # vertical too, or the receding sides of a top face seen from above
            q, se, dead = upper
            vertical = (np.maximum(0.0, np.abs(np.tan(e) / f - q) - dead) / se) ** 2
            receding = (
                np.maximum(0.0, np.abs(-1.0 / (f * np.maximum(np.tan(e), 1e-3)) - q) - dead) / se
            ) ** 2
            cost += np.minimum(vertical, receding)
            cues.append(f"view{k + 1}:upper_edges")
        # the section's depth / width: from the neighbours' whole widths, or (per rim, below) their widths
        # at the rim's own row
        view_rho = 1.0
        if n == 4:
            view_rho = 0.5 * (widths[(k + 1) % 4] + widths[(k + 3) % 4]) / max(widths[k], 1.0)
        if lower is not None:
            rims = ("bottom", "top")
        elif _one_straight_side(m, s):
            # a mug: the handle breaks one side and a pale label on a pale background wobbles the other by
            # a fraction of a pixel, too little to measure convergence by but enough to show a wall, not a
            # blob; its lid or rim arc is still clean (the base arc is not: the contact shadow flattens it)
            rims = ("top",)
        else:
            rims = ()
        for which in rims:
            # rims only of products with straight vertical sides (cans, jars, tins): a blob's rounded
            # bottom is no ellipse
            rim = _rim(m, s, which)
            if rim is None:
                continue
            sv, a, row, se = rim
            own = rim_widths[which]
            rho = view_rho
            if n == 4 and own[k] is not None:
                nb = [own[j] for j in ((k + 1) % 4, (k + 3) % 4) if own[j] is not None]
                if nb:  # widths at the rim's own row: a handle away from it does not count as depth
                    rho = float(np.mean(nb)) / own[k]
            er = e + np.arctan((row - cy) / f)
            cost += ((np.abs(np.sin(er)) * rho - sv) / (se + 0.03 * rho)) ** 2
            cues.append(f"view{k + 1}:{which}_rim")
    if n == 4:
        heights = [float(m.any(1).sum()) for m in masks]
        boxy = [
            float(m.sum()) / max(1.0, h * w) >= 0.85 for m, h, w in zip(masks, heights, widths, strict=True)
        ]
        for k in range(4):
            j = (k + 1) % 4
            if not (boxy[k] and boxy[j]):  # a handle or a neck changes the width, not the depth
                continue
            dh = heights[k] - heights[j]
            dw = widths[j] - widths[k]  # depth seen in view k is the width seen in view j
            if abs(dw) > 0.15 * max(widths[k], widths[j]):
                cost += ((np.sin(e) * dw - dh) / (3.0 + 0.03 * heights[k])) ** 2  # perspective too
                cues.append(f"views{k + 1}-{j + 1}:box_top")
    i, j = np.unravel_index(int(np.argmin(cost)), cost.shape)
    post = np.exp(-(cost - cost[i, j]) / 2)
    post /= post.sum()
    pe = post.sum(1)
    mean_e = float((pe * ELEVATIONS).sum())
    sd_e = math.sqrt(float((pe * (ELEVATIONS - mean_e) ** 2).sum()))
    confidence = 0.0 if not cues else max(0.0, 1.0 - math.degrees(sd_e) / config.prior_elevation_sigma_deg)
    return CameraEstimate(
        float(np.degrees(ELEVATIONS[i])), float(np.degrees(FOVS[j])), round(confidence, 3), cues
    )
