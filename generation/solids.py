"""Exact shapes where the silhouettes support them: upright prisms of superellipse section.

One family covers the common retail solids: a cylinder or elliptic cylinder (exponent p = 2) and a cuboid or
rectangular tin in any orientation on the floor, including lying flat (p = 12: sharp corners, a hair of rounding
that keeps normals sane). Parameters: centre (x, z), floor and top
heights, two half-axes, yaw, p. A convex solid's silhouette is the convex hull of its projected top and bottom
sections, so each candidate is scored by a two-sided boundary distance in pixels against every real photo's
silhouette: hull outline -> the mask's signed distance image, and the mask's outline -> the hull polygon.
Nelder-Mead fits each exponent from the carved hull's bounding box and, for the cuboid, from the best yaws of a
7.5 deg grid (four views carve a turned box into its axis-aligned bounding rectangle, so the carve cannot say
its yaw); with several photos the camera's elevation and focal length are refined in the same fit (an exact
solid's outline pins them better than the calibration's cues). The best fit is used when it explains
every view to within ``SolidConfig.max_error_px`` (otherwise the carved hull stays: handles, necks, soft goods).
The product title only breaks near-ties between exponents (``prefer``), it never picks a shape on its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from scipy import ndimage
from scipy.optimize import minimize
from scipy.spatial import ConvexHull, QhullError

from .cameras import Rig

EXPONENTS = {"cylinder": 2.0, "cuboid": 12.0}
SECTION_POINTS = 48
_EDGE_T = np.arange(6) / 6  # samples along each hull edge (edges are short: 48-point sections)


@dataclass
class SolidFit:
    kind: str
    params: np.ndarray  # cx, cz, y0, y1, a, b, yaw
    p: float
    error_px: float  # mean two-sided boundary distance over the views
    per_view_px: list[float]
    camera: np.ndarray  # (elevation shift in radians, log focal scale) against the calibrated rig
    rig: Rig  # the rig the fit was judged with (the calibrated one, or refined with ``camera``)


@lru_cache(maxsize=32)
def _unit_section(p: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The unit superellipse |x|^p + |z|^p = 1 at n angles (cached: a fit evaluates one p thousands of times)."""
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    x = np.sign(c) * np.abs(c) ** (2 / p)
    z = np.sign(s) * np.abs(s) ** (2 / p)
    x.flags.writeable = z.flags.writeable = False
    return x, z


def _section(params: np.ndarray, p: float, n: int = SECTION_POINTS) -> np.ndarray:
    cx, cz, _, _, a, b, yaw = params
    ux, uz = _unit_section(float(p), n)
    x, z = a * ux, b * uz
    cy, sy = math.cos(yaw), math.sin(yaw)
    return np.stack([cx + cy * x + sy * z, cz - sy * x + cy * z], 1)


class _View:
    """One photo's silhouette: signed distance image and outline points (pixel coordinates)."""

    def __init__(self, mask: np.ndarray) -> None:
        inside = ndimage.distance_transform_edt(mask)
        outside = ndimage.distance_transform_edt(~mask)
        self.sdf = np.where(mask, -(inside - 0.5), outside - 0.5).astype(np.float32)
        edge = mask & ~ndimage.binary_erosion(mask)
        ys, xs = np.nonzero(edge)
        step = max(1, len(xs) // 200)
        self.outline = np.stack([xs[::step] + 0.5, ys[::step] + 0.5], 1)

    def error(self, poly: np.ndarray) -> float:
        # hull outline sampled every ~1.5 px -> |mask sdf|
        nxt = np.roll(poly, -1, 0)
        pts = (poly[:, None] + (nxt - poly)[:, None] * _EDGE_T[None, :, None]).reshape(-1, 2)
        d1 = ndimage.map_coordinates(self.sdf, [pts[:, 1] - 0.5, pts[:, 0] - 0.5], order=1, mode="nearest")
        # mask outline -> signed distance to the convex polygon (max over its edges' half-planes)
        edge = nxt - poly
        normal = np.stack([edge[:, 1], -edge[:, 0]], 1)
        normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-9)
        if np.mean(((self.outline.mean(0) - poly) * normal).sum(1)) > 0:
            normal = -normal  # outward normals whatever the vertex order
        d2 = ((self.outline[:, None, :] - poly[None]) * normal[None]).sum(-1).max(1)
        return 0.5 * (float(np.abs(d1).mean()) + float(np.abs(d2).mean()))


def _prism_points(params: np.ndarray, p: float) -> np.ndarray:
    """The bottom and top sections of a prism as (2 * SECTION_POINTS, 3) world points."""
    sec = _section(params, p)
    n = len(sec)
    pts = np.empty((2 * n, 3))
    pts[:n, 0] = pts[n:, 0] = sec[:, 0]
    pts[:n, 2] = pts[n:, 2] = sec[:, 1]
    pts[:n, 1], pts[n:, 1] = params[2], params[3]
    return pts


def _poses(rig: Rig) -> tuple[np.ndarray, np.ndarray]:
    """All views' (R, C) of ``Rig.pose`` at once (the fit calls this for every candidate camera).

    In closed form: the camera at unit distance looks at the origin, right = (cos a, 0, -sin a) and
    up = right x forward = (-sin e sin a, cos e, -sin e cos a).
    """
    a = np.asarray(rig.azimuths, dtype=np.float64)
    ce, se = math.cos(rig.elevation), math.sin(rig.elevation)
    sa, ca = np.sin(a), np.cos(a)
    centre = np.stack([ce * sa, np.full_like(a, se), ce * ca], 1)
    zero = np.zeros_like(a)
    right = np.stack([ca, zero, -sa], 1)
    up = np.stack([-se * sa, np.full_like(a, ce), -se * ca], 1)
    return np.stack([right, up, -centre], 1), centre


def _silhouettes(rig: Rig, params: np.ndarray, p: float) -> list[np.ndarray | None]:
    """Each view's silhouette polygon of the prism (convex hull of its projected sections)."""
    rot, centre = _poses(rig)
    cam = (_prism_points(params, p)[None] - centre[:, None]) @ rot.transpose(0, 2, 1)
    z = np.maximum(cam[..., 2], 1e-6)
    xy = np.stack([rig.cx + rig.focal * cam[..., 0] / z, rig.cy - rig.focal * cam[..., 1] / z], -1)
    out: list[np.ndarray | None] = []
    for v in xy:
        try:
            out.append(v[ConvexHull(v).vertices])
        except QhullError:
            out.append(None)
    return out


def _errors(rig: Rig, views: list[_View], params: np.ndarray, p: float) -> list[float]:
    """Each view's two-sided boundary distance (``_View.error``), all views in one padded batch."""
    polys = _silhouettes(rig, params, p)
    if any(poly is None for poly in polys):
        return [1e3 if poly is None else v.error(poly) for v, poly in zip(views, polys, strict=True)]
    nv, m = len(views), max(len(poly) for poly in polys)  # type: ignore[arg-type]
    # pad each polygon by repeating its first edge: a duplicate half-plane leaves the max unchanged, and the
    # duplicate's outline samples get weight 0
    poly = np.empty((nv, m, 2))
    nxt = np.empty((nv, m, 2))
    keep = np.zeros((nv, m))
    for k, q in enumerate(polys):
        n = len(q)  # type: ignore[arg-type]
        poly[k, :n], nxt[k, :n] = q, np.roll(q, -1, 0)
        poly[k, n:], nxt[k, n:] = q[0], q[1 % n]  # type: ignore[index]
        keep[k, :n] = 1.0
    edge = nxt - poly
    pts = poly[:, :, None] + edge[:, :, None] * _EDGE_T[None, None, :, None]  # V, M, T, 2
    idx = np.broadcast_to(np.arange(nv, dtype=np.float64)[:, None, None], pts.shape[:3])
    d1 = ndimage.map_coordinates(
        _stacked_sdf(views), [idx, pts[..., 1] - 0.5, pts[..., 0] - 0.5], order=1, mode="nearest"
    )
    e1 = (np.abs(d1) * keep[..., None]).sum((1, 2)) / (keep.sum(1) * len(_EDGE_T))
    normal = np.stack([edge[..., 1], -edge[..., 0]], -1)
    normal /= np.maximum(np.linalg.norm(normal, axis=-1, keepdims=True), 1e-9)
    e2 = np.empty(nv)
    for k, v in enumerate(views):
        nk = normal[k]
        if np.mean(((v.outline.mean(0) - poly[k]) * nk).sum(1)) > 0:
            nk = -nk  # outward normals whatever the vertex order
        d2 = (v.outline @ nk.T - (poly[k] * nk).sum(1)[None]).max(1)
        e2[k] = np.abs(d2).mean()
    return [float(x) for x in 0.5 * (e1 + e2)]


_SDF_STACK: list = []  # [(views, stack)]: the last fit's views, held so their ids cannot be reused


def _stacked_sdf(views: list[_View]) -> np.ndarray:
    """The views' signed distance images as one (V, H, W) array (cached for the views of the current fit).

    The cache holds the views themselves and compares by identity: an id() key alone can be reused by a later
    job's views once the earlier ones are freed, and would hand that job another product's silhouettes.
    """
    if _SDF_STACK and len(_SDF_STACK[0][0]) == len(views):
        held, stack = _SDF_STACK[0]
        if all(a is b for a, b in zip(held, views, strict=True)):
            return stack
    stack = np.stack([v.sdf for v in views])
    _SDF_STACK[:] = [(list(views), stack)]
    return stack


def initial_params(occ: np.ndarray, origin: np.ndarray, voxel: float) -> list[np.ndarray]:
    """Starting prisms from a carved occupancy grid (X, Y, Z): its bounding box and the yaw of its middle."""
    idx = np.argwhere(occ)
    if len(idx) < 8:
        return []
    lo = origin + idx.min(0) * voxel
    hi = origin + (idx.max(0) + 1) * voxel
    ys = idx[:, 1]
    mid = idx[np.abs(ys - np.median(ys)) <= max(1, 0.15 * (ys.max() - ys.min()))][:, [0, 2]].astype(float)
    cov = np.cov((mid - mid.mean(0)).T)
    evals, evecs = np.linalg.eigh(cov)
    yaw = math.atan2(-evecs[1, 1], evecs[0, 1])  # major axis direction in (x, z)
    proj = (mid - mid.mean(0)) @ evecs
    half = (proj.max(0) - proj.min(0) + 1) * voxel / 2
    cx, cz = origin[[0, 2]] + (mid.mean(0) + 0.5) * voxel
    starts = [np.array([cx, cz, lo[1], hi[1], half[1], half[0], yaw])]
    if evals[1] < 1.2 * evals[0]:  # a square or round footprint has no principal direction: try axis-aligned
        box = [
            (lo[0] + hi[0]) / 2,
            (lo[2] + hi[2]) / 2,
            lo[1],
            hi[1],
            (hi[0] - lo[0]) / 2,
            (hi[2] - lo[2]) / 2,
        ]
        starts.append(np.array([*box, 0.0]))
    return starts


def yaw_starts(
    rig: Rig, views: list[_View], start: np.ndarray, p: float, *, keep: int = 2
) -> list[np.ndarray]:
    """Cuboid starts at the best few yaws of a 7.5 deg grid, judged by every view's silhouette.

    Four views 90 deg apart carve a turned box into roughly its axis-aligned bounding rectangle, so the carve's
    principal axes say nothing about the yaw; the top face's outline in the photos does. For each yaw the
    half-axes follow from the rectangle's half-extents (hx, hz) = (a|cos| + b|sin|, a|sin| + b|cos|).
    """
    cx, cz, y0, y1, a0, b0, yaw0 = start
    c0, s0 = abs(math.cos(yaw0)), abs(math.sin(yaw0))
    hx, hz = a0 * c0 + b0 * s0, a0 * s0 + b0 * c0  # the start's own bounding rectangle
    scored = []
    for yaw in np.radians(np.arange(0.0, 90.0, 7.5)):
        c, s = math.cos(yaw), math.sin(yaw)
        det = c * c - s * s
        if abs(det) < 0.25:  # near 45 deg the extents only give a + b
            a = b = (hx + hz) / (2 * (c + s))
        else:
            a, b = (hx * c - hz * s) / det, (hz * c - hx * s) / det
        a, b = max(a, 0.15 * hx), max(b, 0.15 * hz)
        par = np.array([cx, cz, y0, y1, a, b, yaw])
        scored.append((float(np.mean(_errors(rig, views, par, p))), par))
    scored.sort(key=lambda e: e[0])
    return [par for _, par in scored[:keep]]


def _with_camera(rig: Rig, cam: np.ndarray) -> Rig:
    """``rig`` with its elevation shifted by cam[0] radians and its focal length scaled by exp(cam[1])."""
    return replace(rig, elevation=rig.elevation + float(cam[0]), focal=rig.focal * math.exp(float(cam[1])))


def _refocused(params: np.ndarray, cam: np.ndarray, log_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """A start at focal length x exp(log_scale), the prism shrunk to keep about the same size in the photos."""
    k = math.exp(-log_scale)
    par = params.copy()
    par[:6] *= k
    return par, cam + np.array([0.0, log_scale])


def _fit(
    rig: Rig,
    views: list[_View],
    starts: list[tuple[np.ndarray, np.ndarray]],
    p: float,
    max_evals: int,
    step: float,
    refine_camera: bool,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Nelder-Mead from each (prism, camera) start; returns (error, prism, camera) of the best."""
    best = None
    dims = 9 if refine_camera else 7
    for x0, cam0 in starts:
        scale = max(float(x0[4]), float(x0[5]), 1e-3)
        unit = np.array([scale] * 6 + [1.0])

        def split(z, x0=x0, cam0=cam0, unit=unit):
            cam = cam0 + (z[7:] if refine_camera else 0.0)
            return x0 + z[:7] * unit, cam

        def loss(z):
            par, cam = split(z)
            if par[4] <= 0 or par[5] <= 0 or par[3] <= par[2] or abs(cam[0]) > 0.2 or abs(cam[1]) > 0.7:
                return 1e3
            return float(np.mean(_errors(_with_camera(rig, cam), views, par, p)))

        # scipy's default simplex around zeros is ~1e-4 wide: it would never leave the start;
        # the camera moves by ~2 deg of elevation and ~5 % of focal length per step
        widths = [0.8, 0.8, 0.8, 0.8, 1.0, 1.0, 1.5, 0.35, 0.5][:dims]
        simplex = np.vstack([np.zeros(dims), step * np.diag(widths)])
        res = minimize(
            loss,
            np.zeros(dims),
            method="Nelder-Mead",
            options={"maxfev": max_evals, "xatol": 1e-3, "fatol": 2e-3, "initial_simplex": simplex},
        )
        if best is None or res.fun < best[0]:
            par, cam = split(res.x)
            best = (float(res.fun), par, cam)
    assert best is not None
    return best


def fit_solids(
    rig: Rig,
    masks: list[np.ndarray],
    starts: list[np.ndarray],
    *,
    first: str = "cuboid",
    max_evals: int = 200,
    refine_camera: bool = False,
    polish_below_px: float = 3.0,
) -> list[SolidFit]:
    """Fit each kind of EXPONENTS: ``first`` from the starts, the others warm-started from it; best first.

    With ``refine_camera`` the elevation and focal length are fitted too (several views of an exact solid pin
    them down better than the calibration's cues); each fit carries its own rig. A cuboid within
    ``polish_below_px`` after the first simplex gets a second one (a fit far off will be refused anyway).
    """
    views = [_View(m) for m in masks]
    order = [first, *[k for k in EXPONENTS if k != first]]
    fits: list[SolidFit] = []
    zero = np.zeros(2)
    for i, kind in enumerate(order):
        p = EXPONENTS[kind]
        own = [(x, zero) for x in starts] if i == 0 else [(fits[0].params, fits[0].camera)]
        if kind == "cuboid":
            # the carve's own starts (or the other kind's fit) compete with the yaw grid's best; the simplex
            # runs from the two that explain the silhouettes best
            cam = own[0][1]
            turned = yaw_starts(_with_camera(rig, cam), views, starts[0], p)
            cands = [*own, *((x, cam) for x in turned)]
            if (
                refine_camera
            ):  # the calibrated focal length may be far off: try it 30 % shorter and longer too
                cands += [
                    _refocused(x, cam, k) for x, cam in cands[:1] + cands[len(own) :][:1] for k in (-0.3, 0.3)
                ]
            cands.sort(key=lambda c: float(np.mean(_errors(_with_camera(rig, c[1]), views, c[0], p))))
            err, par, cam = _fit(rig, views, cands[:2], p, max_evals, 0.1, refine_camera)
            if err <= polish_below_px:  # a restart from the best point: the simplex often collapses early
                err, par, cam = _fit(rig, views, [(par, cam)], p, max_evals // 2, 0.03, refine_camera)
        elif i == 0:
            err, par, cam = _fit(rig, views, own, p, max_evals, 0.1, refine_camera)
        else:
            err, par, cam = _fit(rig, views, own, p, (2 * max_evals) // 3, 0.06, refine_camera)
        fit_rig = _with_camera(rig, cam)
        fits.append(SolidFit(kind, par, p, err, _errors(fit_rig, views, par, p), cam, fit_rig))
    fits.sort(key=lambda f: f.error_px)
    return fits


MIN_SECTION_ASPECT = 0.15  # a section thinner than this (depth / width) is a sheet, not a solid product


# a cylinder's silhouette error within this factor of the best box's: the views do not show a box
AMBIGUOUS_RATIO = 1.3
# A box with rounded edges (a folded sweater, a stack of towels) misses a sharp box's outline by a pixel or two
# along its edges; it is taken for a box up to this multiple of the error limit when every cylinder explains the
# photos at least ROUNDED_BOX_MARGIN times worse (a jar's lid or a can's rim come nowhere near that).
ROUNDED_BOX_SCALE = 1.5
ROUNDED_BOX_MARGIN = 2.5


def choose(fits: list[SolidFit], *, max_error_px: float, prefer: str | None) -> SolidFit | None:
    """The best fit if it explains every view; the title's kind wins a near-tie (within 15 %). A rounded box
    passes on a looser limit when nothing round comes close (ROUNDED_BOX_SCALE, ROUNDED_BOX_MARGIN).

    A fit whose section is a sheet is refused: one photo does not constrain the depth, and the simplex can
    flatten an elliptic cylinder until its outline matches a box face-on (a shoe box became a 2 cm disc).
    """
    solid = [
        f for f in fits if min(f.params[4], f.params[5]) >= MIN_SECTION_ASPECT * max(f.params[4], f.params[5])
    ]
    ok = [f for f in solid if f.error_px <= max_error_px and max(f.per_view_px) <= 2 * max_error_px]
    cylinders = [f.error_px for f in solid if f.kind == "cylinder"]
    if not ok and cylinders:
        loose = ROUNDED_BOX_SCALE * max_error_px
        ok = [
            f
            for f in solid
            if f.kind == "cuboid"
            and f.error_px <= loose
            and max(f.per_view_px) <= 2 * loose
            and min(cylinders) >= ROUNDED_BOX_MARGIN * f.error_px
        ]
    if not ok:
        return None
    best = ok[0]
    if prefer is not None:
        for f in ok:
            if f.kind == prefer and f.error_px <= 1.15 * best.error_px:
                return f
    # A box must beat the cylinder clearly. Face-on, the two cast the same side outlines; only a box's straight
    # top edges tell them apart, and a round product with a lid or shoulders fits neither exactly, so a
    # near-tie went to the box and put corners where a lidded jar has none (F@0.02 0.19). The carved hull
    # stays then, unless the title named the kind (decided above).
    if best.kind == "cuboid" and cylinders and min(cylinders) <= AMBIGUOUS_RATIO * best.error_px:
        return None
    return best
