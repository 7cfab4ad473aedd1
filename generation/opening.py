"""Open containers: find a cup's opening in the photos and hollow the carved hull to match.

Silhouettes cannot see a concavity: the carved hull of a mug is a solid cylinder, and ~40 % of the real
surface (the inner wall and floor) is missing. Seen from above (elevation >= ~12 deg), the opening shows in the
photos themselves: inside the top section's outline lies a thin band (the rim's flat top), then a ring where the
colour drops sharply (the inner edge of the rim) and a darker interior (the inside is shaded by the wall).

`find_opening` projects concentric rings of the carved hull's top section (scale s of its outline, at the rim's
height) into every real photo and measures the median luminance on each ring. An opening is a sharp drop at one
scale s_in (the inner radius over the outer), the same in at least half the photos, with an interior at
least `OpeningConfig.min_contrast` darker than the rim band. A lid instead reads as one level, or as printed
rings that disagree between photos. The product's title (a mug, a cup, a bowl) may lower the contrast needed,
never replace the measurement. `hollow` then subtracts the interior from the field: an elliptic cylinder of
the inner outline, open at the top, down to a floor whose thickness is a prior (the floor itself is rarely seen:
at elevation e the inner back wall shows only 2 r tan(e) deep).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .cameras import Rig
from .config import OpeningConfig
from .geometry import Volume
from .solids import SolidFit

_SCALES = np.round(np.arange(0.40, 1.0001, 0.02), 4)
_ANGLES = np.linspace(0.0, 2 * math.pi, 96, endpoint=False)


@dataclass(frozen=True)
class Top:
    """The outline of a round or oval top: where the rings are drawn."""

    centre: tuple[float, float]  # world x, z
    radii: tuple[float, float]  # half-extents along the section's axes
    yaw: float  # the section's axes against world x, z (radians)
    rim_y: float
    bottom_y: float

    def ring(self, scale: np.ndarray, angles: np.ndarray) -> np.ndarray:
        """World points (len(scale) * len(angles), 3) on the concentric outlines at ``scale``."""
        s = np.asarray(scale, dtype=np.float64)[:, None]
        x = s * self.radii[0] * np.cos(angles)[None]
        z = s * self.radii[1] * np.sin(angles)[None]
        cy, sy = math.cos(self.yaw), math.sin(self.yaw)
        wx = self.centre[0] + cy * x + sy * z
        wz = self.centre[1] - sy * x + cy * z
        return np.stack([wx.ravel(), np.full(wx.size, self.rim_y), wz.ravel()], 1)


@dataclass(frozen=True)
class Opening:
    top: Top
    inner_scale: float  # inner outline / outer outline
    floor_y: float  # world height of the interior's floor (or of a liquid's surface)
    contrast: float  # (rim - interior) / rim luminance, the weakest view's
    views: int  # photos that showed the opening


@dataclass(frozen=True)
class RingProfile:
    view: int
    luminance: np.ndarray  # median luminance per scale in _SCALES (nan where the ring left the photo's mask)
    inner_scale: float
    contrast: float


def carved_top(vol: Volume) -> Top | None:
    """The carved hull's top section when it is round or oval and as wide as the body (no neck, no cap)."""
    occ = (vol.field < 0).cpu().numpy()
    area = occ.sum((0, 2))
    rows = np.nonzero(area > 0)[0]
    if len(rows) < 8:
        return None
    top, bottom = int(rows[-1]), int(rows[0])
    j = top - max(1, (top - bottom) // 40)
    if area[j] < 0.6 * area.max():
        return None
    xs, zs = np.nonzero(occ[:, j, :])
    if len(xs) < 30:
        return None
    # an outline that fills its bounding ellipse: round or oval (a box's square top is no cup)
    ax, az = (xs.max() - xs.min() + 1) / 2, (zs.max() - zs.min() + 1) / 2
    if not 0.85 <= len(xs) / (math.pi * ax * az) <= 1.12:
        return None
    o, v = np.asarray(vol.origin, dtype=np.float64), vol.voxel
    return Top(
        centre=(o[0] + (xs.max() + xs.min()) / 2 * v, o[2] + (zs.max() + zs.min()) / 2 * v),
        radii=(ax * v, az * v),
        yaw=0.0,
        rim_y=o[1] + (top + 0.5) * v,
        bottom_y=o[1] + bottom * v,
    )


def solid_top(fit: SolidFit) -> Top | None:
    """The top of a fitted round or oval prism (a cuboid's square top is no cup)."""
    if fit.kind != "cylinder":
        return None
    cx, cz, y0, y1, a, b, yaw = (float(x) for x in fit.params)
    return Top(centre=(cx, cz), radii=(a, b), yaw=yaw, rim_y=y1, bottom_y=y0)


def ring_profiles(
    top: Top, rig: Rig, photos: list[np.ndarray], masks: list[np.ndarray], views: int
) -> list[RingProfile]:
    """Median luminance per ring scale in each of the first `views` photos (see the module docstring)."""
    t_pts = torch.as_tensor(top.ring(_SCALES, _ANGLES), dtype=torch.float64)
    out: list[RingProfile] = []
    for k in range(min(views, len(photos))):
        x, y, _ = rig.project(t_pts, k)
        xi = np.round(x.numpy()).astype(int).reshape(len(_SCALES), -1)
        yi = np.round(y.numpy()).astype(int).reshape(len(_SCALES), -1)
        img, m = photos[k], masks[k]
        h, w = m.shape
        ok = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        xi, yi = np.clip(xi, 0, w - 1), np.clip(yi, 0, h - 1)
        ok &= m[yi, xi]
        lum = img[yi, xi].astype(np.float64).mean(-1) / 255.0
        prof = np.array(
            [np.median(lum[i][ok[i]]) if ok[i].mean() > 0.8 else np.nan for i in range(len(_SCALES))]
        )
        out.append(RingProfile(k, prof, *_step(prof)))
    return out


def _step(prof: np.ndarray) -> tuple[float, float]:
    """(inner scale, contrast) of the sharpest bright-outside/dark-inside step of a ring profile."""
    best = (math.nan, 0.0)
    for i, s_in in enumerate(_SCALES):
        if not 0.70 <= s_in <= 0.96:
            continue
        rim = prof[i + 1 : len(_SCALES) - 1]
        inner = prof[max(0, i - 8) : max(0, i - 1)]
        if len(rim) < 1 or len(inner) < 3 or np.isnan(rim).any() or np.isnan(inner).any():
            continue
        r, q = float(np.median(rim)), float(np.median(inner))
        if r <= 0.05:
            continue
        c = (r - q) / r
        if c > best[1]:
            best = (float(s_in), c)
    return best


def find_opening(
    top: Top | None,
    rig: Rig,
    photos: list[np.ndarray],
    masks: list[np.ndarray],
    *,
    views: int,
    title_says_container: bool,
    config: OpeningConfig,
) -> Opening | None:
    """The opening inside `top` (from `carved_top` or `solid_top`), or None (see the module docstring).
    `photos` are RGB at the masks' size; only the first `views` are real photos."""
    if top is None or not config.detect or math.degrees(rig.elevation) < config.min_elevation_deg:
        return None
    profiles = ring_profiles(top, rig, photos, masks, views)
    need = config.min_contrast_titled if title_says_container else config.min_contrast
    seen = [p for p in profiles if not math.isnan(p.inner_scale) and p.contrast >= need]
    # at least half the photos: a light behind the camera in one view can brighten the inside to the rim's
    # level there
    if not seen or 2 * len(seen) < len(profiles):
        return None
    scales = np.array([p.inner_scale for p in seen])
    weakest = min(p.contrast for p in seen)
    if scales.max() - scales.min() > config.max_scale_spread:
        return None
    s_in = float(np.median(scales))
    depths = [
        d
        for p in seen
        if (d := _visible_depth(top, s_in, rig, photos[p.view], p.view, config.min_floor_step)) is not None
    ]
    deepest = (1 - config.floor_fraction) * (top.rim_y - top.bottom_y)
    # a floor (or a liquid) seen by most of the photos; one photo's step is a print or a reflection
    depth = min(float(np.median(depths)), deepest) if 2 * len(depths) > len(seen) else deepest
    return Opening(
        top=top,
        inner_scale=s_in,
        floor_y=top.rim_y - depth,
        contrast=round(float(weakest), 3),
        views=len(seen),
    )


def _visible_depth(
    top: Top, s_in: float, rig: Rig, photo: np.ndarray, k: int, min_step: float
) -> float | None:
    """How deep the interior's floor (or a liquid) lies, from where the view into the opening changes colour.

    Along the opening's diameter that points at the camera, a pixel a fraction t of the way from the far rim
    to the near rim sees the far inner wall (t 2 r tan e) below the rim, until the floor or a liquid surface
    hides it: a colour step at t means a floor that deep. No step: the floor is deeper than 2 r tan e and
    cannot be seen (None).
    """
    a, e = rig.azimuths[k], rig.elevation
    toward = np.array([math.sin(a), 0.0, math.cos(a)])
    (cx, cz), (rx, rz) = top.centre, top.radii
    r = s_in * 0.5 * (rx + rz)
    t = np.linspace(0.04, 0.8, 39)  # short of the near rim: its band would read as a floor
    centre = np.array([cx, top.rim_y, cz])
    pts = centre[None] + (2 * t[:, None] - 1) * r * toward[None]  # far (t=0) to near (t=1)
    x, y, _ = rig.project(torch.as_tensor(pts, dtype=torch.float64), k)
    h, w = photo.shape[:2]
    xi = np.clip(np.round(x.numpy()).astype(int), 0, w - 1)
    yi = np.clip(np.round(y.numpy()).astype(int), 0, h - 1)
    col = photo[yi, xi].astype(np.float64) / 255.0
    best, at = 0.0, -1
    for i in range(4, len(t) - 4):
        step = float(np.linalg.norm(np.median(col[i - 4 : i], 0) - np.median(col[i : i + 4], 0)))
        if step > best:
            best, at = step, i
    if best < min_step:
        return None
    return float(t[at] * 2 * r * math.tan(e))


def _inner_reach(occ: np.ndarray, ci: int, ck: int) -> tuple[np.ndarray, np.ndarray]:
    """Per height row: voxels from the axis (ci, ck) to the slice's nearest empty voxel along x and along z."""
    rx = np.zeros(occ.shape[1])
    rz = np.zeros(occ.shape[1])
    for line, c, out in ((occ[:, :, ck], ci, rx), (occ[ci, :, :].T, ck, rz)):
        for j in range(occ.shape[1]):
            col = line[:, j]
            if not col[c]:
                continue
            empty = np.nonzero(~col)[0]
            lo = empty[empty < c]
            hi = empty[empty > c]
            out[j] = min(c - (lo.max() if len(lo) else -1), (hi.min() if len(hi) else len(col)) - c)
    return rx, rz


def hollow(vol: Volume, opening: Opening, *, min_wall_voxels: float = 1.5) -> None:
    """Subtract the opening's interior (open upwards) from the field, in place. At every height the interior
    stays a wall's thickness inside the hull (a carve narrower below its rim is not cut through)."""
    f = vol.field
    o = np.asarray(vol.origin, dtype=np.float64)
    v = vol.voxel
    dev, dt = f.device, f.dtype
    top = opening.top
    wall = max(min(top.radii) * (1 - opening.inner_scale), min_wall_voxels * v)
    cx, cz = top.centre
    ci = int(np.clip(round((cx - o[0]) / v), 0, f.shape[0] - 1))
    ck = int(np.clip(round((cz - o[2]) / v), 0, f.shape[2] - 1))
    reach_x, reach_z = _inner_reach((f < 0).cpu().numpy(), ci, ck)
    ax = np.minimum(top.radii[0] - wall, reach_x * v - wall)
    az = np.minimum(top.radii[1] - wall, reach_z * v - wall)
    ys = o[1] + np.arange(f.shape[1]) * v
    open_rows = (ax > v) & (az > v) & (ys >= opening.floor_y)
    if not open_rows.any():
        return
    # the interior must reach the rim (the carve's last row above the floor): below a neck, a closed row
    # between the floor and the rim, nothing is hollowed
    first = int(np.nonzero(open_rows)[0].min())
    ends = np.nonzero((np.arange(len(open_rows)) > first) & (reach_x == 0) & (reach_z == 0))[0]
    rim = int(ends[0]) - 1 if len(ends) else len(open_rows) - 1
    necks = np.nonzero(~open_rows[first : rim + 1])[0]
    if len(necks):
        open_rows[: first + int(necks[-1]) + 1] = False
    t = lambda a: torch.as_tensor(a, device=dev, dtype=dt).view(1, -1, 1)  # noqa: E731
    x = torch.as_tensor(o[0] + np.arange(f.shape[0]) * v, device=dev, dtype=dt).view(-1, 1, 1)
    z = torch.as_tensor(o[2] + np.arange(f.shape[2]) * v, device=dev, dtype=dt).view(1, 1, -1)
    a_t, b_t = t(np.maximum(ax, v)), t(np.maximum(az, v))
    radial = (torch.sqrt(((x - cx) / a_t) ** 2 + ((z - cz) / b_t) ** 2) - 1) * torch.minimum(a_t, b_t)
    floor = t(ys) - float(opening.floor_y)
    rows = torch.as_tensor(open_rows, device=dev).view(1, -1, 1)
    inside = torch.where(rows, torch.maximum(radial, -floor), torch.full_like(radial, v))
    f.copy_(torch.maximum(f, -inside))
