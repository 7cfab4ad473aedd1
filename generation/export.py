"""Output formats: GLB (glTF 2.0, one PBR material), 3D Gaussian splat PLY (INRIA layout), preview PNG."""

from __future__ import annotations

import io
import json
import math
import struct

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .raster import rasterize

SH_C0 = 0.28209479177387814


def _pad4(b: bytes, fill: bytes = b"\x00") -> bytes:
    return b + fill * ((4 - len(b) % 4) % 4)


def encode_texture(texture: np.ndarray, fmt: str) -> tuple[bytes, str]:
    buf = io.BytesIO()
    if fmt == "png":
        Image.fromarray(texture).save(buf, format="PNG", optimize=False, compress_level=6)
        return buf.getvalue(), "image/png"
    Image.fromarray(texture).save(buf, format="JPEG", quality=90, subsampling=0)
    return buf.getvalue(), "image/jpeg"


def write_glb(
    vertices: np.ndarray,
    faces: np.ndarray,
    normals: np.ndarray,
    uvs: np.ndarray,
    texture_bytes: bytes,
    mime: str,
    *,
    name: str = "product",
) -> bytes:
    """A minimal, validator-clean binary glTF: one mesh, one primitive, one material with a base-colour map."""
    pos = np.ascontiguousarray(vertices, dtype=np.float32)
    nrm = np.asarray(normals, dtype=np.float64)
    nrm = nrm / np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-12)
    nrm = np.ascontiguousarray(nrm, dtype=np.float32)
    uv = np.ascontiguousarray(uvs, dtype=np.float32)
    big = len(pos) > 65535
    idx = np.ascontiguousarray(faces, dtype=np.uint32 if big else np.uint16).reshape(-1)
    chunks: list[bytes] = []
    views = []
    offset = 0

    def add(data: bytes, target: int | None) -> int:
        nonlocal offset
        view = {"buffer": 0, "byteOffset": offset, "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        views.append(view)
        padded = _pad4(data)
        chunks.append(padded)
        offset += len(padded)
        return len(views) - 1

    v_pos = add(pos.tobytes(), 34962)
    v_nrm = add(nrm.tobytes(), 34962)
    v_uv = add(uv.tobytes(), 34962)
    v_idx = add(idx.tobytes(), 34963)
    v_img = add(texture_bytes, None)
    accessors = [
        {
            "bufferView": v_pos,
            "componentType": 5126,
            "count": len(pos),
            "type": "VEC3",
            "min": [float(x) for x in pos.min(0)],
            "max": [float(x) for x in pos.max(0)],
        },
        {"bufferView": v_nrm, "componentType": 5126, "count": len(nrm), "type": "VEC3"},
        {"bufferView": v_uv, "componentType": 5126, "count": len(uv), "type": "VEC2"},
        {
            "bufferView": v_idx,
            "componentType": 5125 if big else 5123,
            "count": int(idx.size),
            "type": "SCALAR",
        },
    ]
    gltf = {
        "asset": {"version": "2.0", "generator": "nu3d generation engine"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "name": name}],
        "meshes": [
            {
                "name": name,
                "primitives": [
                    {
                        "attributes": {"POSITION": 0, "NORMAL": 1, "TEXCOORD_0": 2},
                        "indices": 3,
                        "material": 0,
                        "mode": 4,
                    }
                ],
            }
        ],
        "materials": [
            {
                "name": "base",
                "pbrMetallicRoughness": {
                    "baseColorTexture": {"index": 0},
                    "metallicFactor": 0.0,
                    "roughnessFactor": 0.75,
                },
            }
        ],
        "textures": [{"sampler": 0, "source": 0}],
        "samplers": [{"magFilter": 9729, "minFilter": 9987, "wrapS": 33071, "wrapT": 33071}],
        "images": [{"bufferView": v_img, "mimeType": mime}],
        "accessors": accessors,
        "bufferViews": views,
        "buffers": [{"byteLength": offset}],
    }
    js = _pad4(json.dumps(gltf, separators=(",", ":")).encode(), b" ")
    binary = b"".join(chunks)
    total = 12 + 8 + len(js) + 8 + len(binary)
    out = struct.pack("<III", 0x46546C67, 2, total)
    out += struct.pack("<II", len(js), 0x4E4F534A) + js
    out += struct.pack("<II", len(binary), 0x004E4942) + binary
    return out


def sample_surface(
    vertices: np.ndarray, faces: np.ndarray, uvs: np.ndarray, normals: np.ndarray, count: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Area-weighted random points: positions, uvs, normals, and the mean spacing between points."""
    rng = np.random.default_rng(seed)
    tri = vertices[faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    total = float(area.sum())
    p = area / total if total > 0 else np.full(len(area), 1 / len(area))
    fi = rng.choice(len(faces), size=count, p=p)
    r1, r2 = rng.random(count), rng.random(count)
    s = np.sqrt(r1)
    bary = np.stack([1 - s, s * (1 - r2), s * r2], 1)
    f = faces[fi]
    pos = (vertices[f] * bary[..., None]).sum(1)
    uv = (uvs[f] * bary[..., None]).sum(1)
    nrm = (normals[f] * bary[..., None]).sum(1)
    nrm /= np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-12)
    spacing = math.sqrt(total / max(count, 1))
    return pos, uv, nrm, spacing


def sample_texture(texture: np.ndarray, uv: np.ndarray) -> np.ndarray:
    t = texture.shape[0]
    x = np.clip((uv[:, 0] * t - 0.5).round().astype(int), 0, t - 1)
    y = np.clip((uv[:, 1] * t - 0.5).round().astype(int), 0, t - 1)
    return texture[y, x].astype(np.float64) / 255.0


def write_splat_ply(positions: np.ndarray, colors: np.ndarray, normals: np.ndarray, spacing: float) -> bytes:
    """3D Gaussian splats in the INRIA layout, SH degree 0: flat discs on the surface, oriented by the normal.

    Fields: x y z nx ny nz f_dc_0..2 opacity scale_0..2 rot_0..3 (float32, little endian); opacity is a logit,
    scales are natural logs, rot is a (w, x, y, z) quaternion that turns the disc's local z onto the normal.
    """
    n = len(positions)
    nz = normals[:, 2]
    q = np.stack([1.0 + nz, -normals[:, 1], normals[:, 0], np.zeros(n)], 1)
    flip = q[:, 0] < 1e-6
    q[flip] = np.array([0.0, 1.0, 0.0, 0.0])
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    sigma_t = 0.7 * spacing
    sigma_n = 0.12 * spacing
    scales = np.log(np.tile([sigma_t, sigma_t, sigma_n], (n, 1)))
    opacity = np.full(n, math.log(0.92 / 0.08))
    f_dc = (colors - 0.5) / SH_C0
    data = np.concatenate([positions, np.zeros((n, 3)), f_dc, opacity[:, None], scales, q], axis=1).astype(
        "<f4"
    )
    names = [
        "x",
        "y",
        "z",
        "nx",
        "ny",
        "nz",
        "f_dc_0",
        "f_dc_1",
        "f_dc_2",
        "opacity",
        "scale_0",
        "scale_1",
        "scale_2",
        "rot_0",
        "rot_1",
        "rot_2",
        "rot_3",
    ]
    header = "ply\nformat binary_little_endian 1.0\n"
    header += "comment nu3d gaussian splat, SH degree 0, +Y up, metres\n"
    header += f"element vertex {n}\n" + "".join(f"property float {p}\n" for p in names) + "end_header\n"
    return header.encode("ascii") + data.tobytes()


def render_preview(
    vertices: np.ndarray,
    faces: np.ndarray,
    uvs: np.ndarray,
    normals: np.ndarray,
    texture: np.ndarray,
    *,
    size: int,
    device: torch.device,
    azimuth_deg: float = 30.0,
    elevation_deg: float = 20.0,
    fov_deg: float = 30.0,
) -> bytes:
    """A white-background PNG of the textured model, seen from the front-left and above.

    Small previews are 2x supersampled; from 512 px up a single sample keeps the export stage fast.
    """
    ss = 2 if size < 512 else 1
    big = size * ss
    lo, hi = vertices.min(0), vertices.max(0)
    target = (lo + hi) / 2
    radius = float(np.linalg.norm(hi - lo)) / 2
    dist = 1.1 * radius / math.sin(math.radians(fov_deg) / 2)
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    cpos = target + dist * np.array([math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az)])
    fwd = (target - cpos) / np.linalg.norm(target - cpos)
    right = np.cross(fwd, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, fwd)
    focal = (big / 2) / math.tan(math.radians(fov_deg) / 2)
    d = vertices - cpos
    z = d @ fwd
    xy = np.stack([big / 2 + focal * (d @ right) / z, big / 2 - focal * (d @ up) / z], 1)
    fid, bary, _ = rasterize(
        torch.as_tensor(xy, dtype=torch.float32, device=device),
        torch.as_tensor(z, dtype=torch.float32, device=device),
        torch.as_tensor(faces, device=device),
        big,
        big,
    )
    fid_np = fid.cpu().numpy()
    b = bary.cpu().numpy()
    cov = fid_np >= 0
    f = faces[fid_np[cov]]
    bb = b[cov]
    uv = (uvs[f] * bb[..., None]).sum(1)
    nrm = (normals[f] * bb[..., None]).sum(1)
    nrm /= np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-12)
    tex_t = torch.as_tensor(texture, dtype=torch.float32, device=device).permute(2, 0, 1)[None]
    grid = torch.as_tensor(uv * 2 - 1, dtype=torch.float32, device=device).view(1, 1, -1, 2)
    col = F.grid_sample(tex_t, grid, mode="bilinear", padding_mode="border", align_corners=False)
    col = col.view(3, -1).T.cpu().numpy()
    key = -fwd + 0.8 * up - 0.5 * right
    key /= np.linalg.norm(key)
    shade = 0.55 + 0.45 * np.clip(nrm @ key, 0, 1)
    img = np.full((big, big, 3), 255.0)
    img[cov] = np.clip(col * shade[:, None] + 20.0 * (1 - shade[:, None]), 0, 255)
    img = img.reshape(size, ss, size, ss, 3).mean(axis=(1, 3))
    buf = io.BytesIO()
    Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def quaternion_wxyz(m: np.ndarray) -> list[float]:
    """Unit quaternion (w, x, y, z) of a 3x3 rotation matrix."""
    t = np.trace(m)
    if t > 0:
        s = math.sqrt(t + 1.0) * 2
        q = [0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = math.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2]) * 2
        q = [(m[2, 1] - m[1, 2]) / s, 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s]
    elif m[1, 1] > m[2, 2]:
        s = math.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2]) * 2
        q = [(m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s]
    else:
        s = math.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1]) * 2
        q = [(m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s]
    q = np.asarray(q)
    q /= np.linalg.norm(q)
    if q[0] < 0:
        q = -q
    return [float(x) for x in q]
