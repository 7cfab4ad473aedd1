"""What a product title selects: a shape class for the hidden depth of a single photo, and a typical height."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from devstore.studio import render_views
from devstore.studio.shapes import StudioProduct, _finish
from generation.titles import prompt_height, prompt_prior

from .conftest import SMALL, png_bytes


@pytest.mark.parametrize(
    ("title", "prior"),
    [
        ("Veloce running shoe", "footwear"),
        ("Trail Sneakers, men's", "footwear"),
        ("Chelsea boots in suede", "footwear"),
        ("Stride trail runner shoe box", "box"),  # the box it comes in is a box
        ("Shoe polish tin", "revolve"),
        ("Plush teddy bear", "blob"),
        ("Knitted cushion 40 cm", "soft"),
        ("Bootcut jeans", None),  # not a boot
        (None, None),
    ],
)
def test_title_selects_a_shape_class(title, prior):
    assert prompt_prior(title) == prior


def test_title_gives_a_typical_height():
    assert prompt_height("Veloce running shoe") == pytest.approx(0.12)
    assert prompt_height("Hiking boot") == pytest.approx(0.2)
    assert prompt_height("Gift card") is None
    assert prompt_height("Set of 4 mugs") == pytest.approx(0.1)
    assert prompt_height("Storage boxes, pack of 3") == pytest.approx(0.25)
    # a word that merely starts like a size word is not one
    assert prompt_height("Beeswax candle") == pytest.approx(0.1)  # not a can's 0.122 m
    assert prompt_height("Canvas tote") is None
    assert prompt_height("Cupboard organiser") is None


def _shoe(length=0.28, height=0.09, width=0.1) -> StudioProduct:
    """A shoe-sized ellipsoid, toe towards +x: seen from the front camera it is side-on."""
    mesh = trimesh.creation.icosphere(subdivisions=4)
    mesh.apply_scale([length / 2, height / 2, width / 2])

    def colour(pts, normals):  # a red upper on a white sole
        return np.where(pts[:, 1:2] > 0.0, [[200.0, 40.0, 40.0]], [[240.0, 240.0, 240.0]])

    mesh = _finish(mesh, colour)
    return StudioProduct("shoe", "Veloce running shoe", "Footwear", mesh, tuple(mesh.extents), surface=colour)


def test_one_side_on_photo_of_a_shoe_is_as_narrow_as_a_shoe(engine):
    shoe = _shoe()
    front = render_views(shoe, n_views=4, size=192, supersample=1)[0]
    res = engine.generate([png_bytes(front)], prompt=shoe.name, params=SMALL)
    width, _, depth = res.stats["size_m"]
    assert res.stats["shape_prior"] == "footwear"
    assert depth / width == pytest.approx(0.1 / 0.28, rel=0.2)  # a blob's guess made it 0.75


def test_a_shoe_seen_toe_on_keeps_the_generic_guess(engine):
    shoe = _shoe()
    toe_on = render_views(shoe, n_views=4, size=192, supersample=1)[
        1
    ]  # the camera at 90 deg looks at the toe
    res = engine.generate([png_bytes(toe_on)], prompt=shoe.name, params=SMALL)
    assert res.stats["shape_prior"] == "blob"
