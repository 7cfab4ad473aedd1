"""Open containers: the photos show a cup's opening that its silhouettes cannot, and the model keeps it."""

from __future__ import annotations

import io

import numpy as np
import pytest
import trimesh

from devstore.studio import make_product, render_views
from devstore.studio.shapes import StudioProduct, _finish, _revolve, _sweep_tube
from generation import CameraConfig, Engine, EngineConfig, ExportConfig, SegmentConfig, TextureConfig

from .conftest import SMALL, png_bytes

ELEVATION = 30.0


def _cup(*, liquid_below_rim: float | None, handle: bool = False) -> StudioProduct:
    """A straight-walled cup 9 cm tall: empty (a floor 1 cm up) or filled with coffee; a handle on +x makes
    it a mug no prism explains (the carved hull is hollowed instead of a fitted cylinder)."""
    r, h, wall = 0.04, 0.09, 0.004
    inside = h - liquid_below_rim if liquid_below_rim is not None else 0.01
    body = _revolve([(0, 0), (r, 0), (r, h), (r - wall, h), (r - wall, inside), (0, inside)], sections=96)
    if handle:
        a = np.linspace(-np.pi / 2, np.pi / 2, 40)
        path = np.stack([r - 0.004 + 0.03 * np.cos(a), 0.045 + 0.028 * np.sin(a), np.zeros_like(a)], 1)
        body = trimesh.util.concatenate([body, _sweep_tube(path, 0.0065, 0.0052)])
    glaze, coffee = np.array([225.0, 120.0, 60.0]), np.array([60.0, 40.0, 25.0])

    def colour(p, _n):
        out = np.tile(glaze, (len(p), 1))
        inner = (np.hypot(p[:, 0], p[:, 2]) < r - wall + 1e-4) & (p[:, 1] < h - 1e-4)
        if liquid_below_rim is not None:
            out[inner & (np.abs(p[:, 1] - inside) < 1e-4)] = coffee
        else:
            # the studio renderer has no occlusion: a real cup's inside, shaded by its wall, is drawn darker
            out[inner] *= 0.6
        return out

    mesh = _finish(body, colour)
    return StudioProduct("mug", "Terracotta Cup", "Kitchen", mesh, tuple(mesh.extents), surface=colour)


def _engine(elevation: float) -> Engine:
    # the camera is given (estimation is tested elsewhere): this tests what the photos show inside the rim
    return Engine(
        EngineConfig(
            segment=SegmentConfig(work_size=192),
            camera=CameraConfig(estimate=False, default_elevation_deg=elevation, default_fov_deg=30.0),
            texture=TextureConfig(source_size=192),
            export=ExportConfig(splat_count=2000, preview_size=64),
        )
    )


def _generate(product: StudioProduct, elevation: float, title: str | None):
    ims = render_views(product, n_views=4, size=192, supersample=1, elevation_deg=elevation)
    return _engine(elevation).generate([png_bytes(im) for im in ims], prompt=title, params=SMALL)


def _mesh(glb: bytes) -> trimesh.Trimesh:
    return trimesh.load(io.BytesIO(glb), file_type="glb", force="mesh")


def _inside(mesh: trimesh.Trimesh, points) -> list[bool]:
    """Point-in-mesh by the parity of a ray's crossings (a slanted ray misses edges and vertices)."""
    tri = mesh.triangles
    d = np.array([0.5773, 0.0917, 0.8115])
    out = []
    for p in np.asarray(points, dtype=np.float64):
        e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
        h = np.cross(d, e2)
        det = (e1 * h).sum(1)
        ok = np.abs(det) > 1e-12
        inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
        s = p - tri[:, 0]
        u = (s * h).sum(1) * inv
        q = np.cross(s, e1)
        v = (q * d).sum(1) * inv
        t = (q * e2).sum(1) * inv
        hits = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)
        out.append(bool(hits.sum() % 2))
    return out


def test_an_empty_cup_keeps_its_opening_and_a_deep_interior():
    res = _generate(_cup(liquid_below_rim=None), ELEVATION, "Terracotta Cup")
    opening = res.stats["opening"]
    assert opening is not None and opening["views"] == 4
    mesh = _mesh(res.glb)
    lo, hi = mesh.bounds
    centre = (lo + hi) / 2
    height = hi[1] - lo[1]
    # the axis is empty from just under the rim to half-way down; the base is still solid
    probes = np.array([[centre[0], lo[1] + f * height, centre[2]] for f in (0.9, 0.7, 0.5, 0.03)])
    assert _inside(mesh, probes) == [False, False, False, True]


def test_a_mug_with_a_handle_is_carved_and_hollowed_and_keeps_its_handle():
    res = _generate(_cup(liquid_below_rim=None, handle=True), ELEVATION, "Terracotta Mug")
    assert res.stats["shape_model"] == "carved"
    assert res.stats["opening"] is not None
    mesh = _mesh(res.glb)
    lo, hi = mesh.bounds
    body_x = lo[0] + (hi[2] - lo[2]) / 2  # the body's axis: the model is as deep as the body is wide
    height = hi[1] - lo[1]
    probes = np.array([[body_x, lo[1] + f * height, (lo[2] + hi[2]) / 2] for f in (0.9, 0.6, 0.03)])
    assert _inside(mesh, probes) == [False, False, True]
    assert hi[0] - lo[0] > 1.2 * (hi[2] - lo[2])  # the handle sticks out on +x
    normals = np.asarray(mesh.vertex_normals)
    assert np.allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-3)


def test_a_filled_cup_is_hollowed_only_down_to_the_liquid():
    res = _generate(_cup(liquid_below_rim=0.012), ELEVATION, "Terracotta Cup")
    assert res.stats["opening"] is not None
    mesh = _mesh(res.glb)
    lo, hi = mesh.bounds
    centre = (lo + hi) / 2
    height = hi[1] - lo[1]
    probes = np.array([[centre[0], lo[1] + f * height, centre[2]] for f in (0.95, 0.6, 0.3)])
    assert _inside(mesh, probes) == [False, True, True]


@pytest.mark.parametrize("title", [None, "Terracotta Cup"])
def test_a_closed_can_is_not_hollowed_even_when_the_title_says_cup(title):
    res = _generate(make_product("can"), ELEVATION, title)
    assert res.stats["opening"] is None
    mesh = _mesh(res.glb)
    lo, hi = mesh.bounds
    centre = (lo + hi) / 2
    assert _inside(mesh, [[centre[0], lo[1] + 0.8 * (hi[1] - lo[1]), centre[2]]]) == [True]


def test_no_opening_is_looked_for_when_the_photos_barely_see_the_top():
    res = _generate(_cup(liquid_below_rim=None), 5.0, "Terracotta Cup")
    assert res.stats["opening"] is None
