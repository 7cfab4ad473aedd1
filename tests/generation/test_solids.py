"""Exact prisms chosen by how well they explain every silhouette; the carved hull where none does."""

from __future__ import annotations

import numpy as np

from devstore.studio import make_product, render_views
from generation.weightfree import _row_colours

from .conftest import SMALL, png_bytes


def test_a_can_becomes_a_cylinder(can_result):
    assert can_result.stats["shape_model"] == "cylinder"
    errs = can_result.stats["solid_errors_px"]
    assert errs["cylinder"] < errs["cuboid"]


def test_a_box_becomes_a_cuboid_with_flat_faces(engine, box_photos):
    res = engine.generate(box_photos, params=SMALL)
    assert res.stats["shape_model"] == "cuboid"


def test_a_mug_with_a_handle_keeps_the_carved_shape(engine):
    ims = render_views(make_product("mug"), n_views=4, size=192, supersample=1)
    res = engine.generate([png_bytes(im) for im in ims], params=SMALL)
    assert res.stats["shape_model"] == "carved"
    assert min(res.stats["solid_errors_px"].values()) > 1.25


def test_the_title_does_not_force_a_shape(engine, can_photos):
    res = engine.generate(can_photos, prompt="cereal box", params=SMALL)
    assert res.stats["shape_prior"] == "box" and res.stats["shape_model"] == "cylinder"


def test_single_photo_backs_keep_colours_but_not_print():
    rng = np.random.default_rng(0)
    photo = np.full((40, 30, 3), 255, dtype=np.uint8)
    photo[5:35, 5:25] = rng.integers(0, 255, (30, 20, 3))  # "fine print": every pixel different
    photo[20:24, 5:25] = (200, 10, 10)  # a red band
    mask = np.zeros((40, 30), dtype=bool)
    mask[5:35, 5:25] = True
    back = _row_colours(photo, mask)
    inside = back[5:35, 5:25].astype(int)
    assert (inside.max(1) - inside.min(1)).max() == 0, "each row is one colour: no glyphs copied"
    assert tuple(back[22, 10]) == (200, 10, 10) or back[22, 10, 0] > 150  # the band survives
    assert (back[~mask] == 255).all()
