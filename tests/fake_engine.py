"""The test suite's engine: sleeps a little per stage, honours cancel, returns tiny deterministic artifacts.

Plugged into a worker as `nu3d worker --engine tests.fake_engine:load --engine-option stage_s=0.05` (or
`NU3D_JOB_ENGINE=tests.fake_engine:load`): queue, API and chaos tests exercise every job path without the
seconds of CPU a real generation costs. It is test code, not product code: the worker only knows the plug-in
seam (`shop_app.worker.engines.load_engine`).
"""

from __future__ import annotations

import hashlib
import json
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from shop_app.worker.engines import CancelFn, LoadedEngine, ProgressFn

SPEC = "tests.fake_engine:load"


def load(stage_s: str | float = 0.0) -> LoadedEngine:
    """The plug-in factory: `stage_s` seconds in each stage (an `--engine-option`, so it may be a string)."""
    seconds = float(stage_s)
    if seconds < 0:
        raise ValueError("stage_s must not be negative")
    return LoadedEngine(name="fake", engine=FakeEngine(stage_s=seconds), make_params=lambda p: dict(p))


class FakeEngineError(Exception):
    """Raised by the fake engine; carries a `code` like generation.GenerationError."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class FakeResult:
    glb: bytes
    splat_ply: bytes
    preview_png: bytes
    metadata: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)


FAKE_STAGES = ("segment", "carve", "mesh", "texture", "export")


def minimal_glb(label: str) -> bytes:
    """A valid, empty-scene glTF 2.0 binary (header + one JSON chunk), labelled so inputs give distinct files."""
    doc = json.dumps(
        {"asset": {"version": "2.0", "generator": f"nu3d-fake {label}"}, "scenes": [{}], "scene": 0}
    )
    chunk = doc.encode() + b" " * (-len(doc.encode()) % 4)
    total = 12 + 8 + len(chunk)
    return struct.pack("<4sII", b"glTF", 2, total) + struct.pack("<I4s", len(chunk), b"JSON") + chunk


def box_glb(label: str, rgb: tuple[float, float, float] = (0.8, 0.3, 0.2)) -> bytes:
    """A small flat-shaded box (0.2 x 0.3 x 0.15 m, base on y = 0) in one colour: a model the platform
    renderer can draw, so fake-engine runs still end in real pictures. Labelled like `minimal_glb`."""
    half = (0.1, 0.15, 0.075)
    positions: list[float] = []
    normals: list[float] = []
    indices: list[int] = []
    for axis in range(3):
        for sign in (-1.0, 1.0):
            u, v = [a for a in range(3) if a != axis]
            base = len(positions) // 3
            for du, dv in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
                point = [0.0, 0.0, 0.0]
                point[axis], point[u], point[v] = sign * half[axis], du * half[u], dv * half[v]
                point[1] += half[1]
                positions += point
                normals += [sign if a == axis else 0.0 for a in range(3)]
            # counter-clockwise seen from outside: the quad winds along e_u x e_v, which is -e_y for axis 1
            outward = (-1.0 if axis == 1 else 1.0) == sign
            quad = [0, 1, 2, 0, 2, 3] if outward else [0, 2, 1, 0, 3, 2]
            indices += [base + i for i in quad]
    n = len(positions) // 3
    pos = struct.pack(f"<{len(positions)}f", *positions)
    nrm = struct.pack(f"<{len(normals)}f", *normals)
    idx = struct.pack(f"<{len(indices)}H", *indices)
    idx += b"\0" * (-len(idx) % 4)
    doc = {
        "asset": {"version": "2.0", "generator": f"nu3d-fake {label}"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [
            {"primitives": [{"attributes": {"POSITION": 0, "NORMAL": 1}, "indices": 2, "material": 0}]}
        ],
        "materials": [{"pbrMetallicRoughness": {"baseColorFactor": [*rgb, 1.0], "roughnessFactor": 0.6}}],
        "buffers": [{"byteLength": len(pos) + len(nrm) + len(idx)}],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": len(pos), "target": 34962},
            {"buffer": 0, "byteOffset": len(pos), "byteLength": len(nrm), "target": 34962},
            {"buffer": 0, "byteOffset": len(pos) + len(nrm), "byteLength": len(indices) * 2, "target": 34963},
        ],
        "accessors": [
            {
                "bufferView": 0,
                "componentType": 5126,
                "count": n,
                "type": "VEC3",
                "min": [-half[0], 0.0, -half[2]],
                "max": [half[0], 2 * half[1], half[2]],
            },
            {"bufferView": 1, "componentType": 5126, "count": n, "type": "VEC3"},
            {"bufferView": 2, "componentType": 5123, "count": len(indices), "type": "SCALAR"},
        ],
    }
    chunk = json.dumps(doc).encode()
    chunk += b" " * (-len(chunk) % 4)
    binary = pos + nrm + idx
    total = 12 + 8 + len(chunk) + 8 + len(binary)
    return (
        struct.pack("<4sII", b"glTF", 2, total)
        + struct.pack("<I4s", len(chunk), b"JSON")
        + chunk
        + struct.pack("<I4s", len(binary), b"BIN\0")
        + binary
    )


class FakeEngine:
    """Sleeps `stage_s` per stage, honours cancel between stages, returns tiny deterministic artifacts.

    Parameters:
        stage_s: seconds spent in each of the five stages.
        fail_marker: inputs containing these bytes fail with code `invalid_image` (to test failures).
    """

    def __init__(self, *, stage_s: float = 0.0, fail_marker: bytes = b"NU3D-FAKE-FAIL") -> None:
        self.stage_s = stage_s
        self.fail_marker = fail_marker

    def generate(
        self,
        images: list[bytes],
        *,
        prompt: str | None = None,
        params: Any = None,
        device: str = "cpu",
        progress: ProgressFn | None = None,
        should_cancel: CancelFn | None = None,
    ) -> FakeResult:
        digest = hashlib.sha256(b"".join(images) + repr(params).encode()).hexdigest()
        for index, stage in enumerate(FAKE_STAGES):
            if should_cancel is not None and should_cancel():
                raise FakeEngineError(f"canceled before {stage}", "canceled")
            if progress is not None:
                progress(stage, 100.0 * index / len(FAKE_STAGES))
            if self.stage_s:
                time.sleep(self.stage_s)
            if stage == "segment" and any(self.fail_marker in image for image in images):
                raise FakeEngineError("photo 1: no product found in the photo", "invalid_image")
        if progress is not None:
            progress("export", 100.0)
        return FakeResult(
            glb=box_glb(digest[:16], rgb=(int(digest[:2], 16) / 255, int(digest[2:4], 16) / 255, 0.4)),
            splat_ply=b"ply\nformat binary_little_endian 1.0\nelement vertex 0\nend_header\n",
            preview_png=_tiny_png(),
            metadata={"engine": "fake", "prompt": prompt, "views": len(images), "device": device},
            stats={"stages": len(FAKE_STAGES)},
        )


def _tiny_png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 200, 200)).save(out, format="PNG")
    return out.getvalue()
