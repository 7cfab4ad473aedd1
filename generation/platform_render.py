"""Social-platform renders of a finished 3D model: the product centred on a soft studio backdrop.

    images = render_platforms(glb_bytes, ["instagram-post", "twitter-post"], device="auto")
    images[0].jpeg, images[0].width, images[0].height

A small z-buffer rasteriser (`raster.rasterize`, PyTorch, CPU or CUDA) draws the textured mesh from a
three-quarter product-shot angle. Shading is done in linear light: a wrapped key light, a fill, a rim light and
sky/ground ambient, plus a soft contact shadow on the floor, then 2x supersampling down to the platform size.
The camera frames the product's projected outline into each aspect ratio so it sits centred with the same
margin whatever its shape. No OpenGL, no windowing system.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .engine import resolve_device
from .errors import GenerationCanceled, GenerationError
from .glb_reader import Primitive, bounds, read_glb
from .raster import rasterize

ProgressFn = Callable[[str, float], None]
CancelFn = Callable[[], bool]


@dataclass(frozen=True)
class Platform:
    key: str  # what clients send ("instagram-post")
    label: str  # what clients show ("Instagram Post")
    width: int
    height: int


PLATFORMS: dict[str, Platform] = {
    p.key: p
    for p in (
        Platform("instagram-post", "Instagram Post", 1080, 1080),
        Platform("instagram-story", "Instagram Story", 1080, 1920),
        Platform("twitter-post", "Twitter Post", 1200, 675),
        Platform("facebook-post", "Facebook Post", 1200, 630),
    )
}


class UnknownPlatform(GenerationError):
    code = "unknown_platform"


@dataclass(frozen=True)
class RenderConfig:
    """Parameters:
    azimuth_deg: camera angle around the vertical axis from the model's front (+Z), towards +X.
    elevation_deg: camera height angle above the horizon.
    fov_deg: vertical field of view before framing (a gentle telephoto keeps product proportions).
    fill: fraction of the frame's width and height the product's outline may take.
    supersample: samples per pixel side (2 = 4 samples per pixel).
    jpeg_quality: quality of the encoded image.
    """

    azimuth_deg: float = 35.0
    elevation_deg: float = 20.0
    fov_deg: float = 26.0
    fill: float = 0.74
    supersample: int = 2
    jpeg_quality: int = 90


@dataclass
class PlatformImage:
    platform: Platform
    jpeg: bytes
    width: int
    height: int


def platform(key: str) -> Platform:
    try:
        return PLATFORMS[key]
    except KeyError:
        raise UnknownPlatform(f"unknown platform {key!r}; use one of {', '.join(PLATFORMS)}") from None


def render_platforms(
    glb: bytes,
    keys: Sequence[str],
    *,
    device: str = "auto",
    scale: float = 1.0,
    config: RenderConfig = RenderConfig(),  # noqa: B008 - frozen dataclass
    progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
) -> list[PlatformImage]:
    """One JPEG per platform key, in the order given. `scale` < 1 renders smaller copies (previews, tests).

    Raises UnknownPlatform, glb_reader.ModelUnreadable / EmptyModel, GenerationCanceled."""
    targets = [platform(k) for k in keys]
    if not targets:
        raise UnknownPlatform("no platform was asked for")
    if not 0 < scale <= 1:
        raise ValueError("scale must be in (0, 1]")
    dev = resolve_device(device)
    scene = _Scene.load(read_glb(glb), dev)
    images = []
    for index, target in enumerate(targets):
        if should_cancel is not None and should_cancel():
            raise GenerationCanceled(f"canceled before rendering {target.label}")
        if progress is not None:
            progress(target.key, 100.0 * index / len(targets))
        width = max(16, round(target.width * scale))
        height = max(16, round(target.height * scale))
        pixels = render_image(scene, width, height, config=config)
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, format="JPEG", quality=config.jpeg_quality, optimize=True)
        images.append(PlatformImage(platform=target, jpeg=buf.getvalue(), width=width, height=height))
    if progress is not None:
        progress("done", 100.0)
    return images


@dataclass
class _Scene:
    """The model's triangles concatenated, with per-face material indices, on one device."""

    positions: torch.Tensor  # (N, 3)
    normals: torch.Tensor  # (N, 3)
    faces: torch.Tensor  # (F, 3) long
    face_prim: torch.Tensor  # (F,) long
    uvs: torch.Tensor  # (N, 2); zeros where a primitive has no texture
    colors: torch.Tensor  # (N, 3) linear albedo per vertex (vertex colour x factor)
    textures: list[torch.Tensor | None]  # per primitive, (1, 3, H, W) linear
    lo: np.ndarray
    hi: np.ndarray

    @classmethod
    def load(cls, prims: list[Primitive], dev: torch.device) -> _Scene:
        lo, hi = bounds(prims)
        pos, nrm, fcs, fprim, uvs, cols, texs = [], [], [], [], [], [], []
        offset = 0
        for index, p in enumerate(prims):
            n = len(p.positions)
            pos.append(p.positions)
            nrm.append(p.normals if p.normals is not None else _vertex_normals(p.positions, p.faces))
            fcs.append(p.faces + offset)
            fprim.append(np.full(len(p.faces), index, dtype=np.int64))
            uvs.append(p.uvs if p.uvs is not None else np.zeros((n, 2), np.float32))
            albedo = np.asarray(p.base_color, np.float32)[None, :].repeat(n, 0)
            if p.colors is not None:
                albedo = albedo * p.colors
            cols.append(albedo)
            texs.append(None if p.texture is None or p.uvs is None else _linear_texture(p.texture, dev))
            offset += n
        as_t = lambda a, dt=torch.float32: torch.as_tensor(np.concatenate(a), dtype=dt, device=dev)  # noqa: E731
        return cls(
            positions=as_t(pos),
            normals=as_t(nrm),
            faces=as_t(fcs, torch.long),
            face_prim=as_t(fprim, torch.long),
            uvs=as_t(uvs),
            colors=as_t(cols),
            textures=texs,
            lo=lo,
            hi=hi,
        )


def _vertex_normals(positions: np.ndarray, faces: np.ndarray) -> np.ndarray:
    tri = positions[faces].astype(np.float64)
    face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])  # area-weighted
    out = np.zeros_like(positions, dtype=np.float64)
    for corner in range(3):
        np.add.at(out, faces[:, corner], face_n)
    return (out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def _linear_texture(texture: np.ndarray, dev: torch.device) -> torch.Tensor:
    srgb = torch.as_tensor(texture, dtype=torch.float32, device=dev).permute(2, 0, 1)[None] / 255.0
    return _to_linear(srgb)


def _to_linear(srgb: torch.Tensor) -> torch.Tensor:
    return torch.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def _to_srgb(linear: torch.Tensor) -> torch.Tensor:
    linear = linear.clamp(0, 1)
    return torch.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055)


@dataclass
class _Camera:
    position: np.ndarray
    right: np.ndarray
    up: np.ndarray
    forward: np.ndarray
    focal: float  # pixels, at the supersampled size
    cx: float
    cy: float

    def project(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        basis = torch.as_tensor(
            np.stack([self.right, self.up, self.forward], 1), dtype=points.dtype, device=points.device
        )
        origin = torch.as_tensor(self.position, dtype=points.dtype, device=points.device)
        cam = (points - origin) @ basis
        z = cam[:, 2].clamp_min(1e-6)
        xy = torch.stack([self.cx + self.focal * cam[:, 0] / z, self.cy - self.focal * cam[:, 1] / z], 1)
        return xy, z


def _frame(scene: _Scene, width: int, height: int, config: RenderConfig) -> _Camera:
    """Look at the model from the configured angle, then scale and shift the image so the product's projected
    outline fills `fill` of the limiting dimension, centred."""
    centre = (scene.lo + scene.hi) / 2
    radius = float(np.linalg.norm(scene.hi - scene.lo)) / 2
    distance = 1.05 * radius / math.sin(math.radians(config.fov_deg) / 2)
    az, el = math.radians(config.azimuth_deg), math.radians(config.elevation_deg)
    offset = np.array([math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az)])
    position = centre + distance * offset
    forward = -offset
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    probe = _Camera(position, right, up, forward, focal=1.0, cx=0.0, cy=0.0)
    xy, _ = probe.project(scene.positions[scene.faces.unique()].float())
    xy_lo, xy_hi = xy.min(0).values.cpu().numpy(), xy.max(0).values.cpu().numpy()
    extent = np.maximum(xy_hi - xy_lo, 1e-9)
    focal = min(config.fill * width / extent[0], config.fill * height / extent[1])
    mid = (xy_lo + xy_hi) / 2
    return _Camera(
        position,
        right,
        up,
        forward,
        focal=focal,
        cx=width / 2 - focal * mid[0],
        cy=height / 2 - focal * mid[1],
    )


def background(width: int, height: int, dev: torch.device) -> torch.Tensor:
    """A warm light-grey studio sweep (linear RGB, (H, W, 3)): lighter at the top, a soft vignette."""
    top = _to_linear(torch.tensor([0.965, 0.957, 0.945], device=dev))
    bottom = _to_linear(torch.tensor([0.86, 0.85, 0.835], device=dev))
    ys = torch.linspace(0, 1, height, device=dev)[:, None, None]
    xs = torch.linspace(-1, 1, width, device=dev)[None, :, None]
    img = top + (bottom - top) * ys**1.3
    vignette = 1.0 - 0.12 * ((xs**2) * 0.6 + ((ys - 0.45) * 2) ** 2 * 0.4)
    return img * vignette


def render_image(scene: _Scene, width: int, height: int, *, config: RenderConfig) -> np.ndarray:
    """(height, width, 3) uint8 sRGB image of the scene."""
    ss = max(1, int(config.supersample))
    big_w, big_h = width * ss, height * ss
    dev = scene.positions.device
    cam = _frame(scene, big_w, big_h, config)
    img = background(big_w, big_h, dev)
    img = img * (1 - 0.55 * _contact_shadow(scene, cam, big_w, big_h))[..., None]
    xy, z = cam.project(scene.positions)
    face_id, bary, _ = rasterize(xy, z, scene.faces, big_w, big_h)
    covered = face_id >= 0
    if bool(covered.any()):
        img[covered] = _shade(scene, cam, face_id[covered], bary[covered])
    out = _to_srgb(img).permute(2, 0, 1)[None]
    if ss > 1:
        out = F.avg_pool2d(out, ss)
    pixels = (out[0].permute(1, 2, 0) * 255.0).round().clamp(0, 255).to(torch.uint8)
    return pixels.cpu().numpy()


def _shade(scene: _Scene, cam: _Camera, faces: torch.Tensor, bary: torch.Tensor) -> torch.Tensor:
    corners = scene.faces[faces]  # (P, 3)
    w = bary[..., None]
    normal = (scene.normals[corners] * w).sum(1)
    normal = normal / normal.norm(dim=1, keepdim=True).clamp_min(1e-9)
    albedo = (scene.colors[corners] * w).sum(1)
    prim = scene.face_prim[faces]
    for index, tex in enumerate(scene.textures):
        if tex is None:
            continue
        sel = prim == index
        if not bool(sel.any()):
            continue
        uv = (scene.uvs[corners[sel]] * w[sel]).sum(1)
        uv = uv - torch.floor(uv)  # glTF's default wrap mode is REPEAT
        grid = (uv * 2 - 1).view(1, 1, -1, 2)
        sample = F.grid_sample(tex, grid, mode="bilinear", padding_mode="border", align_corners=False)
        albedo[sel] = albedo[sel] * sample.view(3, -1).T
    dev = normal.device
    to_cam = torch.as_tensor(-cam.forward, dtype=torch.float32, device=dev)
    # Meshes from scans are not always consistently wound: light the side that faces the camera.
    normal = torch.where((normal @ to_cam)[:, None] < 0, -normal, normal)

    def direction(v: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(v / np.linalg.norm(v), dtype=torch.float32, device=dev)

    key = direction(-cam.forward * 0.6 + cam.up * 0.9 - cam.right * 0.7)
    fill = direction(-cam.forward * 0.8 + cam.right * 0.9 + cam.up * 0.1)
    rim = direction(cam.forward * 0.9 + cam.up * 0.6 + cam.right * 0.3)

    def wrapped(light: torch.Tensor, wrap: float) -> torch.Tensor:
        return ((normal @ light + wrap) / (1 + wrap)).clamp_min(0)[:, None]

    sky = normal[:, 1:2].clamp(-1, 1) * 0.5 + 0.5  # hemisphere ambient: brighter facing up
    ambient = 0.18 + 0.14 * sky
    diffuse = 0.95 * wrapped(key, 0.3) + 0.35 * wrapped(fill, 0.5) + ambient
    half = key + to_cam
    half = half / half.norm()
    specular = 0.12 * (normal @ half).clamp_min(0)[:, None] ** 40
    rim_light = 0.25 * wrapped(rim, 0.0) * (1 - (normal @ to_cam).clamp(0, 1)[:, None]) ** 2
    return albedo * diffuse + specular + rim_light


def _contact_shadow(scene: _Scene, cam: _Camera, width: int, height: int) -> torch.Tensor:
    """(H, W) 0..1 darkening: the model flattened onto its floor, seen by the camera, blurred."""
    dev = scene.positions.device
    flat = scene.positions.clone()
    floor = float(scene.lo[1])
    spread = 0.06 * float(np.max(scene.hi - scene.lo))
    flat[:, 1] = floor
    # Work at a quarter of the size: the shadow is soft, so a coarse mask blurred is the same picture.
    step = 4
    small_w, small_h = max(1, width // step), max(1, height // step)
    small = _Camera(
        cam.position, cam.right, cam.up, cam.forward, cam.focal / step, cam.cx / step, cam.cy / step
    )
    xy, z = small.project(flat)
    face_id, _, _ = rasterize(xy, z, scene.faces, small_w, small_h)
    mask = (face_id >= 0).float()[None, None]
    if not bool(mask.any()):
        return torch.zeros((height, width), device=dev)
    sigma = max(1.0, small.focal * spread / float(np.linalg.norm(cam.position - (scene.lo + scene.hi) / 2)))
    radius = int(3 * sigma)
    taps = torch.arange(-radius, radius + 1, device=dev, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (taps / sigma) ** 2)
    kernel = kernel / kernel.sum()
    mask = F.conv2d(F.pad(mask, (radius, radius, 0, 0), mode="replicate"), kernel.view(1, 1, 1, -1))
    mask = F.conv2d(F.pad(mask, (0, 0, radius, radius), mode="replicate"), kernel.view(1, 1, -1, 1))
    mask = F.interpolate(mask, size=(height, width), mode="bilinear", align_corners=False)
    return mask[0, 0].clamp(0, 1)
