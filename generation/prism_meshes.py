"""Meshes of fitted prisms: closed (a box, a can) or with an opening cut in (a cup).

Both are loops of the prism's section stacked along its height and capped by two fans (`loft`); the open one
runs its loops up the outer wall, across the rim and down the inner wall to the floor.
"""

from __future__ import annotations

import numpy as np
import trimesh

from .opening import Opening
from .prism_outlines import section
from .solids import SolidFit


def loft(
    loops: list[tuple[np.ndarray, float]], *, first_cap: np.ndarray, last_cap: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A watertight surface through horizontal loops (each an (n, 2) x/z section at its height, all with the
    same n), stitched in order, closed by a fan from ``first_cap`` to the first loop and from ``last_cap`` to
    the last, with consistent outward winding."""
    segs = len(loops[0][0])
    verts = [np.stack([sec[:, 0], np.full(segs, y), sec[:, 1]], 1) for sec, y in loops]
    verts.append(np.array([first_cap, last_cap], dtype=np.float64))
    v = np.concatenate(verts)
    j = np.arange(segs)
    jn = (j + 1) % segs
    faces = []
    for r in range(len(loops) - 1):
        a, b = r * segs + j, r * segs + jn
        c, d = (r + 1) * segs + jn, (r + 1) * segs + j
        faces += [np.stack([a, b, c], 1), np.stack([a, c, d], 1)]
    nf, nl = len(loops) * segs, len(loops) * segs + 1
    last = (len(loops) - 1) * segs
    faces.append(np.stack([np.full(segs, nf), jn, j], 1))
    faces.append(np.stack([np.full(segs, nl), last + j, last + jn], 1))
    mesh = trimesh.Trimesh(v, np.concatenate(faces).astype(np.int64), process=False)
    trimesh.repair.fix_normals(mesh)
    return np.asarray(mesh.vertices, dtype=np.float64), np.asarray(mesh.faces, dtype=np.int64)


def prism_mesh(fit: SolidFit, *, face_limit: int) -> tuple[np.ndarray, np.ndarray]:
    """A watertight prism: side rings plus capped ends (centre fans), within ``face_limit`` faces."""
    rings = 12
    segs = int(max(16, min(160, face_limit // (2 * rings + 4))))
    sec = section(fit.params, fit.p, segs)
    y0, y1 = float(fit.params[2]), float(fit.params[3])
    centre = sec.mean(0)
    return loft(
        [(sec, y) for y in np.linspace(y0, y1, rings + 1)],
        first_cap=np.array([centre[0], y0, centre[1]]),
        last_cap=np.array([centre[0], y1, centre[1]]),
    )


def open_prism_mesh(fit: SolidFit, opening: Opening, *, face_limit: int) -> tuple[np.ndarray, np.ndarray]:
    """A fitted prism with the opening cut in: outer wall, base, the rim's flat top, the inner wall down to
    the floor and the floor; watertight, within ``face_limit`` faces."""
    rings = 8
    segs = int(max(16, min(160, face_limit // (4 * rings + 6))))
    outer = section(fit.params, fit.p, segs)
    centre = outer.mean(0)
    inner = centre + opening.inner_scale * (outer - centre)
    y0, y1, yf = float(fit.params[2]), float(fit.params[3]), opening.floor_y
    yf = min(max(yf, y0 + 0.02 * (y1 - y0)), y1 - 0.02 * (y1 - y0))
    loops = [(outer, y) for y in np.linspace(y0, y1, rings + 1)]  # outer wall up, the rim across
    loops += [(inner, y) for y in np.linspace(y1, yf, rings + 1)]  # the inner wall down to the floor
    return loft(
        loops,
        first_cap=np.array([centre[0], y0, centre[1]]),  # the base
        last_cap=np.array([centre[0], yf, centre[1]]),  # the floor
    )
