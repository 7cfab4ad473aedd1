"""Camera elevation and field of view from the photos (generation/calibrate.py) and their report in metadata."""

from __future__ import annotations

import numpy as np
import pytest

from devstore.studio import make_product, render_views
from generation import CameraConfig, Engine, EngineConfig, ExportConfig, SegmentConfig, TextureConfig
from generation.calibrate import estimate_camera
from generation.segment import segment

from .conftest import SMALL, png_bytes


def _estimate(kind: str, elevation: float, fov: float, views: int = 4):
    ims = render_views(
        make_product(kind), n_views=views, size=256, supersample=1, elevation_deg=elevation, fov_deg=fov
    )
    segs = [segment(np.asarray(im), None, view=i) for i, im in enumerate(ims)]
    return estimate_camera([s.mask for s in segs], [s.soft for s in segs], height=256, config=CameraConfig())


@pytest.mark.parametrize(("kind", "elevation", "fov"), [("can", 25, 45), ("can", 35, 20), ("box", 25, 45)])
def test_elevation_and_fov_are_recovered(kind, elevation, fov):
    est = _estimate(kind, elevation, fov)
    assert abs(est.elevation_deg - elevation) <= 5, est
    assert abs(est.fov_deg - fov) <= 10, est
    assert est.confidence > 0.5 and est.cues


def test_a_single_photo_of_a_can_gives_its_elevation():
    est = _estimate("can", 35, 20, views=1)
    assert abs(est.elevation_deg - 35) <= 5, est


def test_curved_products_give_no_cue_and_zero_confidence():
    est = _estimate("soft", 25, 45)
    assert est.cues == [] and est.confidence == 0.0


def test_metadata_reports_the_camera_and_how_it_was_found(can_result):
    pose = can_result.metadata["camera_pose"]
    assert {"elevation_deg", "fov_deg", "azimuths_deg", "estimated", "confidence", "cues"} <= set(pose)
    assert 0.0 <= pose["confidence"] <= 1.0 and pose["cues"]
    assert pose["estimated"] == (pose["confidence"] >= CameraConfig().min_confidence)
    assert -2 <= pose["elevation_deg"] <= 40 and 16 <= pose["fov_deg"] <= 70


def test_estimation_can_be_switched_off(can_photos):
    engine = Engine(
        EngineConfig(
            camera=CameraConfig(estimate=False, default_elevation_deg=14.0, default_fov_deg=33.0),
            segment=SegmentConfig(work_size=192),
            texture=TextureConfig(source_size=192),
            export=ExportConfig(splat_count=2000, preview_size=64),
        )
    )
    pose = engine.generate(can_photos, params=SMALL).metadata["camera_pose"]
    assert pose["estimated"] is False and pose["confidence"] == 0.0
    assert pose["elevation_deg"] == 14.0 and pose["fov_deg"] == pytest.approx(33.0)


def test_tilted_photos_change_the_reconstruction_camera(engine):
    ims = render_views(make_product("can"), n_views=4, size=192, supersample=1, elevation_deg=30, fov_deg=50)
    pose = engine.generate([png_bytes(im) for im in ims], params=SMALL).metadata["camera_pose"]
    assert abs(pose["elevation_deg"] - 30) <= 6


@pytest.mark.parametrize(("elevation", "fov", "views"), [(30, 30, 4), (35, 25, 4), (30, 30, 1)])
def test_a_mug_gives_its_elevation_from_its_rim_although_its_handle_breaks_a_side(elevation, fov, views):
    # the handle bends one side's outline, so there is no vertical-edge cue: the rim arc alone must do
    est = _estimate("mug", elevation, fov, views=views)
    assert abs(est.elevation_deg - elevation) <= 5, est
    assert any(c.endswith("top_rim") for c in est.cues), est
