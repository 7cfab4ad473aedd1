"""UV atlas (xatlas) and a base-colour texture baked by projecting the photos.

Each texel's surface point is projected into every photo; it takes colour from the photos that see it
(depth test against a z-buffer of the mesh), weighted by how squarely the photo faces the surface
(cos^k, ``TextureConfig.angle_power``) and by a smooth ramp in the distance to the silhouette edge (edges are
unreliable). Before blending, each photo's colours are scaled per channel so the photos agree where they see
the same texels (``exposure_gains``: auto-exposure and white balance differ between shots, and an unmatched
photo shows as a seam). Texels no photo sees take the
colour of the nearest seen point on the surface (3D nearest neighbour); the padding between charts takes the
colour of the nearest texel in the atlas (so bilinear filtering and mipmaps do not bleed background).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
import xatlas
from scipy import ndimage
from scipy.spatial import cKDTree

from .cameras import Rig
from .raster import rasterize

# unseen texels ask for their nearest seen point once per cube this many texel spacings wide
FILL_CELL_TEXELS = 2.0


@dataclass
class TexturedMesh:
    vertices: np.ndarray  # (N, 3) float64, world (rig) frame
    faces: np.ndarray  # (F, 3) int64
    uvs: np.ndarray  # (N, 2) float, glTF convention (origin top-left of the image)
    normals: np.ndarray  # (N, 3)
    texture: np.ndarray  # (T, T, 3) uint8


def surface_area(vertices: np.ndarray, faces: np.ndarray) -> float:
    tri = vertices[faces]
    return 0.5 * float(np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1).sum())


def unwrap(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    atlas = xatlas.Atlas()
    atlas.add_mesh(vertices.astype(np.float32), faces.astype(np.uint32))
    area = surface_area(vertices, faces)
    chart = xatlas.ChartOptions()
    chart.max_iterations = 1
    chart.max_chart_area = area / 40  # bounded charts: xatlas is slow growing very large ones
    pack = xatlas.PackOptions()
    pack.padding = 2
    pack.bilinear = True
    pack.blockAlign = True
    pack.resolution = 1024
    atlas.generate(chart, pack)
    vmap, idx, uvs = atlas[0]
    return vmap.astype(np.int64), idx.astype(np.int64), uvs.astype(np.float64)


def vertex_normals(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    vn = np.zeros_like(v)
    for k in range(3):
        np.add.at(vn, f[:, k], fn)
    n = np.linalg.norm(vn, axis=1, keepdims=True)
    vn = np.where(n > 1e-20, vn / np.maximum(n, 1e-20), np.array([0.0, 1.0, 0.0]))
    return vn


def bake(
    vertices: np.ndarray,
    faces: np.ndarray,
    rig: Rig,
    photos: list[np.ndarray],
    masks: list[np.ndarray],
    *,
    texture_size: int,
    device: torch.device,
    view_weights: list[float] | None = None,
    angle_power: float = 4.0,
    edge_band_px: float = 3.0,
    match_exposure: bool = True,
) -> TexturedMesh:
    """Unwrap and bake. ``rig`` must match the photos' size; masks may be smaller (they are resampled)."""
    vmap, f2, uv = unwrap(vertices, faces)
    v2 = vertices[vmap]
    n2 = vertex_normals(v2, f2)
    # merge normals across UV seams (seams duplicate vertices): use the original vertices' normals
    n_orig = vertex_normals(vertices, faces)
    n2 = n_orig[vmap]
    t = texture_size
    vt = torch.as_tensor(v2, dtype=torch.float32, device=device)
    ft = torch.as_tensor(f2, device=device)
    uv_px = torch.as_tensor(uv * t, dtype=torch.float32, device=device)
    fid, bary, _ = rasterize(uv_px, torch.ones(len(uv), device=device), ft, t, t)
    covered = fid >= 0
    fsel = fid[covered]
    b = bary[covered]
    tri = ft[fsel]
    pos = (vt[tri] * b[..., None]).sum(1)
    nt = torch.as_tensor(n2, dtype=torch.float32, device=device)
    nrm = F.normalize((nt[tri] * b[..., None]).sum(1), dim=1)
    extent = float(np.linalg.norm(vertices.max(0) - vertices.min(0)))
    n_tex = pos.shape[0]
    # FILL_CELL_TEXELS times the texel spacing on the surface
    fill_cell = FILL_CELL_TEXELS * math.sqrt(surface_area(vertices, faces) / max(n_tex, 1))
    cols = torch.zeros((len(photos), n_tex, 3), dtype=torch.float32, device=device)
    wts = torch.zeros((len(photos), n_tex), dtype=torch.float32, device=device)
    for k, (img, mask) in enumerate(zip(photos, masks, strict=True)):
        h, w = img.shape[:2]
        # z-buffer of the mesh in this view, at a modest resolution
        zs = 384 / max(h, w)
        zrig = rig.scaled(zs)
        zx, zy, zz = zrig.project(vt, k)
        _, _, zbuf = rasterize(torch.stack([zx, zy], 1), zz, ft, zrig.width, zrig.height)
        r, c = rig.pose(k)
        cam_c = torch.as_tensor(c, dtype=torch.float32, device=device)
        cos_all = (nrm * F.normalize(cam_c - pos, dim=1)).sum(1)
        sel = (cos_all > 0.02).nonzero().view(-1)  # only texels facing this photo can take colour from it
        if sel.numel() == 0:
            continue
        p_sel = pos[sel]
        px, py, pz = rig.project(p_sel, k)
        gx = px / w * 2 - 1
        gy = py / h * 2 - 1
        grid = torch.stack([gx, gy], -1).view(1, 1, -1, 2)
        zb = F.grid_sample(
            _min_pool(zbuf)[None, None], grid, mode="nearest", padding_mode="border", align_corners=False
        ).view(-1)
        visible = (pz <= zb + 0.01 * extent) & (gx.abs() < 1) & (gy.abs() < 1)
        inner = ndimage.distance_transform_edt(mask).astype(np.float32)
        inner_t = torch.as_tensor(inner, device=device)[None, None]
        edge_d = F.grid_sample(
            inner_t, grid, mode="bilinear", padding_mode="zeros", align_corners=False
        ).view(-1)
        # a smooth ramp over ``edge_band_px`` photo pixels inside the silhouette: edges are where a small
        # camera or shape error puts background (or the product's other side) under the texel
        ramp = (edge_d * (w / mask.shape[1]) / edge_band_px).clamp(0, 1)
        edge_w = ramp * ramp * (3 - 2 * ramp)
        wk = cos_all[sel].clamp_min(0) ** angle_power * edge_w * visible.float()
        wk = wk * (1.0 if view_weights is None else view_weights[k])
        img_t = torch.as_tensor(np.array(img, dtype=np.float32), device=device).permute(2, 0, 1)[None]
        col = F.grid_sample(img_t, grid, mode="bilinear", padding_mode="border", align_corners=False)
        cols[k, sel] = col.view(3, -1).T
        wts[k, sel] = wk
    if match_exposure and len(photos) > 1:
        cols *= exposure_gains(cols, wts)[:, None, :]
    acc = (cols * wts[..., None]).sum(0)
    wsum = wts.sum(0)
    del cols
    tex = torch.zeros((t * t, 3), dtype=torch.float32, device=device)
    good = torch.zeros(t * t, dtype=torch.bool, device=device)
    cov_idx = covered.view(-1).nonzero().view(-1)
    seen = wsum > 1e-4
    tex[cov_idx[seen]] = acc[seen] / wsum[seen, None]
    good[cov_idx[seen]] = True
    # texels no photo sees take the colour of the nearest seen point on the surface (in 3D, not in the atlas)
    unseen = ~seen
    if bool(unseen.any()) and bool(seen.any()):
        pos_np = pos.cpu().numpy()
        seen_idx = np.nonzero(seen.cpu().numpy())[0]
        if len(seen_idx) > 20_000:
            seen_idx = seen_idx[np.linspace(0, len(seen_idx) - 1, 20_000).astype(np.int64)]
        nn = _nearest_per_cell(cKDTree(pos_np[seen_idx]), pos_np[unseen.cpu().numpy()], fill_cell)
        src_cols = (acc / wsum.clamp_min(1e-12)[:, None])[torch.as_tensor(seen_idx[nn], device=device)]
        tex[cov_idx[unseen]] = src_cols
        good[cov_idx[unseen]] = True
    tex_np = tex.view(t, t, 3).cpu().numpy()
    good_np = good.view(t, t).cpu().numpy()
    if good_np.any():
        _, (iy, ix) = ndimage.distance_transform_edt(~good_np, return_indices=True)
        tex_np = tex_np[iy, ix]
    else:
        tex_np[:] = 180.0
    texture = np.clip(np.rint(tex_np), 0, 255).astype(np.uint8)
    return TexturedMesh(v2, f2, uv, n2, texture)


def _nearest_per_cell(tree: cKDTree, points: np.ndarray, cell: float) -> np.ndarray:
    """Index of the nearest tree point for each of ``points``, asked once per ``cell``-sized cube of them.

    The unseen texels' fill is a nearest-neighbour colour, piecewise constant anyway; one query per texel
    took 1.0-3.4 s on 2 cores for ~300k unseen texels of a single photo's model (queries far from every
    seen point are the slow ones), one per cube of a few texels gives the same colours but at cube edges.
    """
    if cell <= 0 or len(points) == 0:
        return tree.query(points, k=1, workers=-1)[1]
    k = np.floor((points - points.min(0)) / cell).astype(np.int64)
    dims = k.max(0) + 1
    key = (k[:, 0] * dims[1] + k[:, 1]) * dims[2] + k[:, 2]
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return tree.query(points[first], k=1, workers=-1)[1][inverse.reshape(-1)]


def _min_pool(zbuf: torch.Tensor) -> torch.Tensor:
    """Spread each pixel's depth to its neighbours (nearest in front wins) so edges are not self-occluded."""
    z = torch.where(torch.isinf(zbuf), torch.full_like(zbuf, 1e6), zbuf)
    return -F.max_pool2d(-z[None, None], 3, stride=1, padding=1)[0, 0]


def exposure_gains(cols: torch.Tensor, wts: torch.Tensor) -> torch.Tensor:
    """Per-photo, per-channel gains (V, 3) that make the photos agree where they see the same texels.

    Least squares in the log domain: for each pair of photos the weighted mean log-ratio of their colours on
    shared texels; gains of mean log 0 (the average exposure is kept), clamped to 0.7-1.4 (a gain beyond that
    is a lighting difference, not exposure).
    """
    v = cols.shape[0]
    logc = torch.log(cols.clamp_min(1.0))
    rows, rhs, wrow = [], [], []
    for a in range(v):
        for b in range(a + 1, v):
            both = torch.minimum(wts[a], wts[b])
            total = float(both.sum())
            if total < 5.0:  # too few shared texels to say anything
                continue
            diff = ((logc[b] - logc[a]) * both[:, None]).sum(0) / total
            row = torch.zeros(v, dtype=torch.float64)
            row[a], row[b] = 1.0, -1.0
            rows.append(row)
            rhs.append(diff.double())
            wrow.append(math.sqrt(total))
    if not rows:
        return torch.ones((v, 3), dtype=cols.dtype, device=cols.device)
    a_mat = torch.stack(rows) * torch.tensor(wrow, dtype=torch.float64)[:, None]
    b_mat = torch.stack(rhs).cpu() * torch.tensor(wrow, dtype=torch.float64)[:, None]
    # the mean log gain is fixed at 0 by one more (heavily weighted) equation
    a_mat = torch.cat([a_mat, torch.full((1, v), 10.0 * max(wrow), dtype=torch.float64)])
    b_mat = torch.cat([b_mat, torch.zeros((1, 3), dtype=torch.float64)])
    g = torch.linalg.lstsq(a_mat, b_mat).solution  # g_a - g_b = mean(log c_b - log c_a)
    return torch.exp(g).clamp(0.7, 1.4).to(device=cols.device, dtype=cols.dtype)
