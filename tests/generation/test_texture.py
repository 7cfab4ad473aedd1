"""Texture blending: photos taken at different exposures agree after gain matching; unseen texels take a
nearby seen colour."""

from __future__ import annotations

import math

import numpy as np
import torch

from generation.texture import exposure_gains


def test_a_darker_photo_is_brightened_to_match_where_the_photos_overlap():
    gen = torch.Generator().manual_seed(0)
    surface = 40 + 180 * torch.rand((2000, 3), generator=gen)
    darker = surface * torch.tensor([0.8, 0.8, 0.9])  # the second photo under-exposed, a little warm
    cols = torch.stack([surface, darker])
    wts = torch.ones((2, 2000))
    wts[1, :1000] = 0.0  # the second photo sees only half of what the first does
    gains = exposure_gains(cols, wts)
    matched = cols * gains[:, None, :]
    assert torch.allclose(matched[0, 1000:], matched[1, 1000:], rtol=1e-3)
    assert torch.allclose(gains.log().mean(0), torch.zeros(3), atol=1e-3)  # the average exposure is kept


def test_photos_without_shared_texels_keep_their_colours():
    cols = torch.full((2, 100, 3), 120.0)
    wts = torch.zeros((2, 100))
    wts[0, :50] = 1.0
    wts[1, 50:] = 1.0
    assert torch.equal(exposure_gains(cols, wts), torch.ones((2, 3)))


def test_unseen_points_take_a_seen_neighbour_within_one_cell_of_the_nearest():
    from scipy.spatial import cKDTree

    from generation.texture import _nearest_per_cell

    rng = np.random.default_rng(3)
    seen = rng.uniform(-1, 1, (500, 3))
    unseen = rng.uniform(-1, 1, (4000, 3))
    tree = cKDTree(seen)
    exact_d, exact = tree.query(unseen, k=1)
    cell = 0.05
    got = _nearest_per_cell(tree, unseen, cell)
    got_d = np.linalg.norm(seen[got] - unseen, axis=1)
    # a cube's points share its first point's neighbour: at most one cube diagonal (twice) farther
    assert np.all(got_d <= exact_d + 2 * math.sqrt(3) * cell + 1e-12)
    assert np.mean(got == exact) > 0.8
    assert np.array_equal(_nearest_per_cell(tree, unseen, 0.0), exact)  # no cell: one query per point
