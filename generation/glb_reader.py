"""Read a binary glTF 2.0 file (GLB) into world-space triangle meshes with their base colours.

Only what a renderer needs: triangles (modes 4, 5, 6), positions, normals, the base-colour texture coordinates,
vertex colours and the metallic-roughness material's base colour (factor and embedded texture). Node
transforms (matrix or TRS) are applied, so every primitive comes back in the scene's world frame. Anything this
reader cannot follow (external buffers, sparse accessors, Draco) raises `ModelUnreadable` with the reason.
"""

from __future__ import annotations

import io
import json
import math
import struct
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from .errors import GenerationError

GLB_MAGIC = b"glTF"
CHUNK_JSON = 0x4E4F534A
CHUNK_BIN = 0x004E4942
MAX_TRIANGLES = 4_000_000
MAX_TEXTURE_PIXELS = 8192 * 8192

_COMPONENTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}
_DTYPES = {
    5120: np.int8,
    5121: np.uint8,
    5122: np.int16,
    5123: np.uint16,
    5125: np.uint32,
    5126: np.float32,
}


class ModelUnreadable(GenerationError):
    """The file is not a GLB this reader can follow (the message says what is wrong)."""

    code = "model_unreadable"


class EmptyModel(GenerationError):
    """The model has no triangles to show."""

    code = "empty_model"


@dataclass
class Primitive:
    """One triangle mesh in world space with its base colour (linear RGB, 0..1)."""

    positions: np.ndarray  # (N, 3) float32
    faces: np.ndarray  # (F, 3) int64
    normals: np.ndarray | None  # (N, 3) float32, unit length
    uvs: np.ndarray | None  # (N, 2) float32, glTF convention (v down)
    colors: np.ndarray | None  # (N, 3) float32 linear vertex colours
    base_color: tuple[float, float, float]  # linear factor
    texture: np.ndarray | None  # (H, W, 3) uint8 sRGB base-colour map


def read_glb(data: bytes) -> list[Primitive]:
    """Every triangle primitive of the default scene, transformed into world space."""
    doc, binary = _split_chunks(data)
    reader = _Reader(doc, binary)
    scenes = doc.get("scenes") or []
    scene_index = doc.get("scene", 0)
    if scenes:
        if not isinstance(scene_index, int) or not 0 <= scene_index < len(scenes):
            raise ModelUnreadable(f"the default scene {scene_index!r} does not exist")
        roots = scenes[scene_index].get("nodes", [])
    else:
        roots = list(range(len(doc.get("nodes", []))))
    primitives: list[Primitive] = []
    stack: list[tuple[int, np.ndarray, int]] = [(int(n), np.eye(4), 0) for n in roots]
    while stack:
        index, parent, depth = stack.pop()
        if depth > 64:
            raise ModelUnreadable("the node hierarchy is deeper than 64 levels (a cycle?)")
        node = reader.item("nodes", index)
        world = parent @ _node_matrix(node)
        if "mesh" in node:
            for prim in reader.item("meshes", node["mesh"]).get("primitives", []):
                built = reader.primitive(prim, world)
                if built is not None:
                    primitives.append(built)
        stack.extend((int(child), world, depth + 1) for child in node.get("children", []))
    triangles = sum(len(p.faces) for p in primitives)
    if triangles == 0:
        raise EmptyModel("the model has no triangles to render")
    if triangles > MAX_TRIANGLES:
        raise ModelUnreadable(f"the model has {triangles} triangles; at most {MAX_TRIANGLES} can be rendered")
    return primitives


def _split_chunks(data: bytes) -> tuple[dict[str, Any], bytes]:
    if len(data) < 20 or data[:4] != GLB_MAGIC:
        raise ModelUnreadable("not a binary glTF (GLB) file")
    _, version, length = struct.unpack_from("<4sII", data, 0)
    if version != 2:
        raise ModelUnreadable(f"glTF version {version} is not supported (only 2)")
    if length > len(data):
        raise ModelUnreadable("the GLB file is truncated")
    offset, doc, binary = 12, None, b""
    while offset + 8 <= length:
        size, kind = struct.unpack_from("<II", data, offset)
        chunk = data[offset + 8 : offset + 8 + size]
        if len(chunk) < size:
            raise ModelUnreadable("a GLB chunk runs past the end of the file")
        if kind == CHUNK_JSON and doc is None:
            try:
                doc = json.loads(chunk.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as err:
                raise ModelUnreadable(f"the GLB's JSON chunk is not valid JSON: {err}") from None
        elif kind == CHUNK_BIN and not binary:
            binary = chunk
        offset += 8 + size + (-size % 4)
    if not isinstance(doc, dict):
        raise ModelUnreadable("the GLB has no JSON chunk")
    return doc, binary


def _node_matrix(node: dict[str, Any]) -> np.ndarray:
    if "matrix" in node:
        return np.asarray(node["matrix"], dtype=np.float64).reshape(4, 4).T  # glTF stores column-major
    t = np.asarray(node.get("translation", [0, 0, 0]), dtype=np.float64)
    x, y, z, w = (float(v) for v in node.get("rotation", [0, 0, 0, 1]))
    s = np.asarray(node.get("scale", [1, 1, 1]), dtype=np.float64)
    rot = np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )
    out = np.eye(4)
    out[:3, :3] = rot * s[None, :]
    out[:3, 3] = t
    return out


class _Reader:
    def __init__(self, doc: dict[str, Any], binary: bytes) -> None:
        self.doc = doc
        self.binary = binary
        self._textures: dict[int, np.ndarray] = {}

    def item(self, kind: str, index: Any) -> dict[str, Any]:
        items = self.doc.get(kind) or []
        if not isinstance(index, int) or not 0 <= index < len(items) or not isinstance(items[index], dict):
            raise ModelUnreadable(f"{kind}[{index!r}] is referenced but does not exist")
        return items[index]

    def view_bytes(self, index: int) -> tuple[memoryview, int | None]:
        view = self.item("bufferViews", index)
        buffer = self.item("buffers", view.get("buffer", 0))
        if "uri" in buffer:
            raise ModelUnreadable("the model refers to an external buffer; only self-contained GLBs are read")
        start = int(view.get("byteOffset", 0))
        length = int(view["byteLength"])
        if start < 0 or length < 0 or start + length > len(self.binary):
            raise ModelUnreadable(f"bufferViews[{index}] lies outside the binary chunk")
        return memoryview(self.binary)[start : start + length], view.get("byteStride")

    def accessor(self, index: int) -> np.ndarray:
        acc = self.item("accessors", index)
        if "sparse" in acc:
            raise ModelUnreadable("sparse accessors are not supported")
        dtype = _DTYPES.get(acc.get("componentType"))
        comps = _COMPONENTS.get(acc.get("type"))
        count = int(acc.get("count", 0))
        if dtype is None or comps is None or count < 0:
            raise ModelUnreadable(f"accessors[{index}] has an unknown component type or element type")
        if "bufferView" not in acc:
            return np.zeros((count, comps), dtype=np.float32)
        raw, stride = self.view_bytes(acc["bufferView"])
        item = np.dtype(dtype).itemsize
        stride = int(stride or comps * item)
        start = int(acc.get("byteOffset", 0))
        if count and start + (count - 1) * stride + comps * item > len(raw):
            raise ModelUnreadable(f"accessors[{index}] runs past the end of its buffer view")
        out = np.ndarray((count, comps), dtype=dtype, buffer=raw, offset=start, strides=(stride, item))
        values = out.astype(np.float64 if dtype == np.uint32 else np.float32)
        if acc.get("normalized") and dtype != np.float32:
            info = np.iinfo(dtype)
            values = np.maximum(values / info.max, -1.0)
        return values

    def primitive(self, prim: dict[str, Any], world: np.ndarray) -> Primitive | None:
        mode = prim.get("mode", 4)
        if mode not in (4, 5, 6):
            return None  # points and lines have no surface to shade
        if "extensions" in prim and "KHR_draco_mesh_compression" in prim["extensions"]:
            raise ModelUnreadable("Draco-compressed meshes are not supported")
        attrs = prim.get("attributes") or {}
        if "POSITION" not in attrs:
            return None
        local = self.accessor(attrs["POSITION"])[:, :3].astype(np.float64)
        n = len(local)
        if "indices" in prim:
            indices = self.accessor(prim["indices"])[:, 0].astype(np.int64)
        else:
            indices = np.arange(n, dtype=np.int64)
        faces = _triangles(indices, mode)
        if len(faces) and (faces.min() < 0 or faces.max() >= n):
            raise ModelUnreadable("a primitive's indices point past its vertices")
        positions = local @ world[:3, :3].T + world[:3, 3]
        if np.linalg.det(world[:3, :3]) < 0:
            faces = faces[:, ::-1].copy()  # a mirroring transform flips the winding
        normals = None
        if "NORMAL" in attrs:
            normal_matrix = np.linalg.inv(world[:3, :3]).T
            normals = self.accessor(attrs["NORMAL"])[:, :3] @ normal_matrix.T
            normals = normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
        material = self.item("materials", prim["material"]) if "material" in prim else {}
        pbr = material.get("pbrMetallicRoughness") or {}
        factor = [float(v) for v in pbr.get("baseColorFactor", [1, 1, 1, 1])][:3]
        texture, uvs = None, None
        tex_ref = pbr.get("baseColorTexture")
        if tex_ref is not None:
            uv_name = f"TEXCOORD_{int(tex_ref.get('texCoord', 0))}"
            if uv_name in attrs:
                uvs = self.accessor(attrs[uv_name])[:, :2].astype(np.float32)
                texture = self.texture(int(tex_ref["index"]))
        colors = None
        if "COLOR_0" in attrs:
            colors = self.accessor(attrs["COLOR_0"])[:, :3].astype(np.float32)
        return Primitive(
            positions=positions.astype(np.float32),
            faces=faces,
            normals=None if normals is None else normals.astype(np.float32),
            uvs=uvs,
            colors=colors,
            base_color=(factor[0], factor[1], factor[2]),
            texture=texture,
        )

    def texture(self, index: int) -> np.ndarray:
        if index in self._textures:
            return self._textures[index]
        source = self.item("textures", index).get("source")
        image = self.item("images", source)
        if "bufferView" not in image:
            raise ModelUnreadable("the model refers to an external texture; only embedded images are read")
        raw, _ = self.view_bytes(image["bufferView"])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                pic = Image.open(io.BytesIO(bytes(raw)))
                if pic.width * pic.height > MAX_TEXTURE_PIXELS:
                    raise ModelUnreadable(f"a texture of {pic.width}x{pic.height} pixels is too large")
                array = np.array(pic.convert("RGB"), dtype=np.uint8)
        except (OSError, ValueError, Image.DecompressionBombWarning) as err:
            raise ModelUnreadable(f"images[{source}] cannot be decoded: {err}") from None
        self._textures[index] = array
        return array


def _triangles(indices: np.ndarray, mode: int) -> np.ndarray:
    if mode == 4:
        usable = len(indices) - len(indices) % 3
        return indices[:usable].reshape(-1, 3)
    if len(indices) < 3:
        return np.zeros((0, 3), dtype=np.int64)
    k = np.arange(len(indices) - 2)
    if mode == 5:  # strip: every other triangle is wound the other way
        a, b = indices[k], indices[k + 1]
        odd = k % 2 == 1
        a, b = np.where(odd, b, a), np.where(odd, a, b)
        return np.stack([a, b, indices[k + 2]], 1)
    return np.stack([np.full_like(k, indices[0]), indices[k + 1], indices[k + 2]], 1)  # fan


def bounds(primitives: list[Primitive]) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned bounds (min, max) over every vertex used by a triangle."""
    used = [p.positions[np.unique(p.faces)] for p in primitives if len(p.faces)]
    points = np.concatenate(used)
    lo, hi = points.min(0), points.max(0)
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        raise ModelUnreadable("the model has vertices at infinite or undefined positions")
    if float(np.max(hi - lo)) <= 0 or math.isclose(float(np.max(hi - lo)), 0.0):
        raise EmptyModel("the model has no extent (all vertices at one point)")
    return lo, hi
