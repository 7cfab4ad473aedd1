"""Shape priors on a carved volume: what a handle hidden behind its body becomes."""

from __future__ import annotations

import math

import numpy as np
import torch

from generation.geometry import Volume, apply_priors


def _carved_mug() -> Volume:
    """What four photos 90 deg apart carve of a mug with its handle beside the body in x: a square-section body
    (40 x 40 voxels) and, at the handle's mid heights, the handle's outer bar as a separate block as deep as the
    body (the photos from the handle's side see it only in front of the body)."""
    occ = np.zeros((80, 60, 60), bool)
    occ[10:50, 5:55, 10:50] = True  # body: x 10-50, z 10-50
    occ[56:62, 15:45, 10:50] = True  # the handle's bar beyond a gap (the handle's hole), full body depth
    field = torch.where(torch.as_tensor(occ), -1.0, 1.0).to(torch.float32) * 0.01
    return Volume(field, np.zeros(3), 0.01)


def _z_extent(vol: Volume, xs: slice, ys: slice = slice(20, 40)) -> int:
    inside = (vol.field < 0).numpy()[xs, ys, :]
    zs = np.nonzero(inside.any((0, 1)))[0]
    return 0 if len(zs) == 0 else int(zs[-1] - zs[0] + 1)


def test_a_handle_beside_a_round_body_is_thinned_to_a_slab():
    plain, thinned = _carved_mug(), _carved_mug()
    apply_priors(plain, math.radians(12), p_override=2.0)
    apply_priors(thinned, math.radians(12), p_override=2.0, appendage_depth=0.2)
    assert _z_extent(plain, slice(56, 62)) == 40  # without the prior the handle stays as deep as the body
    assert 4 <= _z_extent(thinned, slice(56, 62)) <= 10  # 0.2 x the body's 20-voxel half-depth, each side
    # centred on the body, and the body itself is untouched
    zs = np.nonzero((thinned.field < 0).numpy()[56:62, 30, :].any(0))[0]
    assert abs((zs[0] + zs[-1] + 1) / 2 - 30) <= 1
    assert torch.equal(plain.field[:55], thinned.field[:55])


def test_parts_that_overlap_the_body_or_sit_diagonally_are_left_alone():
    vol = _carved_mug()
    occ = (vol.field < 0).numpy()
    occ[56:62] = False
    occ[56:62, 15:45, 52:58] = True  # beside the body in x *and* z: no one direction to thin across
    vol.field.copy_(torch.where(torch.as_tensor(occ), -1.0, 1.0) * 0.01)
    before = vol.field[56:62].clone()
    apply_priors(vol, math.radians(12), p_override=2.0, appendage_depth=0.2)
    assert torch.equal(vol.field[56:62], before)


def test_where_the_handle_joins_the_body_the_body_keeps_its_own_round_section():
    # at the attachment heights the slice is one part, as wide as body and handle together: its round section
    # must still be the body's, not an ellipse spanning the handle too
    plain, joined = _carved_mug(), _carved_mug()
    occ = (joined.field < 0).numpy()
    occ[50:62, 15:20, 10:50] = True  # the lower attachment: body and handle in one block
    joined.field.copy_(torch.where(torch.as_tensor(occ), -1.0, 1.0) * 0.01)
    apply_priors(plain, math.radians(12), p_override=2.0, appendage_depth=0.2)
    apply_priors(joined, math.radians(12), p_override=2.0, appendage_depth=0.2)
    body = (joined.field < 0).numpy()[:50, 17, :]
    assert np.array_equal(body, (plain.field < 0).numpy()[:50, 17, :])  # the same round body as elsewhere
    assert (
        body[10:14].sum() < body[28:32].sum()
    )  # rounded: the far side (x 10-14) is narrower than the middle
    assert 4 <= _z_extent(joined, slice(52, 62), slice(15, 20)) <= 10  # and the joined handle is thin
