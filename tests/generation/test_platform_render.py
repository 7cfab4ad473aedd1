"""Platform renders: every size, the product centred and visible, clear errors for bad models and platforms."""

from __future__ import annotations

import io
import json
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from generation.glb_reader import EmptyModel, ModelUnreadable, read_glb
from generation.platform_render import (
    PLATFORMS,
    RenderConfig,
    UnknownPlatform,
    _Scene,
    background,
    render_image,
    render_platforms,
)
from tests.generation.conftest import box_glb


def decode(jpeg: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"), dtype=np.float32)


def product_mask(pixels: np.ndarray) -> np.ndarray:
    """Pixels that differ clearly from the empty backdrop of the same size (the shadow is fainter)."""
    h, w, _ = pixels.shape
    empty = background(w, h, torch.device("cpu"))
    srgb = torch.where(empty <= 0.0031308, empty * 12.92, 1.055 * empty ** (1 / 2.4) - 0.055) * 255
    return np.abs(pixels - srgb.numpy()).max(axis=2) > 60


@pytest.mark.parametrize("key", list(PLATFORMS))
def test_each_platform_has_its_aspect_and_the_product_centred(key):
    (image,) = render_platforms(box_glb(offset=(0.7, 0.2, -0.4)), [key], device="cpu", scale=0.1)
    target = PLATFORMS[key]
    pixels = decode(image.jpeg)
    assert (image.width, image.height) == (round(target.width * 0.1), round(target.height * 0.1))
    assert pixels.shape == (image.height, image.width, 3)
    mask = product_mask(pixels)
    ys, xs = np.nonzero(mask)
    assert mask.mean() > 0.08, "the product takes a visible part of the frame"
    # centred: the outline's middle is within 6% of the frame's middle, whatever the model's own offset
    assert abs((xs.min() + xs.max()) / 2 - image.width / 2) < 0.06 * image.width
    assert abs((ys.min() + ys.max()) / 2 - image.height / 2) < 0.06 * image.height
    # framed with a margin: the product never touches the edges
    assert xs.min() > 0 and ys.min() > 0 and xs.max() < image.width - 1 and ys.max() < image.height - 1
    # the texture's red shows (lit, not black), and the backdrop stays light
    product = pixels[mask]
    assert product[:, 0].mean() > 1.8 * product[:, 1].mean()
    assert pixels[~mask].mean() > 180


def test_full_size_story_has_exact_dimensions():
    (image,) = render_platforms(
        box_glb(), ["instagram-story"], device="cpu", config=RenderConfig(supersample=1)
    )
    assert Image.open(io.BytesIO(image.jpeg)).size == (1080, 1920)
    assert (image.width, image.height) == (1080, 1920)


def test_lighting_gives_the_faces_different_brightness():
    # Three visible faces of a uniformly coloured box must not render as one flat silhouette.
    scene = _Scene.load(read_glb(box_glb(colour=(180, 180, 180))), torch.device("cpu"))
    pixels = render_image(scene, 96, 96, config=RenderConfig()).astype(np.float32)
    mask = product_mask(pixels)
    levels = np.unique((pixels[mask].mean(axis=1) / 12).round())
    assert len(levels) >= 3


def test_engine_model_renders(can_result):
    images = render_platforms(can_result.glb, ["twitter-post", "instagram-post"], device="cpu", scale=0.08)
    assert [i.platform.key for i in images] == ["twitter-post", "instagram-post"]
    for image in images:
        mask = product_mask(decode(image.jpeg))
        assert mask.mean() > 0.05


def test_progress_and_cancel():
    seen = []
    render_platforms(
        box_glb(),
        ["instagram-post", "facebook-post"],
        device="cpu",
        scale=0.05,
        progress=lambda s, p: seen.append((s, p)),
    )
    assert seen == [("instagram-post", 0.0), ("facebook-post", 50.0), ("done", 100.0)]
    with pytest.raises(Exception) as info:
        render_platforms(box_glb(), ["instagram-post"], device="cpu", scale=0.05, should_cancel=lambda: True)
    assert getattr(info.value, "code", None) == "canceled"


def test_unknown_platform_is_named():
    with pytest.raises(UnknownPlatform) as info:
        render_platforms(box_glb(), ["instagram-post", "tiktok-video"], device="cpu", scale=0.05)
    assert "tiktok-video" in info.value.message and "instagram-story" in info.value.message
    with pytest.raises(UnknownPlatform):
        render_platforms(box_glb(), [], device="cpu")


def _glb(doc: dict, binary: bytes = b"") -> bytes:
    js = json.dumps(doc).encode()
    js += b" " * (-len(js) % 4)
    binary += b"\0" * (-len(binary) % 4)
    body = struct.pack("<I4s", len(js), b"JSON") + js
    if binary:
        body += struct.pack("<I4s", len(binary), b"BIN\0") + binary
    return struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        (b"not a model at all", ModelUnreadable, "not a binary glTF"),
        (box_glb()[:200], ModelUnreadable, "truncated"),
        (_glb({"asset": {"version": "2.0"}, "scenes": [{}], "scene": 0}), EmptyModel, "no triangles"),
        (
            _glb({"asset": {"version": "2.0"}, "scenes": [{"nodes": [3]}], "nodes": []}),
            ModelUnreadable,
            "nodes[3]",
        ),
        (
            _glb(
                {
                    "asset": {"version": "2.0"},
                    "scenes": [{"nodes": [0]}],
                    "nodes": [{"mesh": 0}],
                    "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
                    "accessors": [{"bufferView": 0, "componentType": 5126, "count": 30, "type": "VEC3"}],
                    "bufferViews": [{"buffer": 0, "byteLength": 36}],
                    "buffers": [{"byteLength": 36}],
                },
                b"\0" * 36,
            ),
            ModelUnreadable,
            "past the end",
        ),
    ],
)
def test_bad_models_get_clear_errors(data, error, words):
    with pytest.raises(error) as info:
        render_platforms(data, ["instagram-post"], device="cpu", scale=0.05)
    assert words in info.value.message


def test_node_transforms_are_applied():
    # The same box under a node that moves it 5 m and scales it 2x: bounds follow the transform.
    glb = box_glb()
    prims = read_glb(glb)
    length = struct.unpack_from("<I", glb, 12)[0]
    doc = json.loads(glb[20 : 20 + length])
    doc["nodes"][0].update({"translation": [5, 0, 0], "scale": [2, 2, 2]})
    moved = read_glb(_glb(doc, glb[20 + length + 8 :]))
    assert np.allclose(moved[0].positions, prims[0].positions * 2 + [5, 0, 0], atol=1e-5)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_renders_the_same_picture_as_the_cpu():
    cpu = decode(render_platforms(box_glb(), ["twitter-post"], device="cpu", scale=0.2)[0].jpeg)
    gpu = decode(render_platforms(box_glb(), ["twitter-post"], device="cuda", scale=0.2)[0].jpeg)
    assert cpu.shape == gpu.shape
    assert np.abs(cpu - gpu).mean() < 2.0  # JPEG noise and float order, not a different picture
