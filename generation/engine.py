"""The generation engine: product photos -> textured GLB, Gaussian splat PLY, preview PNG, pose metadata.

Output frame (GLB, splat and metadata): metres, +Y up, the product's front (photo 1) faces +Z, the base rests on
y = 0 and the bounding box is centred on x = z = 0. ``metadata`` follows seed 001's shape: ``rotation`` (w, x, y,
z), ``translation`` and ``scale`` map a model point into the first photo's camera frame (OpenCV convention: x
right, y down, z forward, metres): ``p_cam = R(rotation) @ (scale * p_model) + translation``. ``camera_pose``
describes the estimated turntable (elevation, field of view, azimuths, camera distance).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import fast_simplification
import numpy as np
import torch
import trimesh
from scipy import ndimage

from . import export
from .cameras import Rig, base_depth_ratio
from .config import EngineConfig, GenerationParams
from .errors import DeviceUnavailable, GenerationCanceled, InconsistentViews
from .geometry import apply_priors, carve, extract_mesh
from .images import ImageInput, load_photos, resize, scaled_size
from .segment import Segmentation, segment
from .texture import bake, vertex_normals

ProgressFn = Callable[[str, float], None]
CancelFn = Callable[[], bool]

# Shape classes a product title can select: (depth / width ratio for single photos, cross-section exponent)
_PRIORS: dict[str, tuple[float, float | None]] = {
    "revolve": (1.0, 2.0),
    "box": (0.45, math.inf),
    "flat": (0.4, None),
    "blob": (0.75, 2.0),
}
_KEYWORDS = {
    "revolve": r"bottle|can\b|cans\b|jar|mug|cup|vase|candle|tin\b|glass|tumbler|canister|flask|pot\b|soda|beer|wine",
    "box": r"box|carton|book|package|pack\b|case\b|crate|kit\b|cereal",
    "flat": r"pouch|bag\b|sachet|envelope|wallet|tube\b",
    "blob": r"plush|toy|pillow|cushion|ball\b|fruit|shoe|teddy",
}
_SIZES_M = {
    "mug": 0.1,
    "cup": 0.1,
    "can": 0.122,
    "bottle": 0.26,
    "jar": 0.12,
    "vase": 0.25,
    "box": 0.25,
    "carton": 0.24,
    "candle": 0.1,
    "tube": 0.17,
    "pouch": 0.2,
    "plush": 0.15,
    "pillow": 0.15,
    "shoe": 0.12,
}


def prompt_prior(prompt: str | None) -> str | None:
    if not prompt:
        return None
    text = prompt.lower()
    for name, pattern in _KEYWORDS.items():
        if re.search(pattern, text):
            return name
    return None


def prompt_height(prompt: str | None) -> float | None:
    if not prompt:
        return None
    text = prompt.lower()
    for word, h in _SIZES_M.items():
        if re.search(rf"\b{word}", text):
            return h
    return None


def resolve_device(device: str | torch.device | None) -> torch.device:
    name = str(device or "auto").lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceUnavailable("CUDA was requested but no CUDA device is available")
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise DeviceUnavailable(f"unknown device {device!r}; use auto, cpu or cuda")


@dataclass
class GenerationResult:
    glb: bytes
    splat_ply: bytes
    preview_png: bytes
    metadata: dict
    stats: dict = field(default_factory=dict)


class _Stages:
    def __init__(self, progress: ProgressFn | None, should_cancel: CancelFn | None) -> None:
        self.progress = progress
        self.should_cancel = should_cancel
        self.timings: dict[str, float] = {}
        self._name: str | None = None
        self._t = 0.0

    def start(self, name: str, percent: float) -> None:
        self.finish()
        if self.should_cancel is not None and self.should_cancel():
            raise GenerationCanceled(f"canceled before the {name} stage")
        self._name, self._t = name, time.perf_counter()
        if self.progress is not None:
            self.progress(name, float(percent))

    def finish(self) -> None:
        if self._name is not None:
            self.timings[self._name] = round(time.perf_counter() - self._t, 4)
            self._name = None


def _mirror(arr: np.ndarray, cx: float) -> np.ndarray:
    w = arr.shape[1]
    src = np.rint(2 * cx - np.arange(w) - 1).astype(int)
    ok = (src >= 0) & (src < w)
    out = np.zeros_like(arr)
    out[:, ok] = arr[:, src[ok]]
    return out


def _squeeze(mask: np.ndarray, cx: float, k: float) -> np.ndarray:
    """The silhouette narrowed horizontally by factor k about column cx (a guessed side view)."""
    h, w = mask.shape
    u = (np.arange(w) + 0.5 - cx) / k + cx - 0.5
    rows = np.arange(h)
    uu, rr = np.meshgrid(u, rows)
    vals = ndimage.map_coordinates(mask.astype(np.float32), [rr, uu], order=1, cval=0.0)
    return vals > 0.5


class Engine:
    """Weight-free photo-to-3D engine. Construction is cheap and loads nothing."""

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()

    def generate(
        self,
        images: Sequence[ImageInput] | ImageInput,
        *,
        prompt: str | None = None,
        params: GenerationParams | None = None,
        device: str | torch.device = "cpu",
        progress: ProgressFn | None = None,
        should_cancel: CancelFn | None = None,
    ) -> GenerationResult:
        params = params or GenerationParams()
        dev = resolve_device(device)
        with torch.inference_mode():
            return self._generate(images, prompt, params, dev, _Stages(progress, should_cancel))

    # ------------------------------------------------------------------------------------------------------
    def _generate(self, images, prompt, params: GenerationParams, dev: torch.device, st: _Stages):
        cfg = self.config
        t_all = time.perf_counter()
        torch.manual_seed(params.seed)
        st.start("load", 0)
        photos = load_photos(images, max_pixels=cfg.max_pixels)
        n = len(photos)
        w0, h0 = photos[0].original_size
        ww, wh = scaled_size(w0, h0, cfg.work_size)
        tw, th = scaled_size(w0, h0, cfg.texture_source_size)

        st.start("segment", 5)
        segs: list[Segmentation] = []
        for i, p in enumerate(photos):
            rgb = resize(p.rgb, (ww, wh), resample=_box_filter())
            alpha = resize(p.alpha, (ww, wh), resample=_box_filter()) if p.alpha is not None else None
            segs.append(segment(rgb, alpha, view=i))
        masks = [s.mask for s in segs]
        confidence = float(min(s.confidence for s in segs))

        st.start("cameras", 15)
        prior_name = prompt_prior(prompt)
        rig = Rig.turntable(
            n, elevation_deg=cfg.default_elevation_deg, fov_deg=cfg.default_fov_deg, width=ww, height=wh
        )
        elevation = cfg.default_elevation_deg
        carve_masks = list(masks)
        single = n <= 2
        depth_ratio = None
        if single:
            m0 = masks[0]
            cols = np.nonzero(m0.any(0))[0]
            cxb = (cols[0] + cols[-1] + 1) / 2
            back = _mirror(m0, cxb)
            sym = float((m0 & back).sum() / max(1, (m0 | back).sum()))
            rows = np.nonzero(m0.any(1))[0]
            fill = float(m0.sum() / ((rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1)))
            measured = base_depth_ratio(
                m0,
                segs[0].soft,
                Rig.turntable(1, elevation_deg=elevation, fov_deg=cfg.default_fov_deg, width=ww, height=wh),
            )
            if prior_name is not None:
                depth_ratio = _PRIORS[prior_name][0]
            elif measured is not None and measured >= 0.25:
                # within the estimate's noise of round: a surface of revolution
                depth_ratio = 1.0 if measured >= 0.8 else float(np.clip(measured, 0.35, 1.0))
            elif measured is not None:
                # a straight base edge: a package seen flat-on. Tall narrow packages (cartons, bottle boxes)
                # tend to have square footprints, wide ones (cereal, books) are thin: depth ~ 0.3 * height
                aspect = (rows[-1] - rows[0] + 1) / (cols[-1] - cols[0] + 1)
                depth_ratio = float(np.clip(0.3 * aspect, 0.35, 1.0))
            elif fill >= 0.93:
                depth_ratio = _PRIORS["box"][0]
            else:
                depth_ratio = 1.0 if sym >= 0.95 else 0.75
            side = _squeeze(m0, cxb, depth_ratio)
            back_mask = masks[1] if n == 2 else back
            carve_masks = [m0, side, back_mask, _mirror(side, cxb)]
            rig = Rig.turntable(
                4, elevation_deg=elevation, fov_deg=cfg.default_fov_deg, width=ww, height=wh, cx=cxb
            )
        else:
            rig = Rig.turntable(n, elevation_deg=elevation, fov_deg=cfg.default_fov_deg, width=ww, height=wh)

        st.start("carve", 20)
        vol = carve(rig, carve_masks, resolution=params.resolution, device=dev)
        p_override = None
        if prior_name is not None:
            p_override = _PRIORS[prior_name][1]
        info = apply_priors(
            vol, rig.elevation, p_override=p_override, p_fallback=_round_fallback(carve_masks)
        )

        st.start("mesh", 45)
        # marching cubes near 160 cells a side is plenty for <= 40k faces; the carve keeps full resolution
        factor = max(1, round(params.resolution / 160)) if params.face_limit <= 40_000 else 1
        verts, faces = extract_mesh(vol, factor=factor)
        if len(faces) == 0:
            raise InconsistentViews(
                "the photos do not show one consistent product (the carved shape is empty)"
            )
        verts, faces = _largest_component(verts, faces)
        mesh = trimesh.Trimesh(verts, faces, process=False)
        trimesh.smoothing.filter_taubin(mesh, iterations=params.smoothing_iterations)
        mesh = _decimate(mesh, params.face_limit)
        if mesh.volume < 0:
            mesh.invert()
        v, f = np.asarray(mesh.vertices, dtype=np.float64), np.asarray(mesh.faces, dtype=np.int64)

        st.start("texture", 60)
        s_tex = tw / ww
        trig = rig.scaled(s_tex)
        src = [resize(p.rgb, (tw, th), resample=_box_filter()) for p in photos]
        tex_masks = list(masks)  # sampled with normalised coordinates: their resolution may differ
        if single:
            cxb_t = rig.cx * s_tex
            if n == 1:
                src = [src[0], _mirror(src[0], cxb_t)]
                tex_masks = [masks[0], _mirror(masks[0], rig.cx)]
            trig = Rig(
                2, trig.elevation, trig.focal, trig.cx, trig.cy, trig.width, trig.height, (0.0, math.pi)
            )
            weights = [1.0, 0.5 if n == 1 else 1.0]
        else:
            weights = None
        tm = bake(
            v, f, trig, src, tex_masks, texture_size=params.texture_size, device=dev, view_weights=weights
        )

        st.start("export", 85)
        lo, hi = tm.vertices.min(0), tm.vertices.max(0)
        height_rig = float(hi[1] - lo[1])
        height_m = params.size_hint_m or prompt_height(prompt) or cfg.default_height_m
        size_source = (
            "size_hint" if params.size_hint_m else ("prompt" if prompt_height(prompt) else "default")
        )
        s = float(height_m) / max(height_rig, 1e-9)
        c = np.array([(lo[0] + hi[0]) / 2, lo[1], (lo[2] + hi[2]) / 2])
        vm = (tm.vertices - c) * s
        nm = vertex_normals(vm, tm.faces)
        # keep seam duplicates sharing one normal: average by position
        nm = _weld_normals(vm, nm)
        tex_bytes, mime = export.encode_texture(tm.texture, cfg.texture_format)
        glb = export.write_glb(vm, tm.faces, nm, tm.uvs, tex_bytes, mime, name=_node_name(prompt))
        pos, uv, nrm, spacing = export.sample_surface(
            vm, tm.faces, tm.uvs, nm, cfg.splat_count, seed=params.seed
        )
        colors = export.sample_texture(tm.texture, uv)
        splat = export.write_splat_ply(pos, colors, nrm, spacing)
        preview = export.render_preview(
            vm, tm.faces, tm.uvs, nm, tm.texture, size=cfg.preview_size, device=dev
        )
        r0, c0 = rig.pose(0)
        m_cv = np.diag([1.0, -1.0, 1.0]) @ r0
        translation = s * (m_cv @ (c - c0))
        metadata = {
            "scale": [[1.0, 1.0, 1.0]],
            "rotation": [export.quaternion_wxyz(m_cv)],
            "translation": [[float(x) for x in translation]],
            "camera_pose": {
                "convention": "opencv",
                "elevation_deg": round(math.degrees(rig.elevation), 3),
                "fov_deg": round(rig.fov_deg, 3),
                "azimuths_deg": [round(360.0 * k / n, 3) for k in range(n)],
                "distance_m": round(s, 6),
            },
            "object_index": 0,
        }
        st.finish()
        ext = vm.max(0) - vm.min(0)
        stats = {
            "timings_s": dict(st.timings, total=round(time.perf_counter() - t_all, 4)),
            "faces": int(len(tm.faces)),
            "vertices": int(len(vm)),
            "watertight": bool(trimesh.Trimesh(vm, tm.faces, process=True).is_watertight),
            "mask_confidence": round(confidence, 4),
            "mask_source": sorted({sg.source for sg in segs}),
            "device": str(dev),
            "views": n,
            "elevation_deg": round(math.degrees(rig.elevation), 3),
            "fov_deg": round(rig.fov_deg, 3),
            "shape_prior": prior_name,
            "cross_section_exponent": None if not math.isfinite(info.p_used) else info.p_used,
            "floor_cut_voxels": info.floor_cut,
            "top_cut_voxels": info.top_cut,
            "depth_ratio": depth_ratio,
            "size_m": [round(float(x), 5) for x in ext],
            "size_source": size_source,
            "params": params.as_dict(),
            "guidance_scale_used": False,
        }
        if progress_done := st.progress:
            progress_done("done", 100.0)
        return GenerationResult(glb=glb, splat_ply=splat, preview_png=preview, metadata=metadata, stats=stats)


def _round_fallback(masks: list[np.ndarray]) -> float | None:
    """2.0 (round) when every view shows the same mirror-symmetric silhouette, as a surface of revolution does."""
    if len(masks) < 2:
        return None
    widths = []
    for m in masks:
        cols = np.nonzero(m.any(0))[0]
        if len(cols) < 4:
            return None
        cx = (cols[0] + cols[-1] + 1) / 2
        if float((m & _mirror(m, cx)).sum() / max(1, (m | _mirror(m, cx)).sum())) < 0.95:
            return None
        widths.append(m.sum(1).astype(np.float64))
    ref = widths[0]
    rows = ref > 0
    for w in widths[1:]:
        if np.abs(w[rows] - ref[rows]).mean() > 0.04 * ref[rows].mean():
            return None
    return 2.0


def _largest_component(v: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep the largest connected piece of a marching-cubes mesh (stray specks are carving noise)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(v)
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]]])
    graph = coo_matrix((np.ones(len(e), dtype=np.int8), (e[:, 0], e[:, 1])), shape=(n, n))
    count, labels = connected_components(graph, directed=False)
    if count <= 1:
        return v, f
    face_label = labels[f[:, 0]]
    keep_label = np.bincount(face_label).argmax()
    keep_f = f[face_label == keep_label]
    used = np.unique(keep_f)
    remap = np.full(n, -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return v[used], remap[keep_f]


def _decimate(mesh: trimesh.Trimesh, face_limit: int) -> trimesh.Trimesh:
    """Quadric decimation to at most ``face_limit`` faces that stays watertight.

    One fast pass takes the marching-cubes mesh to twice the limit; the last step is retried with gentler
    settings when it pinches an edge (fast_simplification can leave a few non-manifold edges).
    """
    if len(mesh.faces) <= face_limit:
        return mesh
    v, f = np.asarray(mesh.vertices), np.asarray(mesh.faces)
    if len(f) > 4 * face_limit:
        for agg in (7, 3):
            v1, f1 = fast_simplification.simplify(v, f, target_count=2 * face_limit, agg=agg)
            if trimesh.Trimesh(v1, f1, process=True).is_watertight:
                v, f = v1, f1
                break
    first = None
    out = mesh
    for agg in (2, 3, 5, 7):
        v2, f2 = v, f
        for _ in range(3):  # one pass can stop short of the target on large flat regions
            v2, f2 = fast_simplification.simplify(v2, f2, target_count=face_limit, agg=agg)
            if len(f2) <= face_limit:
                break
        out = trimesh.Trimesh(v2, f2, process=True)
        if len(out.faces) > face_limit:
            continue
        if out.is_watertight:
            return out
        first = first or out
    out = first if first is not None else out
    trimesh.repair.fill_holes(out)
    return out


def _weld_normals(v: np.ndarray, n: np.ndarray) -> np.ndarray:
    key = np.round(v / (np.abs(v).max() + 1e-12) * 1e6).astype(np.int64)
    _, inv = np.unique(key, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    acc = np.zeros((inv.max() + 1, 3))
    np.add.at(acc, inv, n)
    acc /= np.maximum(np.linalg.norm(acc, axis=1, keepdims=True), 1e-12)
    return acc[inv]


def _node_name(prompt: str | None) -> str:
    if not prompt:
        return "product"
    return re.sub(r"[^\w\- ]+", "", prompt)[:64].strip() or "product"


def _box_filter():
    from PIL import Image

    return Image.BOX


__all__ = ["Engine", "GenerationResult", "prompt_height", "prompt_prior", "resolve_device"]
