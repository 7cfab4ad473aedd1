"""A small deterministic z-buffer triangle rasteriser in PyTorch (runs on the CPU or CUDA alike).

Used for visibility when baking textures, for UV-space rasterisation of the atlas and for the preview.
A pixel is covered when its centre (i + 0.5, j + 0.5) lies inside a triangle; ties in depth go to the
fixed fragment order, so the output does not depend on thread scheduling.
"""

from __future__ import annotations

import torch


def rasterize(
    xy: torch.Tensor, depth: torch.Tensor, faces: torch.Tensor, width: int, height: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rasterise triangles given by pixel coordinates xy (N, 2) and view depth (N,).

    Returns face_id (H, W) long with -1 where empty, perspective-correct barycentrics (H, W, 3), and
    depth (H, W) with +inf where empty.
    """
    dev = xy.device
    faces = faces.long()
    tri = xy[faces].float()  # F,3,2
    tz = depth[faces].float()
    x0 = torch.ceil(tri[..., 0].min(1).values - 0.5).long().clamp_min(0)
    x1 = torch.floor(tri[..., 0].max(1).values - 0.5).long().clamp_max(width - 1)
    y0 = torch.ceil(tri[..., 1].min(1).values - 0.5).long().clamp_min(0)
    y1 = torch.floor(tri[..., 1].max(1).values - 0.5).long().clamp_max(height - 1)
    # local coordinates relative to the first covered pixel centre keep float32 exact enough
    loc = tri - torch.stack([x0, y0], 1).float()[:, None, :] - 0.5
    xa, ya = loc[:, 0, 0], loc[:, 0, 1]
    xb, yb = loc[:, 1, 0], loc[:, 1, 1]
    xc, yc = loc[:, 2, 0], loc[:, 2, 1]
    area = (xb - xa) * (yc - ya) - (xc - xa) * (yb - ya)
    ok = (tz > 1e-9).all(1) & (x1 >= x0) & (y1 >= y0) & (area.abs() > 1e-10)
    ids = ok.nonzero().view(-1)
    face_id = torch.full((height * width,), -1, dtype=torch.long, device=dev)
    bary = torch.zeros((height * width, 3), dtype=torch.float32, device=dev)
    zbuf = torch.full((height * width,), float("inf"), dtype=torch.float32, device=dev)
    if ids.numel() == 0:
        return face_id.view(height, width), bary.view(height, width, 3), zbuf.view(height, width)
    inv_area = 1.0 / torch.where(area.abs() > 1e-10, area, torch.ones_like(area))
    # barycentric weights are affine in the pixel position: w = A * dx + B * dy + C
    a0, b0, c0 = (yb - yc) * inv_area, (xc - xb) * inv_area, (xb * yc - xc * yb) * inv_area
    a1, b1, c1 = (yc - ya) * inv_area, (xa - xc) * inv_area, (xc * ya - xa * yc) * inv_area
    # scanline expansion: one (triangle, row) pair per covered row, then exactly the pixels inside
    a2, b2, c2 = -a0 - a1, -b0 - b1, 1.0 - c0 - c1
    rows = (y1 - y0 + 1)[ids]
    pair_f = torch.repeat_interleave(ids, rows)
    starts = torch.cumsum(rows, 0) - rows
    pair_dy = torch.arange(pair_f.numel(), device=dev) - torch.repeat_interleave(starts, rows)
    dyf = pair_dy.float()
    lo = torch.zeros_like(dyf)
    hi = (x1 - x0)[pair_f].float()
    for a, b, c in ((a0, b0, c0), (a1, b1, c1), (a2, b2, c2)):
        aa, rest = a[pair_f], b[pair_f] * dyf + c[pair_f] + 1e-6
        bound = -rest / torch.where(aa.abs() > 1e-12, aa, torch.ones_like(aa))
        lo = torch.where(aa > 1e-12, torch.maximum(lo, bound), lo)
        hi = torch.where(aa < -1e-12, torch.minimum(hi, bound), hi)
        dead = (aa.abs() <= 1e-12) & (rest < 0)
        hi = torch.where(dead, torch.full_like(hi, -1.0), hi)
    lo_i = torch.ceil(lo).long()
    hi_i = torch.floor(hi).long()
    cnt = (hi_i - lo_i + 1).clamp_min(0)
    pix_l, z_l, f_l, b_l = [], [], [], []
    if int(cnt.sum()) > 0:
        frag_pair = torch.repeat_interleave(torch.arange(cnt.numel(), device=dev), cnt)
        fstart = torch.cumsum(cnt, 0) - cnt
        dx = lo_i[frag_pair] + torch.arange(frag_pair.numel(), device=dev) - fstart[frag_pair]
        ff = pair_f[frag_pair]
        dy = pair_dy[frag_pair]
        dxf, dyf2 = dx.float(), dy.float()
        w0 = a0[ff] * dxf + b0[ff] * dyf2 + c0[ff]
        w1 = a1[ff] * dxf + b1[ff] * dyf2 + c1[ff]
        bw = torch.stack([w0, w1, 1.0 - w0 - w1], 1).clamp_min(0)
        bw = bw / bw.sum(1, keepdim=True).clamp_min(1e-12)
        inv = bw / tz[ff]
        zf = 1.0 / inv.sum(1)
        pix_l.append((y0[ff] + dy) * width + x0[ff] + dx)
        z_l.append(zf)
        f_l.append(ff)
        b_l.append(inv * zf[:, None])
    if not pix_l:
        return face_id.view(height, width), bary.view(height, width, 3), zbuf.view(height, width)
    pix = torch.cat(pix_l)
    zz = torch.cat(z_l)
    fidx = torch.cat(f_l)
    # nearest fragment per pixel: the smallest depth wins, ties go to the last generated fragment; both are
    # scatter reductions, which are deterministic (fragments are generated in a fixed order)
    n_pix = height * width
    zmin = torch.full((n_pix,), float("inf"), dtype=zz.dtype, device=dev).scatter_reduce(
        0, pix, zz, reduce="amin", include_self=True
    )
    cand = zz <= zmin[pix]
    order = torch.arange(pix.numel(), device=dev)
    best = torch.full((n_pix,), -1, dtype=torch.long, device=dev).scatter_reduce(
        0, pix[cand], order[cand], reduce="amax", include_self=True
    )
    win = best[best >= 0]
    face_id[pix[win]] = fidx[win]
    bary[pix[win]] = torch.cat(b_l)[win]
    zbuf[pix[win]] = zz[win]
    return face_id.view(height, width), bary.view(height, width, 3), zbuf.view(height, width)
