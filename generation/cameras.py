"""The turntable camera model and its estimation from silhouettes.

Frame: +Y up, the rotation axis of the turntable is the Y axis, the camera looks at the origin from distance 1
(the reconstruction is up to scale until a size is chosen). View ``k`` of ``n`` sits at azimuth 2*pi*k/n,
counter-clockwise seen from above, starting at the front (+Z): position
``(cos e sin a, sin e, cos e cos a)``. Pixels: x right, y down, pixel centres at i + 0.5, principal point
(cx, cy), square pixels with focal length ``focal`` (pixels). Studio photos do not say their elevation or
field of view; the engine uses its prior (10 deg elevation, 30 deg field of view). The reconstruction is
robust to moderate errors in both (see bench/README.md); the base's front rim gives the depth of a product
seen in one photo (``base_depth_ratio``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Rig:
    n_views: int
    elevation: float  # radians
    focal: float  # pixels at (width, height)
    cx: float
    cy: float
    width: int
    height: int
    azimuths: tuple[float, ...]

    @classmethod
    def turntable(
        cls,
        n_views: int,
        *,
        elevation_deg: float,
        fov_deg: float,
        width: int,
        height: int,
        cx: float | None = None,
        cy: float | None = None,
    ) -> Rig:
        focal = (height / 2) / math.tan(math.radians(fov_deg) / 2)
        az = tuple(2 * math.pi * k / n_views for k in range(n_views))
        return cls(
            n_views,
            math.radians(elevation_deg),
            focal,
            width / 2 if cx is None else cx,
            height / 2 if cy is None else cy,
            width,
            height,
            az,
        )

    @property
    def fov_deg(self) -> float:
        return math.degrees(2 * math.atan((self.height / 2) / self.focal))

    def pose(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(R, C): rows of R are the camera's right, up and forward axes in the world; C is its centre."""
        a, e = self.azimuths[k], self.elevation
        c = np.array([math.cos(e) * math.sin(a), math.sin(e), math.cos(e) * math.cos(a)])
        fwd = -c / np.linalg.norm(c)
        right = np.cross(fwd, [0.0, 1.0, 0.0])
        right /= np.linalg.norm(right)
        up = np.cross(right, fwd)
        return np.stack([right, up, fwd]), c

    def project(self, pts: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Pixel x, pixel y and depth of world points (N, 3)."""
        r, c = self.pose(k)
        r_t = torch.as_tensor(r, dtype=pts.dtype, device=pts.device)
        c_t = torch.as_tensor(c, dtype=pts.dtype, device=pts.device)
        cam = (pts - c_t) @ r_t.T
        z = cam[:, 2].clamp_min(1e-6)
        x = self.cx + self.focal * cam[:, 0] / z
        y = self.cy - self.focal * cam[:, 1] / z
        return x, y, z

    def matrices(self, device, dtype=torch.float32) -> torch.Tensor:
        """(V, 3, 4) projection matrices: [x*w, y*w, w] = P @ [X, 1] gives pixel (x, y) and depth w."""
        out = []
        for k in range(self.n_views):
            r, c = self.pose(k)
            right, up, fwd = r
            rows = np.stack([self.focal * right + self.cx * fwd, -self.focal * up + self.cy * fwd, fwd])
            out.append(np.concatenate([rows, -(rows @ c)[:, None]], 1))
        return torch.as_tensor(np.stack(out), dtype=dtype, device=device)

    def scaled(self, s: float) -> Rig:
        """The same cameras for images resized by factor ``s``."""
        return Rig(
            self.n_views,
            self.elevation,
            self.focal * s,
            self.cx * s,
            self.cy * s,
            round(self.width * s),
            round(self.height * s),
            self.azimuths,
        )


def base_depth_ratio(mask: np.ndarray, soft: np.ndarray | None, rig: Rig) -> float | None:
    """Depth / width of a product's base from one photo taken from above.

    Seen from elevation e, a base of half-width a and half-depth b draws its front rim as an arc of sagitta
    b * sin(e'); near its lowest point the arc is a parabola y = y0 - kappa * u^2 with kappa = b sin(e') / (2 a^2),
    so b / a = 2 * kappa * a / sin(e'). e' is the elevation seen at the base's row (perspective). A flat-on box
    gives a straight edge (ratio ~0). Only the central part of the arc is used (bevels bend the outer part).
    """
    rows = np.nonzero(mask.any(1))[0]
    if len(rows) < 16:
        return None
    top, bot = int(rows[0]), int(rows[-1])
    band0 = max(top, bot - max(6, int(0.15 * (bot - top + 1))))
    # the base's width: a little above the lowest row (bulging bodies are wider higher up, bevels narrower below)
    cols = np.nonzero(mask[bot - max(2, int(0.08 * (bot - top + 1)))])[0]
    if len(cols) < 12:
        return None
    uc, hw = (cols[0] + cols[-1] + 1) / 2, (cols[-1] + 1 - cols[0]) / 2
    u = np.arange(int(np.ceil(uc - 0.45 * hw)), int(np.floor(uc + 0.45 * hw)) + 1)
    if len(u) < 6:
        return None
    src = soft if soft is not None else mask.astype(np.float32)
    yb = band0 + np.clip(src[band0:, u], 0, 1).sum(0)
    x = u + 0.5 - uc
    coef = np.polyfit(x, yb, 2)
    kappa = max(0.0, -float(coef[0]))
    e_b = rig.elevation + math.atan((float(yb.max()) - rig.cy) / rig.focal)
    if e_b < math.radians(4):
        return None
    return float(2 * kappa * hw / math.sin(e_b))
