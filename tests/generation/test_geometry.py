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


def _with_parts(blocks: list[tuple[slice, slice]]) -> Volume:
    """The carved mug with its handle replaced by blocks at (x, z), heights 15-45."""
    vol = _carved_mug()
    occ = (vol.field < 0).numpy()
    occ[50:] = False
    for xs, zs in blocks:
        occ[xs, 15:45, zs] = True
    vol.field.copy_(torch.where(torch.as_tensor(occ), -1.0, 1.0) * 0.01)
    return vol


def test_a_handle_turned_45_deg_is_thinned_along_its_own_direction():
    # four photos 90 deg apart carve a diagonal handle as a whole corner block beyond the body
    vol = _with_parts([(slice(52, 64), slice(52, 64))])
    apply_priors(vol, math.radians(12), p_override=2.0, appendage_depth=0.2)
    kept = np.argwhere((vol.field < 0).numpy()[50:, 30, 50:]) + [50.5, 50.5]
    assert len(kept) > 0, "the handle itself stays"
    # every kept voxel near the diagonal through the body's axis (30, 30): 0.2 x the 20-voxel half-width
    off_diagonal = np.abs((kept[:, 0] - 30) - (kept[:, 1] - 30)) / np.sqrt(2)
    assert off_diagonal.max() <= 4 + 1


def test_parts_on_every_side_are_left_alone():
    # a handle and a spout (or carve noise all round): no one plane to thin to
    blocks = [(slice(54, 60), slice(10, 50)), (slice(2, 8), slice(10, 50))]
    plain, prior = _with_parts(blocks), _with_parts(blocks)
    apply_priors(plain, math.radians(12), p_override=2.0)
    apply_priors(prior, math.radians(12), p_override=2.0, appendage_depth=0.2)
    assert torch.equal(plain.field, prior.field)


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


def _outline_masks(rig, shapes) -> list[np.ndarray]:
    """Each view's silhouette of the union of prisms ((params, exponent) pairs), drawn with Pillow."""
    from PIL import Image, ImageDraw

    from generation.prism_outlines import silhouettes

    masks = [np.zeros((rig.height, rig.width), bool) for _ in range(rig.n_views)]
    for params, p in shapes:
        for mask, poly in zip(masks, silhouettes(rig, np.asarray(params, float), p), strict=True):
            im = Image.new("L", (rig.width, rig.height), 0)
            ImageDraw.Draw(im).polygon([tuple(v) for v in poly], fill=255)
            mask |= np.asarray(im) > 127
    return masks


def test_the_body_s_own_slices_leave_out_a_handle_joined_along_its_height():
    # a handle at 45 deg to four photos never shows its hole: every slice is one part as wide as body and
    # handle; the body masks (each photo without the handle) give the body's own box at every height
    from generation.cameras import Rig
    from generation.geometry import body_slices, carve, slice_stats

    rig = Rig.turntable(4, elevation_deg=15.0, fov_deg=35.0, width=192, height=192)
    body = ([0.0, 0.0, -0.1, 0.1, 0.08, 0.08, 0.0], 2.0)
    handle = ([0.075, 0.075, -0.06, 0.06, 0.05, 0.012, -np.pi / 4], 12.0)  # a slab leaving the body at 45 deg
    vol = carve(rig, _outline_masks(rig, [body, handle]), resolution=64, device=torch.device("cpu"))
    occ = (vol.field < 0).numpy()
    whole = slice_stats(occ)
    own = body_slices(vol, rig, _outline_masks(rig, [body]))
    mid = int(np.argmax(whole.area))  # a slice at the handle's height
    assert (whole.x1[mid] - whole.x0[mid]) * vol.voxel > 0.2  # body (0.16) and handle together
    for j in range(mid - 3, mid + 4):
        assert own.area[j] > 0
        assert abs((own.x1[j] - own.x0[j]) * vol.voxel - 0.16) <= 3 * vol.voxel
        assert abs((own.z1[j] - own.z0[j]) * vol.voxel - 0.16) <= 3 * vol.voxel
