"""Textured studio photos of the benchmark products, and unlit renders of generated models for novel views.

Cameras and rasterisation come from devstore.studio (same pinhole model and turntable convention as the
demo catalogue: the camera looks at the bounding-box centre from the distance that fits the bounding sphere,
view k of n at azimuth 360 k / n counter-clockwise from the front). Shading here is our own: a key light
upper left and a fill right, fixed to the camera, ambient, a faint gloss, and a soft contact shadow on a white
floor. Textures are sampled bilinearly from a mip level matched to the photo's scale (no aliasing shimmer in
fine print).
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image
from scipy import ndimage

from devstore.studio import camera_for_view, rasterize


class _Holder:
    """What camera_for_view needs from a product: its mesh (for the bounding box)."""

    def __init__(self, mesh) -> None:
        self.mesh = mesh


def _mip(texture: np.ndarray, scale: float) -> np.ndarray:
    """The texture box-filtered to about ``scale`` of its size (scale <= 1)."""
    if scale >= 0.75:
        return texture.astype(np.float32)
    t = texture.shape[0]
    side = max(64, int(2 ** round(math.log2(max(1.0, t * scale)))))
    img = Image.fromarray(texture).resize((side, side), Image.BOX)
    return np.asarray(img, dtype=np.float32)


def _sample(texture: np.ndarray, uv: np.ndarray) -> np.ndarray:
    h, w = texture.shape[:2]
    x = np.clip(uv[:, 0] * w - 0.5, 0, w - 1)
    y = np.clip(uv[:, 1] * h - 0.5, 0, h - 1)
    return np.stack(
        [ndimage.map_coordinates(texture[..., c], [y, x], order=1, mode="nearest") for c in range(3)], 1
    )


def _texel_scale(mesh, uvs: np.ndarray, cam, texture_side: int) -> float:
    """Photo pixels per texel, roughly: surface area in the photo vs in the texture."""
    tri = mesh.vertices[mesh.faces]
    area3 = np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1).sum() / 2
    t = uvs[mesh.faces] * texture_side
    area_t = np.abs(np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])).sum() / 2
    dist = float(np.linalg.norm(cam.position - mesh.bounds.mean(0)))
    px_per_m = cam.focal_px / dist
    return float(math.sqrt(area3 * px_per_m**2 / max(area_t, 1e-9)))


def _shadow(mesh, cam, jj: np.ndarray, ii: np.ndarray) -> np.ndarray:
    """Darkening of floor pixels near the product's footprint (0 = none)."""
    v = mesh.vertices
    lo, hi = mesh.bounds
    ext = float((hi - lo).max())
    low = v[v[:, 1] < lo[1] + 0.25 * (hi[1] - lo[1])]
    res, pad = 128, 0.5 * ext
    g0 = np.array([lo[0] - pad, lo[2] - pad])
    cell = (max(hi[0] - lo[0], hi[2] - lo[2]) + 2 * pad) / res
    occ = np.zeros((res, res))
    gi = np.clip(((low[:, [0, 2]] - g0) / cell).astype(int), 0, res - 1)
    occ[gi[:, 0], gi[:, 1]] = 1.0
    occ = ndimage.binary_closing(occ > 0, iterations=3).astype(float)
    soft = ndimage.gaussian_filter(occ, 0.04 * ext / cell) * 0.45
    d = (
        cam.forward[None]
        + ((ii + 0.5 - cam.width / 2) / cam.focal_px)[:, None] * cam.right[None]
        - ((jj + 0.5 - cam.height / 2) / cam.focal_px)[:, None] * cam.up[None]
    )
    down = d[:, 1] < -1e-9
    t = (lo[1] - cam.position[1]) / np.where(down, d[:, 1], -1.0)
    hit = cam.position[None] + t[:, None] * d
    gx = (hit[:, 0] - g0[0]) / cell - 0.5
    gz = (hit[:, 2] - g0[1]) / cell - 0.5
    out = np.zeros(len(jj))
    ok = down & (gx >= 0) & (gx <= res - 1) & (gz >= 0) & (gz <= res - 1)
    out[ok] = np.clip(ndimage.map_coordinates(soft, [gx[ok], gz[ok]], order=1), 0, 0.4)
    return out


def render(
    mesh,
    uvs: np.ndarray,
    texture: np.ndarray,
    azimuth_deg: float,
    *,
    size: int,
    elevation_deg: float,
    fov_deg: float,
    frame_mesh=None,
    lit: bool = True,
    supersample: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """(RGB uint8 image, coverage mask). ``frame_mesh`` fixes the camera (defaults to ``mesh``)."""
    ss = max(1, supersample)
    big = size * ss
    cam = camera_for_view(
        _Holder(frame_mesh if frame_mesh is not None else mesh),
        azimuth_deg,
        size=big,
        elevation_deg=elevation_deg,
        fov_deg=fov_deg,
    )
    xy, z = cam.project(mesh.vertices)
    fid, bary, _ = rasterize(xy, z, mesh.faces, big, big)
    cov = fid >= 0
    tri = mesh.faces[fid[cov]]
    b = bary[cov]
    uv = (uvs[tri] * b[..., None]).sum(1)
    tex = _mip(texture, _texel_scale(mesh, uvs, cam, texture.shape[0]))
    col = _sample(tex, uv)
    img = np.full((big, big, 3), 255.0)
    if lit:
        nrm = (mesh.vertex_normals[tri] * b[..., None]).sum(1)
        nrm /= np.linalg.norm(nrm, axis=1, keepdims=True) + 1e-12
        pos = (mesh.vertices[tri] * b[..., None]).sum(1)
        view = pos - cam.position
        view /= np.linalg.norm(view, axis=1, keepdims=True)
        nrm = np.where(((nrm * view).sum(1) > 0)[:, None], -nrm, nrm)  # two-sided
        key = -cam.forward + 0.8 * cam.up - 0.6 * cam.right
        fill = -cam.forward + 0.1 * cam.up + 0.8 * cam.right
        key, fill = key / np.linalg.norm(key), fill / np.linalg.norm(fill)
        diffuse = 0.42 + 0.42 * np.clip(nrm @ key, 0, 1) + 0.18 * np.clip(nrm @ fill, 0, 1)
        half = key - view
        half /= np.linalg.norm(half, axis=1, keepdims=True)
        gloss = 0.06 * np.clip((nrm * half).sum(1), 0, 1) ** 30
        col = col * diffuse[:, None] + 255.0 * gloss[:, None]
        jj, ii = np.nonzero(~cov)
        img[jj, ii] *= (1.0 - _shadow(frame_mesh if frame_mesh is not None else mesh, cam, jj, ii))[:, None]
    img[cov] = col
    mask = cov.astype(np.float32)
    if ss > 1:
        img = img.reshape(size, ss, size, ss, 3).mean(axis=(1, 3))
        mask = mask.reshape(size, ss, size, ss).mean(axis=(1, 3))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), mask >= 0.5
