"""The exact-shape stage: which prism (cuboid, cylinder, rounded tin) explains the photos' silhouettes, and
the camera it implies; None when none does (the carved hull is used).

`generation/solids.py` fits one prism; this stage picks the starts, the photos that judge, the kind the title
prefers, and for a single photo of a box the joint refit of its hidden depth and the camera
(`refine_single_view_box`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from .cameras import Rig
from .config import EngineConfig
from .geometry import Volume
from .prism_outlines import SilhouetteView, errors
from .solids import (
    SolidFit,
    _fit,
    _fit_each,
    _refocused,
    _with_camera,
    choose,
    fit_solids,
    initial_params,
)


@dataclass
class ShapeChoice:
    solid: SolidFit | None
    fits: list[SolidFit]  # every kind tried, with its silhouette error (reported in the metadata)
    rig: Rig  # the camera to texture with: the solid's refined one where the fit moved it
    cues: list[str] = field(default_factory=list)  # the camera cues the choice adds ("cuboid_fit")


def choose_exact_shape(
    *,
    vol: Volume,
    rig: Rig,
    masks: list[np.ndarray],
    n: int,
    single: bool,
    prior_name: str | None,
    config: EngineConfig,
) -> ShapeChoice:
    """The exact solid for the carved `vol` (see the module docstring). `n` photos, `single` when one photo
    (or a front and back pair) is all there is; `prior_name` is the title's shape class."""
    cfg = config
    choice = ShapeChoice(None, [], rig)
    # one photo of a sack's face is a rectangle that any box explains face-on: the title breaks that tie
    if not cfg.shape.fit_solids or (single and prior_name == "soft"):
        return choice
    occ = (vol.field < 0).cpu().numpy()
    starts = initial_params(occ, np.asarray(vol.origin), vol.voxel)
    # only the real photos judge a solid (a single photo's companions are guesses)
    real = n if not single else (1 if n == 1 else 2)
    az = rig.azimuths if not single else ((0.0,) if n == 1 else (0.0, math.pi))
    fit_rig = Rig(real, rig.elevation, rig.focal, rig.cx, rig.cy, rig.width, rig.height, tuple(az))
    prefer = {"box": "cuboid", "revolve": "cylinder"}.get(prior_name or "")
    choice.fits = (
        fit_solids(
            fit_rig,
            masks[:real],
            starts,
            first=prefer or "cuboid",
            refine_camera=cfg.camera.estimate and not single,
        )
        if starts
        else []
    )
    solid = choice.solid = choose(choice.fits, max_error_px=cfg.shape.max_error_px, prefer=prefer)
    if solid is None or not cfg.camera.estimate:
        return choice
    if single:
        if solid.kind != "cuboid" or not cfg.shape.single_view_box_camera:
            return choice
        # one photo's box: its hidden depth and the camera from the outline together (the top face's
        # foreshortening ties them); the kind was decided above, this only sharpens the box
        refined = refine_single_view_box(fit_rig, masks[:real], solid)
        if refined is solid:
            return choice
        solid = choice.solid = refined
    # its refined camera textures it
    choice.rig = replace(rig, elevation=solid.rig.elevation, focal=solid.rig.focal)
    choice.cues.append(f"{solid.kind}_fit")
    return choice


def refine_single_view_box(
    rig: Rig,
    masks: list[np.ndarray],
    fit: SolidFit,
    *,
    elevation_shifts_deg: tuple[float, ...] = (-6.0, 0.0, 6.0, 10.0),
    log_focal_scales: tuple[float, ...] = (-0.3, 0.0, 0.3),
    depth_ratios: tuple[float, ...] = (0.5, 1.0, 1.6),
    screen_evals: int = 100,
    keep: int = 4,
    max_evals: int = 200,
    rounded_p: float = 8.0,
) -> SolidFit:
    """A box's depth and the camera together from one photo; ``fit`` itself when nothing explains it better.

    One photo of a box shows its top face foreshortened by the elevation: the outline pins roughly
    depth * sin(elevation), and a wrong calibrated elevation (the calibration's prior where the vertical edges
    converge little, i.e. a long lens) turns into a wrong depth (a shoe box on its end, 0.13 m deep, came out
    0.04 m). The outline also carries what separates the two: the vertical edges converge on a vanishing point
    below (tan(e) / f), the top face's receding edges on the horizon above (f tan(e)), and the kink where the
    front face meets the top face. The error surface has one basin per (depth, elevation) pairing along that
    trade-off, so the simplex (prism and camera together) runs from a grid of depth / width ratios, elevation
    shifts and focal lengths; a short screening run per start, the best ``keep`` run to the end and polished.
    The result carries its own rig; the start ``fit`` competes with it (its error is never made worse).
    """
    views = [SilhouetteView(m) for m in masks]
    p = fit.p
    base = fit.params
    # the half-axis closer to the viewing direction (z at azimuth 0) is the hidden depth
    depth_i, width_i = (4, 5) if abs(math.sin(base[6])) > abs(math.cos(base[6])) else (5, 4)
    starts = []
    for de in elevation_shifts_deg:
        for ls in log_focal_scales:
            for ratio in depth_ratios:
                x0 = base.copy()
                x0[depth_i] = ratio * x0[width_i]
                cam0 = fit.camera + np.array([math.radians(de), 0.0])
                x, cam = _refocused(x0, cam0, ls)
                if abs(cam[0]) > 0.2 or abs(cam[1]) > 0.7:  # outside _fit's bounds
                    continue
                starts.append((x, cam))
    if not starts:
        return fit
    cands = sorted(_fit_each(rig, views, starts, p, screen_evals, 0.1, True), key=lambda c: c[0])
    best = _fit(rig, views, [(par, cam) for _, par, cam in cands[:keep]], p, max_evals, 0.06, True)
    err, par, cam = _fit(rig, views, [(best[1], best[2])], p, max_evals // 2, 0.03, True)
    if err >= fit.error_px:
        return fit
    # the split between depth and height rests on the sharp kink where the front face meets the top face; a
    # tin with rounded corners and a shoulder has none (its outline bends smoothly into the lid), and the
    # refit then trades height for depth and elevation freely. Refused when a rounded prism (p = rounded_p)
    # from the same point explains the outline as well as the sharp box does.
    rounded, _, _ = _fit(rig, views, [(par, cam)], rounded_p, 150, 0.06, True)
    if rounded <= err:
        return fit
    fit_rig = _with_camera(rig, cam)
    return SolidFit(fit.kind, par, p, err, errors(fit_rig, views, par, p), cam, fit_rig)
