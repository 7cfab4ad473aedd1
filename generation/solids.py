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

import numpy as np

from .cameras import Rig
from .prism_outlines import SilhouetteView, batch_errors, errors
from .simplex import minimize_many

EXPONENTS = {"cylinder": 2.0, "cuboid": 12.0}


@dataclass
class SolidFit:
    kind: str
    params: np.ndarray  # cx, cz, y0, y1, a, b, yaw
    p: float
    error_px: float  # mean two-sided boundary distance over the views
    per_view_px: list[float]
    camera: np.ndarray  # (elevation shift in radians, log focal scale) against the calibrated rig
    rig: Rig  # the rig the fit was judged with (the calibrated one, or refined with ``camera``)


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
    rig: Rig, views: list[SilhouetteView], start: np.ndarray, p: float, *, keep: int = 2
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
    err = batch_errors(rig, views, np.stack(pars), None, p).mean(1)
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
    views: list[SilhouetteView],
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
            out[ok] = batch_errors(rig, views, par[ok], cam[ok], p).mean(1)
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
    views = [SilhouetteView(m) for m in masks]
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
            screen = batch_errors(
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
        fits.append(SolidFit(kind, par, p, err, errors(fit_rig, views, par, p), cam, fit_rig))
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
