"""Meshes of fitted prisms: a can is a closed solid of the fitted size; a cup is open, with its inner wall and
floor where the opening says."""

from __future__ import annotations

import math

import numpy as np
import trimesh

from generation.cameras import Rig
from generation.opening import Opening, Top
from generation.prism_meshes import open_prism_mesh, prism_mesh
from generation.solids import EXPONENTS, SolidFit

RIG = Rig(1, math.radians(20), 500.0, 128, 128, 256, 256, (0.0,))


def _cylinder(radius: float, y0: float, y1: float) -> SolidFit:
    params = np.array([0.1, -0.2, y0, y1, radius, radius, 0.0])
    return SolidFit("cylinder", params, EXPONENTS["cylinder"], 0.5, [0.5], np.zeros(2), RIG)


def test_a_fitted_can_is_a_closed_solid_of_its_fitted_size():
    v, f = prism_mesh(_cylinder(0.3, -0.5, 0.5), face_limit=4000)
    mesh = trimesh.Trimesh(v, f, process=False)
    assert len(f) <= 4000
    assert mesh.is_watertight and mesh.is_winding_consistent and mesh.volume > 0
    assert math.isclose(mesh.volume, math.pi * 0.3**2 * 1.0, rel_tol=0.01)  # a 160-gon, nearly the circle
    assert np.allclose(v.min(0), [-0.2, -0.5, -0.5], atol=1e-3)
    assert np.allclose(v.max(0), [0.4, 0.5, 0.1], atol=1e-3)


def test_a_fitted_cup_is_open_down_to_its_floor_and_stays_closed_outside():
    fit = _cylinder(0.3, -0.5, 0.5)
    top = Top(centre=(0.1, -0.2), radii=(0.3, 0.3), yaw=0.0, rim_y=0.5, bottom_y=-0.5)
    opening = Opening(top=top, inner_scale=0.8, floor_y=-0.4, contrast=0.5, views=4)
    v, f = open_prism_mesh(fit, opening, face_limit=4000)
    mesh = trimesh.Trimesh(v, f, process=False)
    assert len(f) <= 4000
    assert mesh.is_watertight and mesh.is_winding_consistent and mesh.volume > 0
    # the solid is the wall and the floor: the outer cylinder less the inner one above the floor
    expected = math.pi * 0.3**2 * 1.0 - math.pi * 0.24**2 * 0.9
    assert math.isclose(mesh.volume, expected, rel_tol=0.02)
    # looking down the axis, the first surface is the floor, not a lid at the rim
    assert np.isclose(max(_heights_on_vertical_line(v, f, 0.12, -0.19)), -0.4, atol=1e-6)


def _heights_on_vertical_line(v: np.ndarray, f: np.ndarray, x: float, z: float) -> list[float]:
    """Where the faces cross the vertical line through (x, z)."""
    out = []
    for a, b, c in v[f]:
        m = np.array([[b[0] - a[0], c[0] - a[0]], [b[2] - a[2], c[2] - a[2]]])
        if abs(np.linalg.det(m)) < 1e-12:
            continue  # a wall face, edge-on from above
        u, w = np.linalg.solve(m, [x - a[0], z - a[2]])
        if u >= 0 and w >= 0 and u + w <= 1:
            out.append(float(a[1] + u * (b[1] - a[1]) + w * (c[1] - a[1])))
    return out
