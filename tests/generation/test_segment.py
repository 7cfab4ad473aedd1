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
