"""The studio products and the CPU product-photo renderer."""

import numpy as np
import pytest

from devstore.studio import PRODUCT_KINDS, camera_for_view, make_product, rasterize, render_view, render_views


@pytest.mark.parametrize("kind", PRODUCT_KINDS)
def test_products_have_real_sizes_and_sit_on_the_floor(kind):
    p = make_product(kind)
    lo, hi = p.mesh.bounds
    assert abs(lo[1]) < 1e-9, "base rests on y = 0"
    assert abs(lo[0] + hi[0]) < 1e-9 and abs(lo[2] + hi[2]) < 1e-9, "centred on x = z = 0"
    assert 0.02 < max(p.size_m) < 0.5, "retail products are a few cm to half a metre"
    assert p.mesh.visual.vertex_colors.shape == (len(p.mesh.vertices), 4)
    assert p.name and p.category
    assert p.kind == kind


def test_products_are_deterministic_and_seed_varies_them():
    a, b, c = make_product("can"), make_product("can"), make_product("can", seed=3)
    assert np.array_equal(a.mesh.vertices, b.mesh.vertices)
    assert np.array_equal(a.mesh.visual.vertex_colors, b.mesh.visual.vertex_colors)
    assert a.size_m != c.size_m


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown product kind"):
        make_product("spaceship")


def test_rasterize_covers_a_square_exactly():
    xy = np.array([[2.0, 2.0], [6.0, 2.0], [6.0, 6.0], [2.0, 6.0]])
    fid, bary, depth = rasterize(xy, np.ones(4), np.array([[0, 1, 2], [0, 2, 3]]), 8, 8)
    assert (fid >= 0).sum() == 16
    assert np.allclose(bary[fid >= 0].sum(-1), 1.0)
    assert np.all(np.isinf(depth[fid < 0]))


def test_render_views_are_white_studio_photos():
    p = make_product("box")
    views = render_views(p, n_views=4, size=128, supersample=1)
    assert len(views) == 4
    for im in views:
        a = np.asarray(im)
        assert im.size == (128, 128) and im.mode == "RGB"
        assert tuple(a[0, 0]) == (255, 255, 255), "white background at the corner"
        assert (a.sum(-1) < 600).mean() > 0.05, "the product is visible"
    # box is 19 cm wide and 7 cm deep: front view wider than the left view
    w_front = (np.asarray(views[0]).sum(-1) < 700).any(0).sum()
    w_left = (np.asarray(views[1]).sum(-1) < 700).any(0).sum()
    assert w_front > 1.8 * w_left


def test_view_order_is_counter_clockwise_from_above():
    p = make_product("mug")  # handle on +X, the product's left
    cam_left = camera_for_view(p, 90.0)
    assert cam_left.position[0] > 0 and abs(cam_left.position[2]) < 1e-6
    front = np.asarray(render_view(p, 0.0, size=128, supersample=1, shadow=False)).sum(-1) < 700
    # the frame is centred on the bounding box (body + handle): the heavy body sits left, the thin handle right
    assert front[:, :64].sum() > 1.3 * front[:, 64:].sum(), (
        "handle (+X) appears on the right in the front view"
    )


def test_transparent_background_gives_alpha():
    im = render_view(make_product("bottle"), 0.0, size=96, background=None, supersample=1)
    a = np.asarray(im)
    assert im.mode == "RGBA"
    assert a[0, 0, 3] == 0 and a[48, 48, 3] == 255
