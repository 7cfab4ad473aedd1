"""A superellipse prism's outlines in the photos, and how far each is from the photo's silhouette.

The exact-shape fits (`generation/solids.py`) score thousands of candidate prisms per job, many at once: each
candidate's top and bottom sections are projected through every view's camera (its own elevation and focal
length shift, ``cams``), each view's outline is the convex hull of the projection, and its distance to the
silhouette is two-sided: the outline sampled -> the mask's signed distance image, and the mask's outline ->
the convex polygon. Everything is batched over candidates except Qhull, one call per outline.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

from .cameras import Rig

SECTION_POINTS = 48
_EDGE_T = np.arange(6) / 6  # samples along each hull edge (edges are short: 48-point sections)


@lru_cache(maxsize=32)
def unit_section(p: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The unit superellipse |x|^p + |z|^p = 1 at n angles (cached: a fit evaluates one p thousands of times)."""
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    x = np.sign(c) * np.abs(c) ** (2 / p)
    z = np.sign(s) * np.abs(s) ** (2 / p)
    x.flags.writeable = z.flags.writeable = False
    return x, z


def section(params: np.ndarray, p: float, n: int = SECTION_POINTS) -> np.ndarray:
    cx, cz, _, _, a, b, yaw = params
    ux, uz = unit_section(float(p), n)
    x, z = a * ux, b * uz
    cy, sy = math.cos(yaw), math.sin(yaw)
    return np.stack([cx + cy * x + sy * z, cz - sy * x + cy * z], 1)


class SilhouetteView:
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


def prism_points(params: np.ndarray, p: float) -> np.ndarray:
    """The bottom and top sections of a prism as (2 * SECTION_POINTS, 3) world points."""
    return prisms_points(params[None], p)[0]


def prisms_points(params: np.ndarray, p: float) -> np.ndarray:
    """The bottom and top sections of K prisms ((K, 7) parameters) as (K, 2 * SECTION_POINTS, 3) points."""
    ux, uz = unit_section(float(p), SECTION_POINTS)
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


def poses(elevations: np.ndarray, azimuths: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
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


def outlines(
    rig: Rig, params: np.ndarray, cams: np.ndarray | None, p: float
) -> list[list[np.ndarray | None]]:
    """[view][candidate] silhouette polygons of K prisms, each seen by the rig with its own camera shift
    (``_with_camera``; None: the rig's own camera): convex hulls of the projected sections, counter-clockwise,
    None where degenerate."""
    k = len(params)
    elev = np.full(k, rig.elevation) if cams is None else rig.elevation + cams[:, 0]
    focal = np.full(k, rig.focal) if cams is None else rig.focal * np.exp(cams[:, 1])
    rot, centre = poses(elev, rig.azimuths)
    pts = prisms_points(params, p)
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


def silhouettes(rig: Rig, params: np.ndarray, p: float) -> list[np.ndarray | None]:
    """Each view's silhouette polygon of the prism (convex hull of its projected sections)."""
    return [polys[0] for polys in outlines(rig, params[None], None, p)]


def batch_errors(
    rig: Rig, views: list[SilhouetteView], params: np.ndarray, cams: np.ndarray | None, p: float
) -> np.ndarray:
    """(K, V) two-sided boundary distances (``SilhouetteView.errors``) of K prisms, each with its own camera shift."""
    polys = outlines(rig, params, cams, p)
    return np.stack([v.errors(per_view) for v, per_view in zip(views, polys, strict=True)], 1)


def errors(rig: Rig, views: list[SilhouetteView], params: np.ndarray, p: float) -> list[float]:
    """Each view's two-sided boundary distance of one prism."""
    return [float(e) for e in batch_errors(rig, views, params[None], None, p)[0]]
