"""Texture blending: photos taken at different exposures agree after gain matching."""

from __future__ import annotations

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
