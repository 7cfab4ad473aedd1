"""A small CPU z-buffer renderer (NumPy only) for studio product photos.

Camera model (also documented in ``camera_for_view``): a pinhole camera with square pixels, principal point at
the image centre and no roll, looking at the centre of the product's bounding box from a distance that fits
its bounding sphere into the frame. View ``k`` of ``n`` sits at azimuth ``360 * k / n`` degrees,
counter-clockwise seen from above, starting at the front (+Z): 4 views = front, left (camera on +X), back,
right. Lights are fixed to the camera (a turntable studio). The floor is the plane y = 0 of the product frame;
``shadow=True`` darkens it with a soft contact shadow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from .shapes import StudioProduct

__all__ = ["Camera", "camera_for_view", "rasterize", "render_view", "render_views"]


@dataclass(frozen=True)
class Camera:
    """A pinhole camera.

    Parameters:
        position: camera centre in the product frame (metres).
        right, up, forward: orthonormal camera axes in the product frame (forward points at the product).
        focal_px: focal length in pixels; the principal point is (width / 2, height / 2).
        width, height: image size in pixels.
    """

    position: np.ndarray
    right: np.ndarray
    up: np.ndarray
    forward: np.ndarray
    focal_px: float
    width: int
    height: int

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates (x right, y down; pixel centres at i + 0.5) and view depth of Nx3 points."""
        d = points - self.position
        z = d @ self.forward
        zs = np.where(np.abs(z) < 1e-12, 1e-12, z)
        x = self.width / 2 + self.focal_px * (d @ self.right) / zs
        y = self.height / 2 - self.focal_px * (d @ self.up) / zs
        return np.stack([x, y], axis=1), z


def camera_for_view(
    product: StudioProduct,
    azimuth_deg: float,
    *,
    size: int = 512,
    elevation_deg: float = 10.0,
    fov_deg: float = 30.0,
    margin: float = 1.08,
) -> Camera:
    """The studio camera for one view: looks at the bounding-box centre, distance fits the bounding sphere."""
    lo, hi = product.mesh.bounds
    target = (lo + hi) / 2
    radius = float(np.linalg.norm(hi - lo)) / 2
    dist = margin * radius / math.sin(math.radians(fov_deg) / 2)
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    pos = target + dist * np.array([math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az)])
    fwd = (target - pos) / np.linalg.norm(target - pos)
    right = np.cross(fwd, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, fwd)
    focal = (size / 2) / math.tan(math.radians(fov_deg) / 2)
    return Camera(pos, right, up, fwd, focal, size, size)


def rasterize(
    xy: np.ndarray, depth: np.ndarray, faces: np.ndarray, width: int, height: int, *, near: float = 1e-6
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Z-buffer rasterisation of triangles given in pixel coordinates.

    Returns (face_id[H, W] with -1 for empty pixels, perspective-correct barycentrics[H, W, 3], depth[H, W]
    with +inf for empty pixels). A pixel is covered when its centre (i + 0.5, j + 0.5) lies in a triangle.
    """
    faces = np.asarray(faces, dtype=np.int64)
    tri = xy[faces]  # F,3,2
    tz = depth[faces]  # F,3
    ok = np.all(tz > near, axis=1)
    x0 = np.ceil(tri[..., 0].min(1) - 0.5).astype(np.int64)
    x1 = np.floor(tri[..., 0].max(1) - 0.5).astype(np.int64)
    y0 = np.ceil(tri[..., 1].min(1) - 0.5).astype(np.int64)
    y1 = np.floor(tri[..., 1].max(1) - 0.5).astype(np.int64)
    x0, y0 = np.maximum(x0, 0), np.maximum(y0, 0)
    x1, y1 = np.minimum(x1, width - 1), np.minimum(y1, height - 1)
    ok &= (x1 >= x0) & (y1 >= y0)
    area = (tri[:, 1, 0] - tri[:, 0, 0]) * (tri[:, 2, 1] - tri[:, 0, 1]) - (tri[:, 2, 0] - tri[:, 0, 0]) * (
        tri[:, 1, 1] - tri[:, 0, 1]
    )
    ok &= np.abs(area) > 1e-12
    ids = np.nonzero(ok)[0]
    span = np.maximum(x1 - x0, y1 - y0)[ids] + 1
    bucket = np.ceil(np.log2(np.maximum(span, 1))).astype(np.int64)
    frag_pix, frag_z, frag_f, frag_b = [], [], [], []
    for b in np.unique(bucket):
        s = 1 << int(b)
        sel = ids[bucket == b]
        dy, dx = np.meshgrid(np.arange(s), np.arange(s), indexing="ij")
        dx, dy = dx.ravel(), dy.ravel()
        chunk = max(1, (1 << 21) // (s * s))
        for c in range(0, len(sel), chunk):
            f = sel[c : c + chunk]
            px = x0[f, None] + dx[None]
            py = y0[f, None] + dy[None]
            inb = (px <= x1[f, None]) & (py <= y1[f, None])
            cx, cy = px + 0.5, py + 0.5
            t = tri[f]
            a = area[f, None]
            w0 = (
                (t[:, 1, None, 0] - cx) * (t[:, 2, None, 1] - cy)
                - (t[:, 2, None, 0] - cx) * (t[:, 1, None, 1] - cy)
            ) / a
            w1 = (
                (t[:, 2, None, 0] - cx) * (t[:, 0, None, 1] - cy)
                - (t[:, 0, None, 0] - cx) * (t[:, 2, None, 1] - cy)
            ) / a
            w2 = 1.0 - w0 - w1
            inside = inb & (w0 >= -1e-9) & (w1 >= -1e-9) & (w2 >= -1e-9)
            fi, pi = np.nonzero(inside)
            if len(fi) == 0:
                continue
            ff = f[fi]
            bw = np.stack([w0[fi, pi], w1[fi, pi], w2[fi, pi]], 1)
            inv = bw / tz[ff]
            zf = 1.0 / inv.sum(1)
            frag_pix.append(py[fi, pi] * width + px[fi, pi])
            frag_z.append(zf)
            frag_f.append(ff)
            frag_b.append(inv * zf[:, None])
    face_id = np.full(height * width, -1, dtype=np.int64)
    bary = np.zeros((height * width, 3))
    zbuf = np.full(height * width, np.inf)
    if frag_pix:
        pix = np.concatenate(frag_pix)
        zz = np.concatenate(frag_z)
        order = np.lexsort((zz, pix))
        ps = pix[order]
        first = np.ones(len(ps), dtype=bool)
        first[1:] = ps[1:] != ps[:-1]
        win = order[first]
        face_id[pix[win]] = np.concatenate(frag_f)[win]
        bary[pix[win]] = np.concatenate(frag_b)[win]
        zbuf[pix[win]] = zz[win]
    return face_id.reshape(height, width), bary.reshape(height, width, 3), zbuf.reshape(height, width)


def _shade(normals: np.ndarray, view_dirs: np.ndarray, cam: Camera) -> np.ndarray:
    """Studio lighting fixed to the camera: key light upper left, fill right, rim, ambient, a soft highlight."""
    key = -cam.forward + 0.9 * cam.up - 0.7 * cam.right
    fill = -cam.forward + 0.2 * cam.up + 0.9 * cam.right
    key, fill = key / np.linalg.norm(key), fill / np.linalg.norm(fill)
    n = normals
    lam = (
        0.36 + 0.46 * np.clip(n @ key, 0, 1) + 0.16 * np.clip(n @ fill, 0, 1) + 0.04 * np.clip(n[:, 1], 0, 1)
    )
    h = key - view_dirs
    h /= np.linalg.norm(h, axis=1, keepdims=True) + 1e-12
    spec = 0.08 * np.clip((n * h).sum(1), 0, 1) ** 40
    return lam, spec


def _contact_shadow(product: StudioProduct, cam: Camera, rays: np.ndarray) -> np.ndarray:
    """Darkening factor (0 = none) on the floor plane y = 0 for each camera ray (N x 3 unit directions)."""
    mesh = product.mesh
    lo, hi = mesh.bounds
    ext = float(max(hi[0] - lo[0], hi[2] - lo[2], hi[1] - lo[1]))
    pad = 0.6 * ext
    res = 160
    gx0, gz0 = lo[0] - pad, lo[2] - pad
    cell = (max(hi[0] - lo[0], hi[2] - lo[2]) + 2 * pad) / res
    v = mesh.vertices
    gxy = np.stack([(v[:, 0] - gx0) / cell, (v[:, 2] - gz0) / cell], 1)
    # only parts near the floor cast the contact shadow; weight by height
    fid, _, _ = rasterize(gxy, 1.0 + v[:, 1], mesh.faces, res, res)
    occ = (fid >= 0).astype(np.float64)
    soft = (
        ndimage.gaussian_filter(occ, sigma=0.05 * ext / cell) * 0.25
        + ndimage.gaussian_filter(occ, sigma=0.02 * ext / cell) * 0.15
    )
    out = np.zeros(len(rays))
    down = rays[:, 1] < -1e-9
    t = -cam.position[1] / np.where(down, rays[:, 1], -1.0)
    hit = cam.position[None] + t[:, None] * rays
    gx = (hit[:, 0] - gx0) / cell - 0.5
    gz = (hit[:, 2] - gz0) / cell - 0.5
    inside = down & (gx >= 0) & (gx <= res - 1) & (gz >= 0) & (gz <= res - 1)
    vals = ndimage.map_coordinates(soft.T, [gx[inside], gz[inside]], order=1)
    out[inside] = np.clip(vals, 0, 0.35)
    return out


def render_view(
    product: StudioProduct,
    azimuth_deg: float,
    *,
    size: int = 512,
    elevation_deg: float = 10.0,
    fov_deg: float = 30.0,
    background: tuple[int, int, int] | None = (255, 255, 255),
    shadow: bool = True,
    supersample: int = 2,
) -> Image.Image:
    """Render one studio photo. ``background=None`` gives an RGBA image with a transparent background."""
    ss = max(1, int(supersample))
    big = size * ss
    cam = camera_for_view(product, azimuth_deg, size=big, elevation_deg=elevation_deg, fov_deg=fov_deg)
    mesh = product.mesh
    xy, z = cam.project(mesh.vertices)
    fid, bary, _ = rasterize(xy, z, mesh.faces, big, big)
    cov = fid >= 0
    f = fid[cov]
    b = bary[cov]
    vidx = mesh.faces[f]
    nrm = (mesh.vertex_normals[vidx] * b[..., None]).sum(1)
    nrm /= np.linalg.norm(nrm, axis=1, keepdims=True) + 1e-12
    pos = (mesh.vertices[vidx] * b[..., None]).sum(1)
    if product.surface is not None:  # per-pixel colour: label print finer than the mesh stays sharp
        rgb_px = np.clip(np.asarray(product.surface(pos, nrm), dtype=np.float64), 0, 255)
    else:
        colors = mesh.visual.vertex_colors[:, :3].astype(np.float64)
        rgb_px = (colors[vidx] * b[..., None]).sum(1)
    vd = pos - cam.position
    vd /= np.linalg.norm(vd, axis=1, keepdims=True)
    # two-sided: flip normals that face away (open rims, thin parts)
    flip = (nrm * vd).sum(1) > 0
    nrm[flip] *= -1
    lam, spec = _shade(nrm, vd, cam)
    lit = np.clip(rgb_px * lam[:, None] + 255.0 * spec[:, None], 0, 255)

    if background is None:
        img = np.zeros((big, big, 4))
        img[cov, :3] = lit
        img[cov, 3] = 255.0
    else:
        img = np.empty((big, big, 3))
        img[:] = np.asarray(background, dtype=np.float64)
        if shadow:
            jj, ii = np.nonzero(~cov)
            dirs = (
                cam.forward[None]
                + ((ii + 0.5 - big / 2) / cam.focal_px)[:, None] * cam.right[None]
                - ((jj + 0.5 - big / 2) / cam.focal_px)[:, None] * cam.up[None]
            )
            dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
            dark = _contact_shadow(product, cam, dirs)
            img[jj, ii] *= (1.0 - dark)[:, None]
        img[cov] = lit
    if ss > 1:
        img = img.reshape(size, ss, size, ss, -1).mean(axis=(1, 3))
    arr = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGBA" if background is None else "RGB")


def render_views(
    product: StudioProduct,
    *,
    n_views: int = 4,
    size: int = 512,
    elevation_deg: float = 10.0,
    fov_deg: float = 30.0,
    background: tuple[int, int, int] | None = (255, 255, 255),
    shadow: bool = True,
    supersample: int = 2,
) -> list[Image.Image]:
    """Studio photos at equal azimuth steps, counter-clockwise seen from above, starting at the front.

    4 views = front, left, back, right. White background with a soft contact shadow by default.
    """
    if n_views < 1:
        raise ValueError("n_views must be at least 1")
    return [
        render_view(
            product,
            360.0 * k / n_views,
            size=size,
            elevation_deg=elevation_deg,
            fov_deg=fov_deg,
            background=background,
            shadow=shadow,
            supersample=supersample,
        )
        for k in range(n_views)
    ]
