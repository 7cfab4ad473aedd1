"""Procedural retail products with plausible real-world sizes and simple printed colours.

Frame of every mesh: metres, +Y up, the base rests on y = 0, the bounding box is centred on x = z = 0 and the
product's front (its label or printed panel) faces +Z, as in glTF. Colours are per-vertex RGBA (uint8); the
meshes are fine enough that labels, bands and printed panels read as texture in renders.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import trimesh

__all__ = ["PRODUCT_KINDS", "StudioProduct", "make_product"]

PRODUCT_KINDS: tuple[str, ...] = (
    "box",
    "can",
    "bottle",
    "jar",
    "mug",
    "soft",
    "pouch",
    "tube",
    "vase",
    "carton",
)

ColorFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class StudioProduct:
    """One procedural product.

    Parameters:
        kind: one of PRODUCT_KINDS.
        name: a shop-style product title ("Morning Crunch Cereal").
        category: a shop category ("Pantry").
        mesh: trimesh.Trimesh in metres, +Y up, base on y = 0, centred on x = z = 0, front towards +Z, with
            per-vertex colours in ``mesh.visual.vertex_colors``.
        size_m: (width x, height y, depth z) of the bounding box in metres.
        seed: the seed it was made with.
        description: one sentence for a product page.
    """

    kind: str
    name: str
    category: str
    mesh: trimesh.Trimesh
    size_m: tuple[float, float, float]
    seed: int = 0
    description: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
    # colour at any surface point (positions, normals -> RGB 0..255): the renderer evaluates it per pixel, so
    # printed detail finer than the mesh (text lines on a label) shows in the photos; vertex colours are the
    # same function sampled at the vertices
    surface: ColorFn | None = field(default=None, compare=False, repr=False)


# ---------------------------------------------------------------------------------------------- helpers


def _rgb(hex_or_tuple) -> np.ndarray:
    if isinstance(hex_or_tuple, str):
        h = hex_or_tuple.lstrip("#")
        return np.array([int(h[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.float64)
    return np.asarray(hex_or_tuple, dtype=np.float64)


def _jitter_color(rng: np.random.Generator, c, amount: float = 18.0) -> np.ndarray:
    return np.clip(_rgb(c) + rng.uniform(-amount, amount, 3), 0, 255)


def _loft(
    heights: np.ndarray,
    half_x: np.ndarray,
    half_z: np.ndarray,
    exponent: np.ndarray | float = 2.0,
    *,
    sections: int = 96,
    center_z: np.ndarray | None = None,
) -> trimesh.Trimesh:
    """A closed mesh through superellipse rings |x/a|^p + |z/b|^p = 1 at the given heights (capped ends)."""
    heights = np.asarray(heights, dtype=np.float64)
    n = len(heights)
    a = np.broadcast_to(np.asarray(half_x, dtype=np.float64), (n,))
    b = np.broadcast_to(np.asarray(half_z, dtype=np.float64), (n,))
    p = np.broadcast_to(np.asarray(exponent, dtype=np.float64), (n,))
    cz = np.zeros(n) if center_z is None else np.broadcast_to(np.asarray(center_z, dtype=np.float64), (n,))
    t = np.linspace(0.0, 2.0 * np.pi, sections, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    verts = []
    for i in range(n):
        e = 2.0 / p[i]
        x = a[i] * np.sign(c) * np.abs(c) ** e
        z = b[i] * np.sign(s) * np.abs(s) ** e + cz[i]
        verts.append(np.stack([x, np.full(sections, heights[i]), z], axis=1))
    v = np.concatenate(verts + [np.array([[0.0, heights[0], cz[0]], [0.0, heights[-1], cz[-1]]])])
    faces = []
    j = np.arange(sections)
    k = (j + 1) % sections
    for i in range(n - 1):
        r0, r1 = i * sections, (i + 1) * sections
        # counter-clockwise seen from outside (normals out)
        faces.append(np.stack([r0 + j, r1 + j, r0 + k], axis=1))
        faces.append(np.stack([r0 + k, r1 + j, r1 + k], axis=1))
    bot, top = n * sections, n * sections + 1
    faces.append(np.stack([np.full(sections, bot), j, k], axis=1))
    last = (n - 1) * sections
    faces.append(np.stack([np.full(sections, top), last + k, last + j], axis=1))
    mesh = trimesh.Trimesh(v, np.concatenate(faces), process=True)
    if mesh.volume < 0:
        mesh.invert()
    return mesh


def _revolve(profile: list[tuple[float, float]], *, sections: int = 96) -> trimesh.Trimesh:
    """Surface of revolution about +Y from a (radius, height) profile running from the bottom axis to the top axis."""
    pts = np.asarray(profile, dtype=np.float64)
    line = np.column_stack([pts[:, 0], pts[:, 1]])
    mesh = trimesh.creation.revolve(line, sections=sections)
    # revolve() spins around +Z with the profile in the XZ-plane: turn +Z into +Y.
    mesh.apply_transform(trimesh.transformations.rotation_matrix(-np.pi / 2, [1, 0, 0]))
    mesh.merge_vertices()
    if mesh.volume < 0:
        mesh.invert()
    return mesh


def _dense_profile(profile: list[tuple[float, float]], step: float) -> list[tuple[float, float]]:
    """Resample a polyline so that label bands and rims get enough rings for crisp vertex colours."""
    out: list[tuple[float, float]] = []
    for (r0, y0), (r1, y1) in zip(profile[:-1], profile[1:], strict=True):
        n = max(1, int(math.ceil(math.hypot(r1 - r0, y1 - y0) / step)))
        for t in np.linspace(0.0, 1.0, n, endpoint=False):
            out.append((r0 + (r1 - r0) * t, y0 + (y1 - y0) * t))
    out.append(profile[-1])
    return out


def _sweep_tube(path: np.ndarray, r_out: float, r_side: float, *, sides: int = 16) -> trimesh.Trimesh:
    """A closed tube with an elliptical cross-section swept along a planar path in the XY-plane."""
    tang = np.gradient(path, axis=0)
    tang /= np.linalg.norm(tang, axis=1, keepdims=True)
    side = np.tile([0.0, 0.0, 1.0], (len(path), 1))
    nrm = np.cross(side, tang)
    a = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    rings = (
        path[:, None]
        + r_out * np.cos(a)[None, :, None] * nrm[:, None]
        + r_side * np.sin(a)[None, :, None] * side[:, None]
    )
    n = len(path)
    v = np.concatenate([rings.reshape(-1, 3), path[[0, -1]]])
    j = np.arange(sides)
    k = (j + 1) % sides
    faces = []
    for i in range(n - 1):
        r0, r1 = i * sides, (i + 1) * sides
        faces.append(np.stack([r0 + j, r0 + k, r1 + j], 1))
        faces.append(np.stack([r0 + k, r1 + k, r1 + j], 1))
    faces.append(np.stack([np.full(sides, n * sides), k, j], 1))
    faces.append(np.stack([np.full(sides, n * sides + 1), (n - 1) * sides + j, (n - 1) * sides + k], 1))
    mesh = trimesh.Trimesh(v, np.concatenate(faces), process=True)
    mesh.fix_normals()
    return mesh


def _box_patches(w: float, h: float, d: float, n: int = 24) -> trimesh.Trimesh:
    """A box made of six separately gridded faces (unshared edges keep printed colours crisp)."""
    parts = []
    u = np.linspace(-0.5, 0.5, n + 1)
    uu, vv = np.meshgrid(u, u, indexing="ij")
    idx = np.arange((n + 1) ** 2).reshape(n + 1, n + 1)
    a, b, c = idx[:-1, :-1].ravel(), idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
    dd = idx[:-1, 1:].ravel()
    quad = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, dd], 1)])
    for axis in range(3):
        for sign in (-1.0, 1.0):
            other = [i for i in range(3) if i != axis]
            p = np.zeros(((n + 1) ** 2, 3))
            p[:, axis] = sign * 0.5
            p[:, other[0]] = uu.ravel()
            p[:, other[1]] = vv.ravel()
            f = quad.copy()
            # orient outward: (e0 x e1) must point along sign * axis
            normal = np.cross(p[f[0, 1]] - p[f[0, 0]], p[f[0, 2]] - p[f[0, 0]])
            if normal[axis] * sign < 0:
                f = f[:, ::-1]
            parts.append(trimesh.Trimesh(p, f, process=False))
    mesh = trimesh.util.concatenate(parts)
    mesh.apply_scale([w, h, d])
    mesh.apply_translation([0, h / 2, 0])
    return mesh


def _finish(mesh: trimesh.Trimesh, color_fn: ColorFn) -> trimesh.Trimesh:
    lo, hi = mesh.bounds
    mesh.apply_translation([-(lo[0] + hi[0]) / 2, -lo[1], -(lo[2] + hi[2]) / 2])
    rgb = np.clip(color_fn(mesh.vertices, mesh.vertex_normals), 0, 255)
    rgba = np.concatenate([rgb, np.full((len(rgb), 1), 255.0)], axis=1).astype(np.uint8)
    mesh.visual = trimesh.visual.ColorVisuals(mesh, vertex_colors=rgba)
    return mesh


def _label_fn(
    y0: float, y1: float, base, label, stripe, *, logo=None, front_only_logo: bool = True
) -> ColorFn:
    """Colour a vertically banded product: label between y0 and y1, a stripe and a logo patch on the front."""
    base, label, stripe = _rgb(base), _rgb(label), _rgb(stripe)
    logo = _rgb(logo) if logo is not None else stripe

    def fn(p: np.ndarray, _n: np.ndarray) -> np.ndarray:
        y = p[:, 1]
        ang = np.arctan2(p[:, 0], p[:, 2])  # 0 at the front (+Z)
        out = np.tile(base, (len(p), 1))
        in_label = (y >= y0) & (y <= y1)
        out[in_label] = label
        mid = (y0 + y1) / 2
        band = in_label & (np.abs(y - (y0 + 0.22 * (y1 - y0))) < 0.06 * (y1 - y0))
        out[band] = stripe
        patch = in_label & (np.abs(ang) < 0.45) & (np.abs(y - mid - 0.1 * (y1 - y0)) < 0.2 * (y1 - y0))
        if not front_only_logo:
            patch |= in_label & (np.abs(np.abs(ang) - np.pi) < 0.3) & (np.abs(y - mid) < 0.1 * (y1 - y0))
        out[patch] = logo
        # printed text: short rows of "words" under the logo and a fine rule, as on a real label (only
        # visible where the renderer evaluates the colour per pixel)
        ink = np.minimum(stripe, label) * 0.35
        front = in_label & (np.abs(ang) < 0.5)
        for k, frac in enumerate((0.365, 0.325)):  # between the stripe and the logo
            row = front & (np.abs(y - (y0 + frac * (y1 - y0))) < 0.009 * (y1 - y0))
            words = (np.sin(ang * 47.0 + 1.9 * k) < 0.6) & (np.abs(ang) < 0.4 - 0.1 * k)
            out[row & words] = ink
        rule = in_label & (np.abs(y - (y0 + 0.93 * (y1 - y0))) < 0.005 * (y1 - y0))
        out[rule] = stripe
        return out

    return fn


# ------------------------------------------------------------------------------------------- products


def _box(rng: np.random.Generator):
    w, h, d = 0.19 * rng.uniform(0.85, 1.15), 0.28 * rng.uniform(0.85, 1.15), 0.07 * rng.uniform(0.85, 1.3)
    mesh = _box_patches(w, h, d)
    body = _jitter_color(rng, "#d9822b")
    panel = _jitter_color(rng, "#f4e7c5", 8)
    accent = _jitter_color(rng, "#7a1f1f")

    def fn(p, n):
        out = np.tile(body, (len(p), 1))
        front = n[:, 2] > 0.9
        back = n[:, 2] < -0.9
        top = n[:, 1] > 0.9
        x, y = p[:, 0] / w, p[:, 1] / h
        out[front & (np.abs(x) < 0.38) & (y > 0.35) & (y < 0.85)] = panel
        out[front & (y > 0.1) & (y < 0.22)] = accent
        out[front & (np.abs(x + 0.05) < 0.12) & (y > 0.5) & (y < 0.7)] = accent
        out[back & (np.abs(x) < 0.42) & (y > 0.15) & (y < 0.9)] = panel * 0.9
        out[top] = body * 0.85
        return out

    return mesh, fn, "Morning Crunch Cereal", "Pantry", "Crunchy oat clusters in a family-size box."


def _can(rng: np.random.Generator):
    r, h = 0.033 * rng.uniform(0.9, 1.1), 0.122 * rng.uniform(0.9, 1.1)
    prof = [
        (0, 0),
        (r * 0.82, 0),
        (r * 0.9, 0.004),
        (r, 0.011),
        (r, h - 0.012),
        (r * 0.86, h - 0.003),
        (r * 0.84, h),
        (0, h),
    ]
    mesh = _revolve(_dense_profile(prof, 0.004))
    fn = _label_fn(0.012, h - 0.013, "#c8c8cc", _jitter_color(rng, "#c0392b"), "#ffffff", logo="#f1c40f")
    return mesh, fn, "Sparkling Cherry Soda", "Beverages", "A 330 ml can of lightly sparkling cherry soda."


def _bottle(rng: np.random.Generator):
    r = 0.034 * rng.uniform(0.9, 1.1)
    h = 0.26 * rng.uniform(0.9, 1.08)
    prof = [
        (0, 0),
        (r * 0.9, 0),
        (r, 0.006),
        (r, h * 0.6),
        (r * 0.92, h * 0.66),
        (r * 0.62, h * 0.74),
        (r * 0.4, h * 0.8),
        (r * 0.38, h * 0.9),
        (r * 0.42, h * 0.905),
        (r * 0.42, h),
        (0, h),
    ]
    mesh = _revolve(_dense_profile(prof, 0.005))
    glass = _jitter_color(rng, "#2e7d4f")
    fn0 = _label_fn(h * 0.2, h * 0.52, glass, "#f3efe0", _jitter_color(rng, "#8e2430"), logo="#1d3557")
    cap = _jitter_color(rng, "#d4af37", 10)

    def fn(p, n):
        out = fn0(p, n)
        out[p[:, 1] > h * 0.9] = cap
        return out

    return mesh, fn, "Estate Olive Oil 750 ml", "Pantry", "Cold-pressed extra virgin olive oil."


def _jar(rng: np.random.Generator):
    r, h = 0.045 * rng.uniform(0.9, 1.1), 0.1 * rng.uniform(0.9, 1.1)
    lid = 0.022
    prof = [
        (0, 0),
        (r * 0.92, 0),
        (r, 0.006),
        (r, h - 0.006),
        (r * 0.93, h),
        (r * 0.93, h + 0.002),
        (r * 1.01, h + 0.003),
        (r * 1.01, h + lid),
        (r * 0.97, h + lid + 0.002),
        (0, h + lid + 0.002),
    ]
    mesh = _revolve(_dense_profile(prof, 0.004))
    fill = _jitter_color(rng, "#b5651d")
    fn0 = _label_fn(0.02, h - 0.015, fill, "#fff8e7", _jitter_color(rng, "#e76f51"), logo="#264653")
    lidc = _jitter_color(rng, "#9c1c1c")

    def fn(p, n):
        out = fn0(p, n)
        out[p[:, 1] > h + 0.002] = lidc
        return out

    return mesh, fn, "Wildflower Honey", "Pantry", "Raw wildflower honey in a 340 g glass jar."


def _mug(rng: np.random.Generator):
    r, h = 0.042 * rng.uniform(0.92, 1.08), 0.095 * rng.uniform(0.92, 1.08)
    wall = 0.004
    # the mug is shown filled: the liquid surface sits 8 mm below the rim
    prof = [(0, 0), (r * 0.9, 0), (r, 0.005), (r, h), (r - wall, h), (r - wall, h - 0.008), (0, h - 0.008)]
    body = _revolve(_dense_profile(prof, 0.004))
    # handle: a tube swept along a half-ellipse on the +X side
    t = np.linspace(-np.pi / 2, np.pi / 2, 40)
    hx, hy = 0.03, h * 0.32
    path = np.stack([r - 0.004 + hx * np.cos(t), h * 0.52 + hy * np.sin(t), np.zeros_like(t)], 1)
    tube_r = 0.0065
    handle = _sweep_tube(path, tube_r, tube_r * 0.8)
    mesh = trimesh.util.concatenate([body, handle])
    glaze = _jitter_color(rng, "#2a6f97")
    coffee = _rgb("#4b2e1e")

    def fn(p, _n):
        out = np.tile(glaze, (len(p), 1))
        out[(p[:, 1] > h - 0.009) & (np.hypot(p[:, 0], p[:, 2]) < r - wall - 1e-4)] = coffee
        ang = np.arctan2(p[:, 0], p[:, 2])
        out[
            (np.abs(ang) < 0.5)
            & (np.abs(p[:, 1] - h * 0.55) < h * 0.15)
            & (np.hypot(p[:, 0], p[:, 2]) > r - 1e-3)
        ] = (250, 250, 245)
        out[(p[:, 1] < 0.004)] = glaze * 0.7
        return out

    return mesh, fn, "Harbour Blue Mug", "Kitchen", "A 350 ml stoneware mug with a glossy harbour-blue glaze."


def _soft(rng: np.random.Generator):
    mesh = trimesh.creation.icosphere(subdivisions=4)
    v = mesh.vertices.copy()
    bumps = np.zeros(len(v))
    for _ in range(5):
        d = rng.normal(size=3)
        d /= np.linalg.norm(d)
        bumps += rng.uniform(0.03, 0.08) * np.exp(4.0 * (v @ d - 1.0))
    v *= (1.0 + bumps)[:, None]
    v *= np.array([0.085, 0.07, 0.06]) * rng.uniform(0.9, 1.1, 3)
    v[:, 1] = np.maximum(v[:, 1], -0.055)  # sits flat on its bottom
    mesh = trimesh.Trimesh(v, mesh.faces, process=True)
    fur = _jitter_color(rng, "#e9b8c9")
    spot = _jitter_color(rng, "#8d5a97")

    def fn(p, n):
        out = np.tile(fur, (len(p), 1))
        c = p - p.mean(0)
        pattern = np.sin(c[:, 0] * 90) * np.sin(c[:, 1] * 80) * np.sin(c[:, 2] * 70 + 1.0)
        out[pattern > 0.35] = spot
        out[(n[:, 2] > 0.6) & (np.abs(c[:, 1] - 0.02) < 0.012) & (np.abs(c[:, 0]) < 0.03)] = (40, 30, 30)
        return out

    return mesh, fn, "Cloud Plush Pillow", "Toys", "A soft, squishy plush pillow for kids' rooms."


def _pouch(rng: np.random.Generator):
    w, h = 0.075 * rng.uniform(0.9, 1.1), 0.21 * rng.uniform(0.9, 1.1)
    ys = np.linspace(0.0, h, 36)
    t = ys / h
    half_z = 0.032 * (1 - t) ** 1.4 + 0.0025
    half_x = w * (0.96 + 0.04 * np.sin(np.pi * t))
    mesh = _loft(ys, half_x, half_z, exponent=2.4 + 3 * t, sections=96)
    bag = _jitter_color(rng, "#3a7d44")
    print_c = _jitter_color(rng, "#f6d743", 10)

    def fn(p, _n):
        out = np.tile(bag, (len(p), 1))
        y = p[:, 1] / h
        out[(np.abs(p[:, 0]) < w * 0.6) & (y > 0.35) & (y < 0.7)] = print_c
        out[(y > 0.9)] = bag * 0.7
        out[(p[:, 2] < 0) & (y > 0.2) & (y < 0.8) & (np.abs(p[:, 0]) < w * 0.7)] = (235, 235, 225)
        return out

    return mesh, fn, "Trail Mix Pouch", "Snacks", "A resealable stand-up pouch of salted trail mix."


def _tube(rng: np.random.Generator):
    r = 0.018 * rng.uniform(0.9, 1.1)
    h = 0.17 * rng.uniform(0.9, 1.1)
    cap_h = 0.022
    ys = np.concatenate([[0.0, 0.002, cap_h - 0.002, cap_h], np.linspace(cap_h + 0.004, h, 30)])
    t = np.clip((ys - cap_h) / (h - cap_h), 0, 1)
    half_x = np.where(ys <= cap_h, r * 0.95, r * (1 + 0.45 * t))
    half_z = np.where(ys <= cap_h, r * 0.95, np.maximum(r * (1 - t) ** 0.8, 0.0015))
    mesh = _loft(ys, half_x, half_z, exponent=2.0, sections=96)
    tube_c = _jitter_color(rng, "#f1f1f4", 6)
    cap = _jitter_color(rng, "#1b4965")
    stripe = _jitter_color(rng, "#ff6f59")

    def fn(p, _n):
        out = np.tile(tube_c, (len(p), 1))
        out[p[:, 1] <= cap_h + 1e-4] = cap
        y = (p[:, 1] - cap_h) / (h - cap_h)
        out[(y > 0.4) & (y < 0.55)] = stripe
        out[(p[:, 2] > 0) & (y > 0.6) & (y < 0.75) & (np.abs(p[:, 0]) < r * 0.8)] = cap
        return out

    return mesh, fn, "Daily Hand Cream", "Beauty", "A 75 ml tube of fast-absorbing hand cream."


def _vase(rng: np.random.Generator):
    r = 0.055 * rng.uniform(0.9, 1.1)
    h = 0.24 * rng.uniform(0.9, 1.1)
    ys = np.linspace(0, h, 25)
    rr = r * (0.62 + 0.38 * np.sin(np.pi * (ys / h) ** 0.8) ** 1.5) - 0.012 * (ys / h) ** 4
    prof = [(0.0, 0.0)] + [(float(a), float(b)) for a, b in zip(rr, ys, strict=True)] + [(0.0, h)]
    mesh = _revolve(_dense_profile(prof, 0.005))
    glaze = _jitter_color(rng, "#d8cfc4")
    band = _jitter_color(rng, "#a44a3f")

    def fn(p, _n):
        out = np.tile(glaze, (len(p), 1))
        y = p[:, 1] / h
        out[(np.abs(y - 0.55) < 0.05) | (np.abs(y - 0.7) < 0.02)] = band
        return out

    return mesh, fn, "Terracotta Bud Vase", "Home", "A hand-thrown stoneware vase with a russet band."


def _carton(rng: np.random.Generator):
    w = 0.07 * rng.uniform(0.95, 1.05)
    h = 0.19 * rng.uniform(0.95, 1.05)
    roof = 0.035
    body = _box_patches(w, h, w, n=16)
    # gable roof: a triangular prism along X on top of the box
    verts = np.array(
        [
            [-w / 2, h, -w / 2],
            [w / 2, h, -w / 2],
            [w / 2, h, w / 2],
            [-w / 2, h, w / 2],
            [-w / 2, h + roof, 0],
            [w / 2, h + roof, 0],
        ]
    )
    faces = np.array([[0, 2, 1], [0, 3, 2], [3, 5, 2], [3, 4, 5], [0, 1, 5], [0, 5, 4], [0, 4, 3], [1, 2, 5]])
    roof_m = trimesh.Trimesh(verts, faces, process=True)
    roof_m.fix_normals()
    roof_m = trimesh.remesh.subdivide_to_size(roof_m.vertices, roof_m.faces, max_edge=0.006)
    roof_m = trimesh.Trimesh(*roof_m)
    fin = trimesh.creation.box([w, 0.012, 0.004])
    fin.apply_translation([0, h + roof + 0.006, 0])
    mesh = trimesh.util.concatenate([body, roof_m, fin])
    milk = _rgb("#fafafa")
    blue = _jitter_color(rng, "#1e6fd9")

    def fn(p, n):
        out = np.tile(milk, (len(p), 1))
        y = p[:, 1] / h
        out[(y > 0.08) & (y < 0.3)] = blue
        out[(n[:, 2] > 0.9) & (y > 0.45) & (y < 0.8) & (np.abs(p[:, 0]) < w * 0.3)] = blue * 0.8
        out[y > 1.0] = blue
        return out

    return mesh, fn, "Fresh Whole Milk 1 L", "Dairy", "A litre of fresh whole milk in a gable-top carton."


_BUILDERS = {
    "box": _box,
    "can": _can,
    "bottle": _bottle,
    "jar": _jar,
    "mug": _mug,
    "soft": _soft,
    "pouch": _pouch,
    "tube": _tube,
    "vase": _vase,
    "carton": _carton,
}


def make_product(kind: str, *, seed: int = 0) -> StudioProduct:
    """Build a procedural product of ``kind`` (one of PRODUCT_KINDS); ``seed`` varies its size and colours.

    The same (kind, seed) always gives the same mesh and colours.
    """
    if kind not in _BUILDERS:
        raise ValueError(f"unknown product kind {kind!r}; expected one of {', '.join(PRODUCT_KINDS)}")
    rng = np.random.default_rng([seed, PRODUCT_KINDS.index(kind)])
    mesh, color_fn, name, category, description = _BUILDERS[kind](rng)
    mesh = _finish(mesh, color_fn)
    ext = mesh.extents
    if seed:
        name = f"{name} #{seed}"
    return StudioProduct(
        kind=kind,
        name=name,
        category=category,
        mesh=mesh,
        size_m=(float(ext[0]), float(ext[1]), float(ext[2])),
        seed=seed,
        description=description,
        tags=(kind, category.lower()),
        surface=color_fn,
    )
