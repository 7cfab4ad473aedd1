"""Scores shared by the engine benchmarks: similarity alignment (ICP with scale), Chamfer-L1, F-scores,
and image scores for novel views (PSNR inside the silhouettes, SSIM on their bounding box)."""

from __future__ import annotations

import io
import math
import statistics

import numpy as np
import trimesh
from scipy.spatial import cKDTree

N_POINTS = 10_000
THRESHOLDS = (0.02, 0.05, 0.1)
TIE = 1.03  # alignments whose Chamfer cost is within 3 % of the best count as equally good


def sample(mesh: trimesh.Trimesh, n: int, seed: int) -> np.ndarray:
    pts, _ = trimesh.sample.sample_surface(mesh, n, seed=seed)
    return np.asarray(pts)


def umeyama(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    mu_s, mu_d = src.mean(0), dst.mean(0)
    xs, xd = src - mu_s, dst - mu_d
    cov = xd.T @ xs / len(src)
    u, s, vt = np.linalg.svd(cov)
    d = np.eye(3)
    if np.linalg.det(u @ vt) < 0:
        d[2, 2] = -1
    r = u @ d @ vt
    var = (xs**2).sum(1).mean()
    scale = float(np.trace(np.diag(s) @ d) / var)
    t = mu_d - scale * r @ mu_s
    return scale, r, t


def icp_with_scale(pred: np.ndarray, gt: np.ndarray, iters: int = 40) -> tuple[np.ndarray, tuple]:
    """Best similarity alignment of pred onto gt from four yaw starts.

    The engine models in the photos' frame (front photo = +Z, like the ground truth), so a start that is
    geometrically no worse (within ``TIE``) than the best keeps that frame: yaw 0 first. Without this a box or
    a can, symmetric under a half turn, is aligned back-to-front by a hair of Chamfer noise and its texture is
    scored against the wrong side.
    Returns the aligned points and (s, R, t) with aligned = s * R @ p + t for the original points.
    """
    tree_g = cKDTree(gt)
    found = []
    rms = lambda x: np.sqrt(((x - x.mean(0)) ** 2).sum(1).mean())  # noqa: E731
    for yaw in (0, 90, 180, 270):
        a = math.radians(yaw)
        r = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
        p0 = pred @ r.T
        s = rms(gt) / rms(p0)
        t = gt.mean(0) - s * p0.mean(0)
        p = s * p0 + t
        for _ in range(iters):
            _, ig = tree_g.query(p)
            _, ip = cKDTree(p).query(gt)
            ds, dr, dt = umeyama(np.concatenate([p, p[ip]]), np.concatenate([gt[ig], gt]))
            p = ds * p @ dr.T + dt
            s, r, t = ds * s, dr @ r, ds * dr @ t + dt
        d1, _ = tree_g.query(p)
        d2, _ = cKDTree(p).query(gt)
        found.append((d1.mean() + d2.mean(), p, (s, r, t)))
    least = min(c for c, _, _ in found)
    best = next(f for f in found if f[0] <= TIE * least)
    return best[1], best[2]


def scores(pred_mesh: trimesh.Trimesh, gt_mesh: trimesh.Trimesh) -> tuple[dict, tuple]:
    """Chamfer-L1 and F-scores as fractions of the ground truth's largest extent, and the alignment."""
    gt = sample(gt_mesh, N_POINTS, seed=1)
    pred = sample(pred_mesh, N_POINTS, seed=2)
    pred, transform = icp_with_scale(pred, gt)
    extent = float(gt_mesh.extents.max())
    d_pg, _ = cKDTree(gt).query(pred)
    d_gp, _ = cKDTree(pred).query(gt)
    out = {"chamfer_l1": float(0.5 * (d_pg.mean() + d_gp.mean()) / extent)}
    for tau in THRESHOLDS:
        p = float((d_pg < tau * extent).mean())
        r = float((d_gp < tau * extent).mean())
        out[f"f@{tau}"] = 0.0 if p + r == 0 else 2 * p * r / (p + r)
    return out, transform


def load_glb(data: bytes) -> trimesh.Trimesh:
    scene = trimesh.load(io.BytesIO(data), file_type="glb", force="scene")
    return trimesh.util.concatenate([g for g in scene.dump()])


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """PSNR over the pixels where either image shows the product (background would inflate it)."""
    diff = (a.astype(np.float64) - b.astype(np.float64))[mask]
    mse = float((diff**2).mean()) if diff.size else 0.0
    return 99.0 if mse <= 1e-12 else 10 * math.log10(255.0**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """SSIM (grey, 7 px windows) on the bounding box of ``mask`` plus a small margin."""
    from skimage.metrics import structural_similarity

    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return 1.0
    m = 4
    y0, y1 = max(0, ys.min() - m), min(mask.shape[0], ys.max() + 1 + m)
    x0, x1 = max(0, xs.min() - m), min(mask.shape[1], xs.max() + 1 + m)
    grey = lambda im: im[y0:y1, x0:x1].astype(np.float64) @ [0.299, 0.587, 0.114]  # noqa: E731
    return float(structural_similarity(grey(a), grey(b), data_range=255.0))


def summarize(rows: list[dict], peak_rss_mb: float, keys: tuple[str, ...]) -> dict:
    """Median time, peak memory and the mean (and minimum) of each score over one view count's rows."""
    out = {
        "median_s": statistics.median(r["seconds"] for r in rows),
        "median_cpu_s": statistics.median(r["cpu_seconds"] for r in rows),
        "peak_rss_mb": peak_rss_mb,
    }
    for k in keys:
        out[k] = statistics.mean(r[k] for r in rows)
        out[f"min_{k}"] = min(r[k] for r in rows)
    return out
