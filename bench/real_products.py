"""Real-looking benchmark products: UV-textured meshes with printed labels and fine print, in real sizes.

Every product is built from parametric patches (a grid in (u, v) mapped to a surface) that each own a rectangle
of one texture atlas; the art on it is drawn with Pillow (brand, slogans, 1-2 mm fine print, barcodes,
nutrition tables, knit patterns), so the photos carry detail a blurred or misaligned model visibly loses.
Frame: metres, +Y up, the product rests on y = 0, its bounding box centred on x = z = 0; the printed front
faces +Z before the resting pose is applied (a box lying flat has its front facing up).

The set is deliberately harder than devstore.studio's: boxes standing, lying flat, on their side and turned on
the floor; a round, a dented and a rectangular can; an elliptic bottle; an open mug with a handle (a concavity
silhouettes cannot see); a shoe; soft goods. Each product has its own camera (elevation 0-35 deg, field of
view 20-60 deg), see ``PRODUCTS``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import trimesh
from PIL import Image, ImageDraw, ImageFont

ATLAS = 2048
FONT_DIR = "/usr/share/fonts/truetype/dejavu"


@dataclass(frozen=True)
class RealProduct:
    name: str  # short id used in tables
    title: str  # the shop title (passed to the engine as its prompt)
    mesh: trimesh.Trimesh  # process=False: per-patch vertices keep their UVs
    uvs: np.ndarray  # (N, 2), glTF convention (origin top-left)
    texture: np.ndarray  # (ATLAS, ATLAS, 3) uint8
    elevation_deg: float
    fov_deg: float


@dataclass
class _Patch:
    verts: np.ndarray
    faces: np.ndarray
    uvs: np.ndarray


class _Atlas:
    """Hands out rectangles of the texture and draws on them."""

    def __init__(self) -> None:
        self.image = Image.new("RGB", (ATLAS, ATLAS), (128, 128, 128))
        self.draw = ImageDraw.Draw(self.image)
        self._x = self._y = self._row = 0

    def rect(self, w: int, h: int) -> tuple[int, int, int, int]:
        if self._x + w > ATLAS:
            self._x, self._y, self._row = 0, self._y + self._row + 4, 0
        if self._y + h > ATLAS:
            raise ValueError("texture atlas full")
        r = (self._x, self._y, w, h)
        self._x += w + 4
        self._row = max(self._row, h)
        return r


@cache
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSansCondensed.ttf"
    return ImageFont.truetype(f"{FONT_DIR}/{name}", size)


_WORDS = (
    "ingredients water sugar natural flavour citric acid sodium contains less than two percent of salt "
    "store in a cool dry place best before see lid recycle me made in the eu net weight nutrition facts "
    "serving size energy fat saturates carbohydrate protein fibre vitamin calcium iron keep refrigerated "
    "after opening consume within three days not suitable for children under 36 months batch lot"
).split()


def _fine_print(d: ImageDraw.ImageDraw, rng, box, size: int, color, lines: int | None = None) -> None:
    x0, y0, x1, y1 = box
    font = _font(size)
    y = y0
    n = 0
    while y + size <= y1 and (lines is None or n < lines):
        words, text = [], ""
        while True:
            w = _WORDS[int(rng.integers(len(_WORDS)))]
            cand = (text + " " + w).strip()
            if d.textlength(cand, font=font) > x1 - x0:
                break
            text = cand
            words.append(w)
        d.text((x0, y), text, fill=color, font=font)
        y += int(size * 1.3)
        n += 1


def _barcode(d: ImageDraw.ImageDraw, rng, box) -> None:
    x0, y0, x1, y1 = box
    d.rectangle(box, fill=(255, 255, 255))
    x = x0 + 4
    while x < x1 - 6:
        w = int(rng.integers(1, 4))
        d.rectangle((x, y0 + 3, x + w - 1, y1 - 10), fill=(0, 0, 0))
        x += w + int(rng.integers(1, 4))
    d.text((x0 + 4, y1 - 10), "5 012345 678900", fill=(0, 0, 0), font=_font(8))


def _table(d: ImageDraw.ImageDraw, rng, box, color) -> None:
    x0, y0, x1, y1 = box
    d.rectangle(box, fill=(250, 250, 245), outline=color, width=2)
    d.text((x0 + 6, y0 + 4), "Nutrition Facts", fill=color, font=_font(16, bold=True))
    y = y0 + 26
    while y + 14 < y1:
        d.line((x0 + 4, y, x1 - 4, y), fill=color, width=1)
        d.text((x0 + 6, y + 2), _WORDS[int(rng.integers(len(_WORDS)))].title(), fill=color, font=_font(11))
        d.text((x1 - 44, y + 2), f"{int(rng.integers(1, 99))} g", fill=color, font=_font(11))
        y += 15


def _label(atlas: _Atlas, rng, w: int, h: int, bg, fg, brand: str, line: str, *, detail: str = "print"):
    """A printed panel: brand, a slogan, a colour band, fine print and a barcode or table."""
    r = atlas.rect(w, h)
    x, y = r[0], r[1]
    d = atlas.draw
    d.rectangle((x, y, x + w - 1, y + h - 1), fill=tuple(int(c) for c in bg))
    band = tuple(int(c) for c in np.clip(np.asarray(bg) * 0.55 + np.asarray(fg) * 0.45, 0, 255))
    d.rectangle((x, y + int(0.62 * h), x + w - 1, y + int(0.70 * h)), fill=band)
    big = max(14, min(h // 6, int(1.6 * w / max(4, len(brand)))))
    d.text((x + w // 2, y + int(0.22 * h)), brand, fill=fg, font=_font(big, bold=True), anchor="mm")
    d.text((x + w // 2, y + int(0.40 * h)), line, fill=fg, font=_font(max(10, big // 3)), anchor="mm")
    for k in range(5):  # a motif: circles that a blurred texture smears
        cx, cy = x + int(w * (0.15 + 0.17 * k)), y + int(0.53 * h)
        rr = max(3, h // 30)
        d.ellipse((cx - rr, cy - rr, cx + rr, cy + rr), fill=band, outline=fg)
    fine = max(9, h // 60)
    _fine_print(d, rng, (x + 8, y + int(0.72 * h), x + int(0.62 * w), y + h - 8), fine, fg)
    if detail == "table":
        _table(d, rng, (x + int(0.65 * w), y + int(0.72 * h), x + w - 8, y + h - 8), fg)
    else:
        _barcode(d, rng, (x + int(0.68 * w), y + int(0.74 * h), x + w - 10, y + h - 10))
    return r


def _plain(atlas: _Atlas, w: int, h: int, color, noise: float = 0.0, rng=None):
    r = atlas.rect(w, h)
    block = np.full((h, w, 3), color, dtype=np.float64)
    if noise and rng is not None:
        block += rng.normal(0, noise, (h, w, 1))
    atlas.image.paste(Image.fromarray(np.clip(block, 0, 255).astype(np.uint8)), (r[0], r[1]))
    return r


def _knit(atlas: _Atlas, w: int, h: int, c1, c2, rng):
    """A knitted stripe pattern with a woven brand tag."""
    r = atlas.rect(w, h)
    yy, xx = np.mgrid[0:h, 0:w]
    stripe = ((yy // 40) % 2).astype(np.float64)
    rib = 0.5 + 0.5 * np.sin(xx * 2 * math.pi / 9.0) * np.sin(yy * 2 * math.pi / 13.0)
    col = np.asarray(c1, float) * (1 - stripe[..., None]) + np.asarray(c2, float) * stripe[..., None]
    col = col * (0.82 + 0.18 * rib[..., None]) + rng.normal(0, 4, (h, w, 1))
    atlas.image.paste(Image.fromarray(np.clip(col, 0, 255).astype(np.uint8)), (r[0], r[1]))
    d = atlas.draw
    tx, ty = r[0] + w // 2 - 90, r[1] + h // 2 - 30
    d.rectangle((tx, ty, tx + 180, ty + 60), fill=(245, 240, 225), outline=(60, 40, 30), width=2)
    d.text((tx + 90, ty + 20), "NORDHAVN", fill=(60, 40, 30), font=_font(22, bold=True), anchor="mm")
    d.text((tx + 90, ty + 44), "100% wool - hand wash 30C", fill=(60, 40, 30), font=_font(10), anchor="mm")
    return r


# ---------------------------------------------------------------------------------------------- patches


def _grid(fn: Callable[[np.ndarray, np.ndarray], np.ndarray], nu: int, nv: int, rect) -> _Patch:
    """fn(U, V) -> (..., 3) over u, v in [0, 1]; the patch's texture is ``rect`` (u -> x, v -> y down)."""
    u = np.linspace(0, 1, nu + 1)
    v = np.linspace(0, 1, nv + 1)
    uu, vv = np.meshgrid(u, v, indexing="ij")
    verts = fn(uu, vv).reshape(-1, 3)
    idx = np.arange((nu + 1) * (nv + 1)).reshape(nu + 1, nv + 1)
    a, b, c, d = idx[:-1, :-1], idx[1:, :-1], idx[1:, 1:], idx[:-1, 1:]
    faces = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([a, c, d], -1).reshape(-1, 3)])
    x, y, w, h = rect
    inset = 1.5  # keep bilinear samples inside the rectangle
    uvs = np.stack(
        [
            (x + inset + uu.ravel() * (w - 2 * inset)) / ATLAS,
            (y + inset + vv.ravel() * (h - 2 * inset)) / ATLAS,
        ],
        1,
    )
    return _Patch(verts, faces, uvs)


def _superellipse(theta: np.ndarray, p: float) -> tuple[np.ndarray, np.ndarray]:
    c, s = np.cos(theta), np.sin(theta)
    return np.sign(c) * np.abs(c) ** (2 / p), np.sign(s) * np.abs(s) ** (2 / p)


def _front_theta(u: np.ndarray) -> np.ndarray:
    """Angle around +Y such that u = 0.5 faces +Z and u grows to the viewer's right (text reads correctly)."""
    return math.pi / 2 - 2 * math.pi * (u - 0.5)


def _section_solid(
    height: float,
    radius: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    side_rect,
    top_rect,
    bottom_rect,
    *,
    p: float | Callable[[np.ndarray], np.ndarray] = 2.0,
    dent: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    nu: int = 128,
    nv: int = 64,
) -> list[_Patch]:
    """A solid of horizontal superellipse sections: radius(y) -> (rx, rz), exponent p(y), capped top and bottom."""

    def side(u, v):
        y = height * (1 - v)
        rx, rz = radius(y)
        pe = p(y) if callable(p) else p
        cx, sz = _superellipse(_front_theta(u), pe)
        k = 1.0 if dent is None else 1.0 - dent(u, y)
        return np.stack([rx * cx * k, y, rz * sz * k], -1)

    def cap(y_level, flip):
        def fn(u, v):
            rx, rz = radius(np.full_like(u, y_level))
            pe = p(np.full_like(u, y_level)) if callable(p) else p
            cx, sz = _superellipse(_front_theta(u), pe)
            r = v
            return np.stack([rx * cx * r, np.full_like(u, y_level), rz * sz * r * (-1 if flip else 1)], -1)

        return fn

    return [
        _grid(side, nu, nv, side_rect),
        _grid(cap(height, False), nu // 2, 8, top_rect),
        _grid(cap(0.0, True), nu // 2, 8, bottom_rect),
    ]


def _cuboid(w: float, h: float, d: float, rects: dict, n: int = 24) -> list[_Patch]:
    """Six faces; each face's text reads correctly when seen from outside (front +Z, top +Y)."""
    hw, hd = w / 2, d / 2

    def face(origin, du, dv):
        o, a, b = (np.asarray(x, float) for x in (origin, du, dv))
        return lambda u, v: o + u[..., None] * a + v[..., None] * b

    specs = {
        "front": ((-hw, h, hd), (w, 0, 0), (0, -h, 0)),
        "back": ((hw, h, -hd), (-w, 0, 0), (0, -h, 0)),
        "left": ((-hw, h, -hd), (0, 0, d), (0, -h, 0)),
        "right": ((hw, h, hd), (0, 0, -d), (0, -h, 0)),
        "top": ((-hw, h, -hd), (w, 0, 0), (0, 0, d)),
        "bottom": ((-hw, 0, hd), (w, 0, 0), (0, 0, -d)),
    }
    return [_grid(face(*specs[k]), n, n, rects[k]) for k in specs]


def _sweep(path: np.ndarray, radius: float, rect, sides: int = 16) -> _Patch:
    """A tube of circular section along a polyline (a mug handle)."""
    t = np.gradient(path, axis=0)
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    ref = np.array([0.0, 0.0, 1.0])
    n1 = np.cross(t, ref)
    n1 /= np.linalg.norm(n1, axis=1, keepdims=True)
    n2 = np.cross(t, n1)
    m = len(path) - 1

    def fn(u, v):
        i = np.clip(np.rint(v * m).astype(int), 0, m)
        ang = 2 * math.pi * u
        return path[i] + radius * (np.cos(ang)[..., None] * n1[i] + np.sin(ang)[..., None] * n2[i])

    return _grid(fn, sides, m, rect)


def _assemble(patches: list[_Patch]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    verts, faces, uvs, off = [], [], [], 0
    for p in patches:
        verts.append(p.verts)
        faces.append(p.faces + off)
        uvs.append(p.uvs)
        off += len(p.verts)
    return np.concatenate(verts), np.concatenate(faces), np.concatenate(uvs)


def _pose(verts: np.ndarray, *, tilt_x_deg: float = 0.0, roll_z_deg: float = 0.0, yaw_deg: float = 0.0):
    """Apply a resting pose, then put the base on y = 0 and centre the bounding box on x = z = 0."""
    ax, az, ay = (math.radians(a) for a in (tilt_x_deg, roll_z_deg, yaw_deg))
    rx = np.array([[1, 0, 0], [0, math.cos(ax), -math.sin(ax)], [0, math.sin(ax), math.cos(ax)]])
    rz = np.array([[math.cos(az), -math.sin(az), 0], [math.sin(az), math.cos(az), 0], [0, 0, 1]])
    ry = np.array([[math.cos(ay), 0, math.sin(ay)], [0, 1, 0], [-math.sin(ay), 0, math.cos(ay)]])
    v = verts @ (ry @ rz @ rx).T
    lo, hi = v.min(0), v.max(0)
    return v - np.array([(lo[0] + hi[0]) / 2, lo[1], (lo[2] + hi[2]) / 2])


# ---------------------------------------------------------------------------------------------- products


def _box_product(rng, atlas, w, h, d, bg, fg, brand, slogan):
    px = min(1000 / max(w, h, d), math.sqrt(1.9e6 / (2 * (w * h + w * d + h * d))))  # texels per metre
    rect = lambda a, b: (int(a * px), int(b * px))  # noqa: E731
    rects = {
        "front": _label(atlas, rng, *rect(w, h), bg, fg, brand, slogan),
        "back": _label(
            atlas, rng, *rect(w, h), np.asarray(bg) * 0.9 + 20, fg, brand, "Since 1952", detail="table"
        ),
        "left": _label(atlas, rng, *rect(d, h), bg, fg, brand[:6], "recipe", detail="table"),
        "right": _label(atlas, rng, *rect(d, h), bg, fg, brand[:6], "ideas"),
        "top": _label(atlas, rng, *rect(w, d), bg, fg, brand, "open here"),
        "bottom": _plain(atlas, *rect(w, d), (215, 205, 185), 6, rng),
    }
    return _cuboid(w, h, d, rects)


def _boxes(w, h, d, bg, fg, brand, slogan):
    return lambda rng, atlas: _box_product(rng, atlas, w, h, d, bg, fg, brand, slogan)


_cereal = _boxes(0.19, 0.28, 0.07, (238, 196, 40), (150, 20, 30), "SUNNY OATS", "whole grain crunch")
_tea_flat = _boxes(0.16, 0.11, 0.05, (30, 90, 70), (240, 225, 170), "HIGHLAND", "earl grey - 40 bags")
_shoebox = _boxes(0.24, 0.10, 0.13, (210, 70, 40), (250, 250, 250), "STRIDE", "trail runner 42 EU")
_gift = _boxes(0.14, 0.16, 0.10, (60, 60, 140), (230, 200, 90), "LUMEN", "scented candle set")


def _can_profile(r: float, h: float):
    def radius(y):
        k = np.ones_like(y)
        k = np.where(y < 0.006, 0.86 + 0.14 * (y / 0.006), k)
        top = h - y
        k = np.where(top < 0.012, 0.9 + 0.1 * np.clip(top / 0.012, 0, 1), k)
        k = np.where(top < 0.002, 0.92, k)
        return r * k, r * k

    return radius


def _soda(rng, atlas):
    r, h = 0.033, 0.122
    side = _label(atlas, rng, 1300, 760, (180, 20, 40), (255, 255, 255), "FIZZ COLA", "zero sugar - 330 ml")
    lid = _plain(atlas, 300, 300, (200, 200, 205), 8, rng)
    return _section_solid(h, _can_profile(r, h), side, lid, lid)


def _dented(rng, atlas):
    r, h = 0.042, 0.11
    side = _label(
        atlas,
        rng,
        1500,
        620,
        (240, 235, 220),
        (30, 90, 40),
        "GARDEN PEAS",
        "harvested at dawn",
        detail="table",
    )
    lid = _plain(atlas, 300, 300, (190, 190, 195), 8, rng)

    def dent(u, y):  # a 7 mm dent front-left and a shallow one at the back
        a = np.exp(-(((u - 0.38) / 0.05) ** 2) - ((y - 0.06) / 0.02) ** 2) * 0.16
        b = np.exp(-(((u - 0.9) / 0.08) ** 2) - ((y - 0.035) / 0.025) ** 2) * 0.08
        return a + b

    return _section_solid(h, _can_profile(r, h), side, lid, lid, dent=dent)


def _rect_tin(rng, atlas):
    w, d, h = 0.10, 0.065, 0.15
    side = _label(atlas, rng, 1400, 660, (20, 60, 30), (235, 200, 80), "OLIVA", "extra virgin olive oil")
    lid = _plain(atlas, 300, 300, (180, 180, 170), 6, rng)

    def radius(y):
        k = np.where(h - y < 0.008, 0.93, 1.0)
        return w / 2 * k, d / 2 * k

    return _section_solid(h, radius, side, lid, lid, p=6.0)


def _bottle(rng, atlas):
    h = 0.21
    side = _label(atlas, rng, 1100, 900, (235, 240, 250), (20, 60, 140), "AQUA PURE", "gentle shampoo 250 ml")
    cap = _plain(atlas, 300, 300, (20, 60, 140), 4, rng)
    prof = [(0.0, 0.031), (0.004, 0.035), (0.15, 0.035), (0.175, 0.024), (0.185, 0.013), (h, 0.013)]
    ys, rs = np.array(prof).T

    def radius(y):
        r = np.interp(y, ys, rs)
        ratio = np.interp(y, [0.0, 0.15, 0.185, h], [0.55, 0.55, 1.0, 1.0])  # elliptic body, round cap
        return r, r * ratio

    return _section_solid(h, radius, side, cap, cap, nv=96)


def _mug(rng, atlas):
    ro, ri, h, floor = 0.041, 0.037, 0.095, 0.009
    side = _label(atlas, rng, 1300, 500, (245, 245, 240), (40, 40, 40), "MONDAYS", "coffee first - 350 ml")
    glaze = _plain(atlas, 400, 300, (230, 225, 215), 5, rng)
    outer = _section_solid(h, lambda y: (np.full_like(y, ro), np.full_like(y, ro)), side, glaze, glaze)
    inner = _section_solid(
        h - floor, lambda y: (np.full_like(y, ri), np.full_like(y, ri)), glaze, glaze, glaze
    )
    inner = [_Patch(p.verts + [0, floor, 0], p.faces[:, ::-1], p.uvs) for p in inner[:2]]
    inner[1].verts[:, 1] = floor  # the interior's floor (the "top" cap of the inner solid sits at the rim)

    def rim(u, v):
        th = _front_theta(u)
        r = ri + (ro - ri) * v
        return np.stack([r * np.cos(th), np.full_like(u, h), r * np.sin(th)], -1)

    t = np.linspace(-0.5 * math.pi, 0.5 * math.pi, 24)
    path = np.stack([ro - 0.003 + 0.028 * np.cos(t), 0.05 + 0.03 * np.sin(t), np.zeros_like(t)], 1)
    handle = _sweep(path, 0.0065, glaze)
    return [outer[0], outer[2], *inner, _grid(rim, 128, 2, glaze), handle]


def _sneaker(rng, atlas):
    length = 0.28
    upper = _label(atlas, rng, 1600, 640, (235, 235, 240), (200, 40, 40), "VELOCE", "run further - size 42")
    sole = _plain(atlas, 400, 200, (250, 250, 250), 4, rng)

    def body(u, v):
        x = (v - 0.5) * length  # heel at -x, toe at +x
        t = v
        w = 0.05 * np.sqrt(np.clip(np.sin(math.pi * np.clip(t, 0.0, 1.0)), 0, 1)) * (0.85 + 0.15 * t)
        hgt = (0.115 - 0.07 * t) * np.sqrt(np.clip(np.sin(math.pi * np.clip(t, 0.0, 1.0)), 0, 1)) + 0.002
        th = _front_theta(u)
        cz, sy = _superellipse(th - math.pi / 2, 3.0)
        return np.stack([x, hgt * (0.5 + 0.5 * sy), -w * cz], -1)

    return [_grid(body, 96, 96, upper), _grid(lambda u, v: body(u, v) * [1, 0, 1], 48, 48, sole)]


def _cushion(rng, atlas):
    a, b, t = 0.2, 0.2, 0.075
    front = _knit(atlas, 900, 900, (200, 90, 60), (230, 200, 150), rng)
    back = _knit(atlas, 900, 900, (200, 90, 60), (120, 60, 40), rng)

    def surf(sign, rect_u_flip):
        def fn(u, v):
            x = (u - 0.5) * 2 * a * (1 if rect_u_flip else -1)
            y = b * (1 - v) * 2
            yy = y / b - 1
            puff = np.sqrt(np.clip((1 - np.abs(x / a) ** 4) * (1 - np.abs(yy) ** 4), 0, 1))
            return np.stack([x, y, sign * (0.008 + t * puff)], -1)

        return fn

    return [_grid(surf(1, True), 64, 64, front), _grid(surf(-1, False), 64, 64, back)]


def _sweater(rng, atlas):
    a, b, c = 0.15, 0.035, 0.12
    knit = _knit(atlas, 1200, 700, (40, 70, 110), (210, 210, 220), rng)

    def fn(u, v):
        om = -math.pi + 2 * math.pi * u  # around the vertical axis
        et = math.pi / 2 - math.pi * v  # from the top down
        e1, e2 = 0.25, 0.35
        ce, se = np.cos(et), np.sin(et)
        co, so = np.cos(om), np.sin(om)
        f = lambda q, e: np.sign(q) * np.abs(q) ** e  # noqa: E731
        return np.stack([a * f(ce, e1) * f(co, e2), b * (1 + f(se, e1)), c * f(ce, e1) * f(so, e2)], -1)

    return [_grid(fn, 128, 64, knit)]


# name -> (title, builder, pose, elevation, fov)
PRODUCTS: dict[str, tuple[str, Callable, dict, float, float]] = {
    "cereal_box": ("Sunny Oats cereal box 500 g", _cereal, {}, 12.0, 30.0),
    "tea_box_flat": ("Highland earl grey tea box", _tea_flat, {"tilt_x_deg": -90.0}, 30.0, 45.0),
    "shoebox_on_end": ("Stride trail runner shoe box", _shoebox, {"roll_z_deg": 90.0}, 20.0, 25.0),
    "gift_box_turned": ("Lumen candle gift box", _gift, {"yaw_deg": 30.0}, 25.0, 55.0),
    "soda_can": ("Fizz Cola can 330 ml", _soda, {}, 0.0, 40.0),
    "dented_can": ("Garden peas can (dented)", _dented, {}, 15.0, 50.0),
    "rect_tin": ("Oliva olive oil tin 500 ml", _rect_tin, {}, 22.0, 35.0),
    "elliptic_bottle": ("Aqua Pure shampoo bottle", _bottle, {}, 8.0, 20.0),
    "mug": ("Mondays coffee mug", _mug, {}, 35.0, 30.0),
    "sneaker": ("Veloce running shoe", _sneaker, {}, 18.0, 60.0),
    "cushion": ("Knitted cushion 40 cm", _cushion, {}, 5.0, 35.0),
    "folded_sweater": ("Nordhavn wool sweater, folded", _sweater, {}, 28.0, 40.0),
}


def make(name: str) -> RealProduct:
    title, builder, pose, elev, fov = PRODUCTS[name]
    rng = np.random.default_rng(list(PRODUCTS).index(name))
    atlas = _Atlas()
    verts, faces, uvs = _assemble(builder(rng, atlas))
    verts = _pose(verts, **pose)
    mesh = trimesh.Trimesh(verts, faces, process=False)
    return RealProduct(name, title, mesh, uvs, np.asarray(atlas.image), elev, fov)
