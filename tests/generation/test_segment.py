"""Segmentation on a studio background: soft floor shadows are background, an off-white printed label is not."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from generation.segment import segment


def _pale_tin_with_shadow() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    h, w = 240, 200
    img = np.full((h, w, 3), 255.0)
    yy, xx = np.mgrid[0:h, 0:w]
    # a soft contact shadow on the floor: grey, darkest under the product, fading out
    shadow = np.exp(-(((xx - 100) / 70.0) ** 2) - ((yy - 200) / 12.0) ** 2)
    img -= 70.0 * shadow[..., None]
    product = np.zeros((h, w), bool)
    product[40:200, 60:140] = True
    img[product] = (240, 235, 220)  # an off-white label, nearly the background's colour
    # fine print over its lower half: faint glyph-sized specks on the pale label
    glyphs = (rng.random((h, w)) < 0.25) & product & (yy > 120)
    glyphs = ndimage.binary_dilation(glyphs, iterations=1) & product & (yy > 120)
    img[glyphs] = (200, 205, 195)
    img[product] *= np.linspace(1.0, 0.82, h)[yy[product]][:, None]  # lit from above
    return np.clip(img, 0, 255).astype(np.uint8), product


def test_an_off_white_label_over_a_floor_shadow_stays_product():
    img, product = _pale_tin_with_shadow()
    mask = segment(img, None).mask
    lost = (product & ~mask).sum() / product.sum()
    extra = (mask & ~product).sum() / product.sum()
    assert lost < 0.02, f"{lost:.1%} of the label was taken for shadow"
    assert extra < 0.03, f"{extra:.1%} of the shadow was taken for product"


def _cushion_side_with_seam(gap: int) -> tuple[np.ndarray, np.ndarray]:
    """A lens-shaped cushion seen edge-on whose two faces leave a see-through seam ``gap`` px wide."""
    h, w = 240, 200
    yy, xx = np.mgrid[0:h, 0:w]
    lens = ((xx - 100) / 40.0) ** 2 + ((yy - 120) / 100.0) ** 2 <= 1.0
    seam = (np.abs(xx - 100 + 0.5) < gap / 2) & (yy < 190)
    img = np.full((h, w, 3), 255, np.uint8)
    img[lens & ~seam] = (200, 90, 60)
    return img, lens


def test_a_seam_between_two_faces_does_not_split_the_product():
    img, lens = _cushion_side_with_seam(gap=6)
    mask = segment(img, None).mask
    assert (lens & ~mask).sum() / lens.sum() < 0.01  # the seam is filled


def test_a_handle_opening_stays_open():
    h, w = 240, 240
    img = np.full((h, w, 3), 255, np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    body = (xx >= 50) & (xx < 150) & (yy >= 40) & (yy < 200)
    ring = np.hypot(xx - 150, yy - 120)
    handle = (ring >= 25) & (ring < 40) & (xx >= 150)
    img[body | handle] = (184, 180, 172)
    opening = (ring < 22) & (xx >= 155)  # its middle (the edges blur into the handle)
    mask = segment(img, None).mask
    assert mask[opening].mean() < 0.05
