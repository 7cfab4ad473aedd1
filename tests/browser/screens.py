"""What the browser tests look at: drawn pixels of a canvas, screenshots, the keyboard's tab order, and the
studio photos the test catalogue is made of."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
BORDER_INSET = 6
BACKGROUND_DISTANCE = 40  # a gradient backdrop varies by ~17 per channel; a drawn object differs by more
PRODUCT_KINDS = {
    "Ceramic Mug": ("mug", 4),
    "Tin Can": ("can", 1),
    "Glass Vase": ("vase", 1),
    "Honey Jar": ("jar", 1),
    "Gift Box": ("box", 1),
    "Cosmetic Tube": ("tube", 1),
}
VIEW_NAMES = ("front", "left", "back", "right")


def drawn_fraction(png_bytes: bytes) -> float:
    """Share of an element's pixels that are not its background. The background is the most common colour
    of a ring BORDER_INSET px inside the element's edge (a viewer frames its object with backdrop; the inset
    skips rounded corners); a pixel is drawn when some channel differs from it by more than
    BACKGROUND_DISTANCE. A blank or black canvas gives 0."""
    rgb = np.asarray(Image.open(io.BytesIO(png_bytes)).convert("RGB"), dtype=np.int16)
    k = min(BORDER_INSET, (min(rgb.shape[:2]) - 1) // 2)
    inner = rgb[k : rgb.shape[0] - k, k : rgb.shape[1] - k]
    ring = np.concatenate([inner[0], inner[-1], inner[:, 0], inner[:, -1]])
    colours, counts = np.unique(ring, axis=0, return_counts=True)
    background = colours[counts.argmax()]
    drawn = np.abs(rgb.reshape(-1, 3) - background).max(axis=1) > BACKGROUND_DISTANCE
    return float(drawn.mean())


def shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def tab_stops(page: Any, frame: Any, first: Any, presses: int) -> list[str]:
    """Press Tab `presses` times from `first` (a locator in the app's frame) and describe where focus lands:
    the element's data-bulk / data-action / data-act / aria-label / accessibilitylabel / id, whichever it has
    first. A Polaris component keeps its native control in its shadow root, so the document's active element
    is the component itself, as it is in the admin."""
    first.focus()
    stops = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        stops.append(
            frame.evaluate(
                "() => { const el = document.activeElement;"
                " return el.dataset.bulk ? 'bulk:' + el.dataset.bulk"
                " : el.dataset.action ? 'action:' + el.dataset.action"
                " : el.dataset.act ? 'act:' + el.dataset.act"
                " : el.getAttribute('aria-label') || el.getAttribute('accessibilitylabel') || el.id"
                " || el.tagName.toLowerCase(); }"
            )
        )
    return stops


def studio_photos(titles: list[str]) -> dict[str, list[dict[str, object]]]:
    """Small studio renders (the demo catalogue's renderer): the mug as four labelled views, one photo each
    for the others, so the engine has something real to model and the screenshots show products."""
    from devstore.studio import make_product, render_views

    out: dict[str, list[dict[str, object]]] = {}
    for title in titles:
        kind, views = PRODUCT_KINDS[title]
        images = render_views(make_product(kind, seed=3), n_views=views, size=160, supersample=1)
        names = VIEW_NAMES if views == 4 else ("",)
        photos = []
        for image, name in zip(images, names, strict=False):
            buf = io.BytesIO()
            image.convert("RGB").save(buf, format="PNG")
            photos.append(
                {
                    "data": buf.getvalue(),
                    "alt": f"{title}, {name}" if name else title,
                    "filename": f"{kind}-{name or 'photo'}.png",
                }
            )
        out[title] = photos
    return out
