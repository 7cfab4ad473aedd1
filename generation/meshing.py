"""Mesh clean-up after marching cubes: the largest connected piece, watertight decimation, seam-welded normals."""

from __future__ import annotations

import fast_simplification
import numpy as np
import trimesh


def largest_component(v: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep the largest connected piece of a marching-cubes mesh (stray specks are carving noise)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(v)
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]]])
    graph = coo_matrix((np.ones(len(e), dtype=np.int8), (e[:, 0], e[:, 1])), shape=(n, n))
    count, labels = connected_components(graph, directed=False)
    if count <= 1:
        return v, f
    face_label = labels[f[:, 0]]
    keep_label = np.bincount(face_label).argmax()
    keep_f = f[face_label == keep_label]
    used = np.unique(keep_f)
    remap = np.full(n, -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return v[used], remap[keep_f]


def decimate(mesh: trimesh.Trimesh, face_limit: int) -> trimesh.Trimesh:
    """Quadric decimation to at most ``face_limit`` faces that stays watertight.

    One fast pass takes the marching-cubes mesh to twice the limit; the last step is retried with gentler
    settings when it pinches an edge (fast_simplification can leave a few non-manifold edges).
    """
    if len(mesh.faces) <= face_limit:
        return mesh
    v, f = np.asarray(mesh.vertices), np.asarray(mesh.faces)
    if len(f) > 4 * face_limit:
        for agg in (7, 3):
            v1, f1 = fast_simplification.simplify(v, f, target_count=2 * face_limit, agg=agg)
            if trimesh.Trimesh(v1, f1, process=True).is_watertight:
                v, f = v1, f1
                break
    first = None
    out = mesh
    for agg in (2, 3, 5, 7):
        v2, f2 = v, f
        for _ in range(3):  # one pass can stop short of the target on large flat regions
            v2, f2 = fast_simplification.simplify(v2, f2, target_count=face_limit, agg=agg)
            if len(f2) <= face_limit:
                break
        out = trimesh.Trimesh(v2, f2, process=True)
        if len(out.faces) > face_limit:
            continue
        if out.is_watertight:
            return out
        first = first or out
    out = first if first is not None else out
    trimesh.repair.fill_holes(out)
    return out


def weld_normals(v: np.ndarray, n: np.ndarray) -> np.ndarray:
    """One normal per position: vertices duplicated along UV seams share their averaged normal.

    Where the normals at one position disagree (the two faces of a thin wall, a cup's rim), the average
    cancels: those vertices keep their own. A vertex of degenerate faces only (no normal of its own) points up,
    so every normal is of unit length (glTF requires it)."""
    key = np.round(v / (np.abs(v).max() + 1e-12) * 1e6).astype(np.int64)
    _, inv = np.unique(key, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    acc = np.zeros((inv.max() + 1, 3))
    np.add.at(acc, inv, n)
    count = np.bincount(inv).astype(np.float64)
    length = np.linalg.norm(acc, axis=1)
    agree = length >= 0.5 * count
    acc /= np.maximum(length, 1e-12)[:, None]
    out = np.where(agree[inv][:, None], acc[inv], n)
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    return np.where(norm > 1e-6, out / np.maximum(norm, 1e-12), np.array([0.0, 1.0, 0.0]))


__all__ = ["decimate", "largest_component", "weld_normals"]
