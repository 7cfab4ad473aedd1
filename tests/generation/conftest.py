"""Shared fixtures for the engine tests: small studio photos and one engine run reused across tests."""

from __future__ import annotations

import io

import numpy as np
import pytest

from devstore.studio import make_product, render_views
from generation import Engine, EngineConfig, ExportConfig, GenerationParams, SegmentConfig, TextureConfig
from generation.export import encode_texture, write_glb

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


def box_glb(size=(0.3, 0.5, 0.2), colour=(200, 30, 40), offset=(0.0, 0.0, 0.0)) -> bytes:
    """A textured box (its base at y = 0), off-centre by `offset`, in one solid colour."""
    sx, sy, sz = size
    corners = np.array(
        [[x, y, z] for x in (-sx / 2, sx / 2) for y in (0, sy) for z in (-sz / 2, sz / 2)], dtype=np.float32
    ) + np.asarray(offset, dtype=np.float32)
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    verts, faces, normals, uvs = [], [], [], []
    for quad in quads:
        base = len(verts)
        pts = corners[list(quad)]
        n = np.cross(pts[1] - pts[0], pts[2] - pts[0])
        verts += list(pts)
        normals += [n / np.linalg.norm(n)] * 4
        uvs += [(0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.1, 0.9)]
        faces += [(base, base + 1, base + 2), (base, base + 2, base + 3)]
    texture = np.zeros((8, 8, 3), dtype=np.uint8) + np.asarray(colour, dtype=np.uint8)
    tex, mime = encode_texture(texture, "png")
    return write_glb(np.array(verts), np.array(faces), np.array(normals), np.array(uvs), tex, mime)
