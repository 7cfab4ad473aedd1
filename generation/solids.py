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
from scipy.spatial import ConvexHull, QhullError

from .cameras import Rig
from .simplex import minimize_many

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
        self.sdf = np.where(mask, -(inside - 0.5), outside - 0.5)
        self.height, self.width = mask.shape
        self._flat = self.sdf.ravel()
        edge = mask & ~ndimage.binary_erosion(mask)
        ys, xs = np.nonzero(edge)
        step = max(1, len(xs) // 200)
        self.outline = np.stack([xs[::step] + 0.5, ys[::step] + 0.5], 1)

    def sample(self, pts: np.ndarray) -> np.ndarray:
        """The signed distance at (M, 2) pixel points: bilinear, clamped at the border (scipy's
        map_coordinates(order=1, mode="nearest") without its per-call overhead)."""
        h, w = self.height, self.width
        r = np.clip(pts[:, 1] - 0.5, 0.0, h - 1.0)
        c = np.clip(pts[:, 0] - 0.5, 0.0, w - 1.0)
        r0 = np.minimum(r.astype(np.intp), h - 2)
        c0 = np.minimum(c.astype(np.intp), w - 2)
        fr, fc = r - r0, c - c0
        i = r0 * w + c0
        a = self._flat
        top = a[i] + fc * (a[i + 1] - a[i])
        bottom = a[i + w] + fc * (a[i + w + 1] - a[i + w])
        return top + fr * (bottom - top)

    def errors(self, polys: list[np.ndarray | None]) -> np.ndarray:
        """The two-sided boundary distance of each counter-clockwise convex polygon (1e3 for None): its outline
        sampled every ~1.5 px -> |signed distance|, and this mask's outline -> signed distance to the polygon
        (the max over its edges' half-planes), averaged. All polygons in one batch."""
        out = np.full(len(polys), 1e3)
        good = [k for k, q in enumerate(polys) if q is not None]
        if not good:
            return out
        sizes = np.array([len(polys[k]) for k in good])  # type: ignore[arg-type]
        first = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        verts = np.concatenate([polys[k] for k in good])  # type: ignore[misc]
        nxt = np.arange(1, len(verts) + 1)
        nxt[first + sizes - 1] = first
        edge = verts[nxt] - verts
        pts = (verts[:, None, :] + edge[:, None, :] * _EDGE_T[None, :, None]).reshape(-1, 2)
        per_edge = np.abs(self.sample(pts)).reshape(len(verts), len(_EDGE_T)).sum(1)
        e1 = np.add.reduceat(per_edge, first) / (sizes * len(_EDGE_T))
        # outward normals: Qhull lists a 2-D hull's vertices counter-clockwise
        normal = np.stack([edge[:, 1], -edge[:, 0]], 1)
        normal /= np.maximum(np.sqrt((normal * normal).sum(1)), 1e-9)[:, None]
        dist = self.outline @ normal.T - (verts * normal).sum(1)
        e2 = np.abs(np.maximum.reduceat(dist, first, axis=1)).mean(0)
        out[good] = 0.5 * (e1 + e2)
        return out


def _prism_points(params: np.ndarray, p: float) -> np.ndarray:
    """The bottom and top sections of a prism as (2 * SECTION_POINTS, 3) world points."""
    return _prisms_points(params[None], p)[0]


def _prisms_points(params: np.ndarray, p: float) -> np.ndarray:
    """The bottom and top sections of K prisms ((K, 7) parameters) as (K, 2 * SECTION_POINTS, 3) points."""
    ux, uz = _unit_section(float(p), SECTION_POINTS)
    cx, cz, y0, y1, a, b, yaw = (params[:, i : i + 1] for i in range(7))
    x, z = a * ux, b * uz
    cy, sy = np.cos(yaw), np.sin(yaw)
    sx, sz = cx + cy * x + sy * z, cz - sy * x + cy * z
    n = len(ux)
    pts = np.empty((len(params), 2 * n, 3))
    pts[:, :n, 0] = pts[:, n:, 0] = sx
    pts[:, :n, 2] = pts[:, n:, 2] = sz
    pts[:, :n, 1], pts[:, n:, 1] = y0, y1
    return pts


def _poses(elevations: np.ndarray, azimuths: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Every view's (R, C) of ``Rig.pose`` for each of K elevations: (K, V, 3, 3) and (K, V, 3).

    In closed form: the camera at unit distance looks at the origin, right = (cos a, 0, -sin a) and
    up = right x forward = (-sin e sin a, cos e, -sin e cos a).
    """
    a = np.asarray(azimuths, dtype=np.float64)[None]
    ce, se = np.cos(elevations)[:, None], np.sin(elevations)[:, None]
    sa, ca = np.sin(a), np.cos(a)
    k, v = len(elevations), a.shape[1]
    rot = np.empty((k, v, 3, 3))
    rot[:, :, 0, 0], rot[:, :, 0, 1], rot[:, :, 0, 2] = ca, 0.0, -sa
    rot[:, :, 1, 0], rot[:, :, 1, 1], rot[:, :, 1, 2] = -se * sa, ce, -se * ca
    rot[:, :, 2, 0], rot[:, :, 2, 1], rot[:, :, 2, 2] = -ce * sa, -se, -ce * ca
    return rot, -rot[:, :, 2]


def _outlines(
    rig: Rig, params: np.ndarray, cams: np.ndarray | None, p: float
) -> list[list[np.ndarray | None]]:
    """[view][candidate] silhouette polygons of K prisms, each seen by the rig with its own camera shift
    (``_with_camera``; None: the rig's own camera): convex hulls of the projected sections, counter-clockwise,
    None where degenerate."""
    k = len(params)
    elev = np.full(k, rig.elevation) if cams is None else rig.elevation + cams[:, 0]
    focal = np.full(k, rig.focal) if cams is None else rig.focal * np.exp(cams[:, 1])
    rot, centre = _poses(elev, rig.azimuths)
    pts = _prisms_points(params, p)
    cam = (pts[:, None] - centre[:, :, None]) @ rot.transpose(0, 1, 3, 2)  # K, V, 2N, 3
    z = np.maximum(cam[..., 2], 1e-6)
    f = focal[:, None, None]
    xy = np.stack([rig.cx + f * cam[..., 0] / z, rig.cy - f * cam[..., 1] / z], -1)
    out: list[list[np.ndarray | None]] = [[None] * k for _ in range(xy.shape[1])]
    for i in range(k):
        for v in range(xy.shape[1]):
            try:
                out[v][i] = xy[i, v][ConvexHull(xy[i, v]).vertices]
            except QhullError:
                pass
    return out


def _silhouettes(rig: Rig, params: np.ndarray, p: float) -> list[np.ndarray | None]:
    """Each view's silhouette polygon of the prism (convex hull of its projected sections)."""
    return [polys[0] for polys in _outlines(rig, params[None], None, p)]


def _batch_errors(
    rig: Rig, views: list[_View], params: np.ndarray, cams: np.ndarray | None, p: float
) -> np.ndarray:
    """(K, V) two-sided boundary distances (``_View.errors``) of K prisms, each with its own camera shift."""
    polys = _outlines(rig, params, cams, p)
    return np.stack([v.errors(per_view) for v, per_view in zip(views, polys, strict=True)], 1)


def _errors(rig: Rig, views: list[_View], params: np.ndarray, p: float) -> list[float]:
    """Each view's two-sided boundary distance of one prism."""
    return [float(e) for e in _batch_errors(rig, views, params[None], None, p)[0]]


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
    pars = []
    for yaw in np.radians(np.arange(0.0, 90.0, 7.5)):
        c, s = math.cos(yaw), math.sin(yaw)
        det = c * c - s * s
        if abs(det) < 0.25:  # near 45 deg the extents only give a + b
            a = b = (hx + hz) / (2 * (c + s))
        else:
            a, b = (hx * c - hz * s) / det, (hz * c - hx * s) / det
        a, b = max(a, 0.15 * hx), max(b, 0.15 * hz)
        pars.append(np.array([cx, cz, y0, y1, a, b, yaw]))
    err = _batch_errors(rig, views, np.stack(pars), None, p).mean(1)
    return [pars[i] for i in np.argsort(err, kind="stable")[:keep]]


def _with_camera(rig: Rig, cam: np.ndarray) -> Rig:
    """``rig`` with its elevation shifted by cam[0] radians and its focal length scaled by exp(cam[1])."""
    return replace(rig, elevation=rig.elevation + float(cam[0]), focal=rig.focal * math.exp(float(cam[1])))


def _refocused(params: np.ndarray, cam: np.ndarray, log_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """A start at focal length x exp(log_scale), the prism shrunk to keep about the same size in the photos."""
    k = math.exp(-log_scale)
    par = params.copy()
    par[:6] *= k
    return par, cam + np.array([0.0, log_scale])


def _fit_each(
    rig: Rig,
    views: list[_View],
    starts: list[tuple[np.ndarray, np.ndarray]],
    p: float,
    max_evals: int,
    step: float,
    refine_camera: bool,
) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """Nelder-Mead from each (prism, camera) start, all in lock-step; (error, prism, camera) of each run."""
    dims = 9 if refine_camera else 7
    x0 = np.stack([x for x, _ in starts])
    cam0 = np.stack([c for _, c in starts])
    unit = np.ones((len(starts), 7))
    unit[:, :6] = np.maximum(np.maximum(x0[:, 4], x0[:, 5]), 1e-3)[:, None]

    def split(z: np.ndarray, runs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cam = cam0[runs] + (z[:, 7:] if refine_camera else 0.0)
        return x0[runs] + z[:, :7] * unit[runs], cam

    def loss(z: np.ndarray, runs: np.ndarray) -> np.ndarray:
        par, cam = split(z, runs)
        ok = (par[:, 4] > 0) & (par[:, 5] > 0) & (par[:, 3] > par[:, 2])
        ok &= (np.abs(cam[:, 0]) <= 0.2) & (np.abs(cam[:, 1]) <= 0.7)
        out = np.full(len(z), 1e3)
        if ok.any():
            out[ok] = _batch_errors(rig, views, par[ok], cam[ok], p).mean(1)
        return out

    # scipy's default simplex around zeros is ~1e-4 wide: it would never leave the start;
    # the camera moves by ~2 deg of elevation and ~5 % of focal length per step
    widths = [0.8, 0.8, 0.8, 0.8, 1.0, 1.0, 1.5, 0.35, 0.5][:dims]
    simplex = np.vstack([np.zeros(dims), step * np.diag(widths)])
    runs = minimize_many(loss, [simplex] * len(starts), max_evals=max_evals, xatol=1e-3, fatol=2e-3)
    out = []
    for i, (z, err) in enumerate(runs):
        par, cam = split(z[None], np.array([i]))
        out.append((err, par[0], cam[0]))
    return out


def _fit(*args, **kwargs) -> tuple[float, np.ndarray, np.ndarray]:
    """The best of ``_fit_each``'s runs, the first of equals (same arguments)."""
    return min(_fit_each(*args, **kwargs), key=lambda r: r[0])


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
            screen = _batch_errors(
                rig, views, np.stack([x for x, _ in cands]), np.stack([c for _, c in cands]), p
            )
            cands = [cands[i] for i in np.argsort(screen.mean(1), kind="stable")]
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
