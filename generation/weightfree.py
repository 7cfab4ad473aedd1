"""The weight-free backend: silhouettes -> estimated cameras -> carved hull with shape priors -> projected texture.

Stages (each reports progress and can be canceled before it starts): load, segment (generation/segment.py),
cameras (generation/calibrate.py; one photo gets mirrored and depth-squeezed companion silhouettes), carve and
priors (generation/geometry.py), solids (generation/exact_shape.py, generation/solids.py), a cup's opening
(generation/opening.py), mesh (marching cubes, Taubin smoothing,
decimation: generation/meshing.py), texture
(generation/texture.py), export (generation/export.py). Needs no learned weights and no network.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Sequence

import numpy as np
import torch
import trimesh
from scipy import ndimage

from . import export
from .backends import GenerationResult, Stages
from .calibrate import estimate_camera
from .cameras import Rig, base_depth_ratio
from .config import EngineConfig, GenerationParams
from .errors import InconsistentViews
from .exact_shape import choose_exact_shape
from .geometry import apply_priors, body_slices, carve, extract_mesh
from .images import ImageInput, load_photos, resize, scaled_size
from .meshing import decimate, largest_component, weld_normals
from .opening import carved_top, find_opening, hollow, solid_top
from .prism_meshes import open_prism_mesh, prism_mesh
from .segment import Segmentation, segment
from .symmetry import body_mask, mirror, round_fallback, squeeze, symmetry_axis
from .texture import bake, vertex_normals
from .titles import PRIORS, names_container, prompt_height, prompt_prior

HANDLE_DEPTH = 0.2  # a handle's thickness over its body's depth (half-widths)


class WeightFreeBackend:
    """Today's pipeline (see the module docstring)."""

    name = "weightfree"

    def __init__(self, config: EngineConfig) -> None:
        self.config = config

    def generate(
        self,
        images: Sequence[ImageInput] | ImageInput,
        *,
        prompt: str | None,
        params: GenerationParams,
        device: torch.device,
        generator: torch.Generator,
        stages: Stages,
    ) -> GenerationResult:
        cfg, dev, st = self.config, device, stages
        t_all = time.perf_counter()
        # the splat's surface samples: NumPy drawn from the job's torch generator (reproducible per seed)
        sample_seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator, device=dev).item())
        st.start("load", 0)
        photos = load_photos(images, max_pixels=cfg.segment.max_pixels)
        n = len(photos)
        w0, h0 = photos[0].original_size
        ww, wh = scaled_size(w0, h0, cfg.segment.work_size)
        tw, th = scaled_size(w0, h0, cfg.texture.source_size)

        st.start("segment", 5)
        segs: list[Segmentation] = []
        work_rgb: list[np.ndarray] = []
        for i, p in enumerate(photos):
            rgb = resize(p.rgb, (ww, wh), resample=_box_filter())
            alpha = resize(p.alpha, (ww, wh), resample=_box_filter()) if p.alpha is not None else None
            segs.append(segment(rgb, alpha, view=i))
            work_rgb.append(rgb)
        masks = [s.mask for s in segs]
        confidence = float(min(s.confidence for s in segs))

        st.start("cameras", 15)
        prior_name = prompt_prior(prompt)
        est = estimate_camera(masks, [s.soft for s in segs], height=wh, config=cfg.camera)
        use_est = cfg.camera.estimate and est.confidence >= cfg.camera.min_confidence
        elevation = est.elevation_deg if use_est else cfg.camera.default_elevation_deg
        fov = est.fov_deg if use_est else cfg.camera.default_fov_deg
        carve_masks = list(masks)
        single = n <= 2
        depth_ratio = None
        if single:
            m0 = masks[0]
            cols = np.nonzero(m0.any(0))[0]
            cxb = (cols[0] + cols[-1] + 1) / 2
            back = mirror(m0, cxb)
            sym = float((m0 & back).sum() / max(1, (m0 | back).sum()))
            rows = np.nonzero(m0.any(1))[0]
            fill = float(m0.sum() / ((rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1)))
            measured = base_depth_ratio(
                m0,
                segs[0].soft,
                Rig.turntable(1, elevation_deg=elevation, fov_deg=fov, width=ww, height=wh),
            )
            if prior_name == "revolve" and measured is not None and measured < 0.05:
                # the title says round, the base's front edge is straight (a rectangular tin): the photo wins.
                # Only a straight edge: a box turned on the floor shows a corner (~0.2) and reads as a round
                # base's depth better than as a package's
                prior_name = None
            if prior_name == "footwear" and (cols[-1] - cols[0] + 1) < 1.6 * (rows[-1] - rows[0] + 1):
                prior_name = "blob"  # a shoe seen toe-on or from above: the side-on proportion does not apply
            if prior_name is not None:
                depth_ratio = PRIORS[prior_name][0]
            elif measured is not None and measured >= 0.25:
                # within the estimate's noise of round: a surface of revolution
                depth_ratio = 1.0 if measured >= 0.8 else float(np.clip(measured, 0.35, 1.0))
            elif measured is not None:
                # a straight base edge: a package seen flat-on. Tall narrow packages (cartons, bottle boxes)
                # tend to have square footprints, wide ones (cereal, books) are thin: depth ~ 0.3 * height
                aspect = (rows[-1] - rows[0] + 1) / (cols[-1] - cols[0] + 1)
                depth_ratio = float(np.clip(0.3 * aspect, 0.35, 1.0))
            elif fill >= 0.93:
                depth_ratio = PRIORS["box"][0]
            else:
                depth_ratio = 1.0 if sym >= 0.95 else 0.75
            body = m0
            if prior_name == "revolve":
                # a handle (or a spout) pulls the photo's box centre to its side: mirror and squeeze about the
                # body's own axis, and give the guessed side view the body's width, not the handle's
                cxb = symmetry_axis(m0, cxb)
                back = mirror(m0, cxb)
                body = m0 & back
            side = squeeze(body, cxb, depth_ratio)
            back_mask = masks[1] if n == 2 else back
            carve_masks = [m0, side, back_mask, mirror(side, cxb)]
            rig = Rig.turntable(4, elevation_deg=elevation, fov_deg=fov, width=ww, height=wh, cx=cxb)
        else:
            rig = Rig.turntable(n, elevation_deg=elevation, fov_deg=fov, width=ww, height=wh)

        st.start("carve", 20)
        vol = carve(rig, carve_masks, resolution=params.resolution, device=dev)
        p_override = None
        if prior_name is not None:
            p_override = PRIORS[prior_name][1]
        handled = prior_name == "revolve" and names_container(prompt)
        info = apply_priors(
            vol,
            rig.elevation,
            p_override=p_override,
            p_fallback=round_fallback(carve_masks),
            # a mug's or cup's handle is thin: about a fifth of the body's depth (a 13 mm loop on an 82 mm mug)
            appendage_depth=HANDLE_DEPTH if handled else None,
            body=body_slices(vol, rig, [body_mask(m) for m in carve_masks]) if handled else None,
            # one photo's guessed views cannot show a handle seen end-on: smooth the body's boxes too
            smooth_body=single,
        )

        st.start("solids", 40)
        shape = choose_exact_shape(
            vol=vol, rig=rig, masks=masks, n=n, single=single, prior_name=prior_name, config=cfg
        )
        solid, fits, rig = shape.solid, shape.fits, shape.rig
        est.cues.extend(shape.cues)

        # a cup's opening: the photos show what the silhouettes cannot (generation/opening.py)
        opening = find_opening(
            solid_top(solid) if solid is not None else carved_top(vol),
            rig,
            work_rgb,
            masks,
            views=1 if single else n,
            title_says_container=names_container(prompt),
            config=cfg.opening,
        )
        if opening is not None and solid is None:
            hollow(vol, opening)

        st.start("mesh", 45)
        if solid is not None and opening is not None:
            verts, faces = open_prism_mesh(solid, opening, face_limit=params.face_limit)
            mesh = trimesh.Trimesh(verts, faces, process=False)
        elif solid is not None:
            verts, faces = prism_mesh(solid, face_limit=params.face_limit)
            mesh = trimesh.Trimesh(verts, faces, process=False)
        else:
            # marching cubes near 160 cells a side is plenty for <= 40k faces; the carve keeps full resolution
            factor = (
                max(1, round(params.resolution / cfg.shape.mesh_cells)) if params.face_limit <= 40_000 else 1
            )
            verts, faces = extract_mesh(vol, factor=factor)
            if len(faces) == 0:
                raise InconsistentViews(
                    "the photos do not show one consistent product (the carved shape is empty)"
                )
            verts, faces = largest_component(verts, faces)
            mesh = trimesh.Trimesh(verts, faces, process=False)
            trimesh.smoothing.filter_taubin(mesh, iterations=params.smoothing_iterations)
            mesh = decimate(mesh, params.face_limit)
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
                # the unseen back continues the front's colours row by row, never its (mirrored) print
                src = [src[0], _row_colours(mirror(src[0], cxb_t), mirror(masks[0], rig.cx))]
                tex_masks = [masks[0], mirror(masks[0], rig.cx)]
            trig = Rig(
                2, trig.elevation, trig.focal, trig.cx, trig.cy, trig.width, trig.height, (0.0, math.pi)
            )
            weights = [1.0, 0.5 if n == 1 else 1.0]
        else:
            weights = None
        tm = bake(
            v,
            f,
            trig,
            src,
            tex_masks,
            texture_size=params.texture_size,
            device=dev,
            view_weights=weights,
            angle_power=cfg.texture.angle_power,
            edge_band_px=cfg.texture.edge_band_px,
            match_exposure=cfg.texture.match_exposure and not single,
        )

        st.start("export", 85)
        lo, hi = tm.vertices.min(0), tm.vertices.max(0)
        height_rig = float(hi[1] - lo[1])
        height_m = params.size_hint_m or prompt_height(prompt) or cfg.export.default_height_m
        size_source = (
            "size_hint" if params.size_hint_m else ("prompt" if prompt_height(prompt) else "default")
        )
        s = float(height_m) / max(height_rig, 1e-9)
        c = np.array([(lo[0] + hi[0]) / 2, lo[1], (lo[2] + hi[2]) / 2])
        vm = (tm.vertices - c) * s
        nm = vertex_normals(vm, tm.faces)
        # keep seam duplicates sharing one normal: average by position
        nm = weld_normals(vm, nm)
        tex_bytes, mime = export.encode_texture(tm.texture, cfg.texture.format)
        glb = export.write_glb(vm, tm.faces, nm, tm.uvs, tex_bytes, mime, name=_node_name(prompt))
        pos, uv, nrm, spacing = export.sample_surface(
            vm, tm.faces, tm.uvs, nm, cfg.export.splat_count, seed=sample_seed
        )
        colors = export.sample_texture(tm.texture, uv)
        splat = export.write_splat_ply(pos, colors, nrm, spacing)
        preview = export.render_preview(
            vm, tm.faces, tm.uvs, nm, tm.texture, size=cfg.export.preview_size, device=dev
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
                "estimated": use_est,
                "confidence": est.confidence if use_est else 0.0,
                "cues": est.cues,
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
            "shape_model": solid.kind if solid is not None else "carved",
            "solid_errors_px": {f.kind: round(f.error_px, 3) for f in fits},
            "cross_section_exponent": None if not math.isfinite(info.p_used) else info.p_used,
            "floor_cut_voxels": info.floor_cut,
            "top_cut_voxels": info.top_cut,
            "depth_ratio": depth_ratio,
            "opening": None
            if opening is None
            else {"inner_scale": opening.inner_scale, "contrast": opening.contrast, "views": opening.views},
            "size_m": [round(float(x), 5) for x in ext],
            "size_source": size_source,
            "params": params.as_dict(),
            "guidance_scale_used": False,
        }
        if progress_done := st.progress:
            progress_done("done", 100.0)
        return GenerationResult(glb=glb, splat_ply=splat, preview_png=preview, metadata=metadata, stats=stats)


def _row_colours(photo: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Each row of the product replaced by its median colour (bands of a label survive, glyphs do not)."""
    from PIL import Image

    h, w = photo.shape[:2]
    m = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize((w, h), Image.NEAREST)) > 127
    out = photo.astype(np.float32).copy()
    rows = np.nonzero(m.any(1))[0]
    med = np.zeros((h, 3), dtype=np.float32)
    for r in rows:
        med[r] = np.median(out[r][m[r]], axis=0)
    if len(rows):
        med[: rows[0]] = med[rows[0]]
        med[rows[-1] + 1 :] = med[rows[-1]]
        med = ndimage.uniform_filter1d(med, size=max(3, h // 100), axis=0)  # soften fine print's rows
    out[m] = np.broadcast_to(med[:, None, :], out.shape)[m]
    return out.astype(photo.dtype)


def _node_name(prompt: str | None) -> str:
    if not prompt:
        return "product"
    return re.sub(r"[^\w\- ]+", "", prompt)[:64].strip() or "product"


def _box_filter():
    from PIL import Image

    return Image.BOX


__all__ = ["WeightFreeBackend", "prompt_height", "prompt_prior"]
