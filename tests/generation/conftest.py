"""Shared fixtures for the engine tests: small studio photos and one engine run reused across tests."""

from __future__ import annotations

import io

import pytest

from devstore.studio import make_product, render_views
from generation import Engine, EngineConfig, ExportConfig, GenerationParams, SegmentConfig, TextureConfig

SMALL = GenerationParams(resolution=128, face_limit=3000, texture_size=256)


def png_bytes(image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="session")
def can_photos() -> list[bytes]:
    return [png_bytes(im) for im in render_views(make_product("can"), n_views=4, size=192, supersample=1)]


@pytest.fixture(scope="session")
def box_photos() -> list[bytes]:
    return [png_bytes(im) for im in render_views(make_product("box"), n_views=4, size=192, supersample=1)]


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine(
        EngineConfig(
            segment=SegmentConfig(work_size=192),
            texture=TextureConfig(source_size=192),
            export=ExportConfig(splat_count=5000, preview_size=128),
        )
    )


@pytest.fixture(scope="session")
def can_result(engine, can_photos):
    return engine.generate(can_photos, prompt=None, params=SMALL, device="cpu")
