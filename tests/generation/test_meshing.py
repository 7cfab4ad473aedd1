"""Normals at shared positions: seams share one, a thin wall's two faces keep their own."""

from __future__ import annotations

import numpy as np

from generation.meshing import weld_normals


def test_seam_duplicates_share_their_averaged_normal():
    v = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    n = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    out = weld_normals(v, n)
    assert np.allclose(out[0], out[1]) and np.allclose(out[0], [2**-0.5, 2**-0.5, 0.0])
    assert np.allclose(out[2], [0.0, 0.0, 1.0])


def test_opposite_normals_at_one_position_stay_unit_length_and_apart():
    # the inner and outer face of a cup's rim meet at one position after decimation: averaging gives zero,
    # which glTF rejects (ACCESSOR_VECTOR3_NON_UNIT) and shades black
    v = np.array([[0.5, 1.0, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 0.0]])
    n = np.array([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    out = weld_normals(v, n)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0)
    assert np.allclose(out[0], [1.0, 0.0, 0.0]) and np.allclose(out[1], [-1.0, 0.0, 0.0])
    assert np.allclose(out[2], [0.0, 1.0, 0.0])  # no normal of its own: points up
