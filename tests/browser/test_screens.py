"""The drawn-pixel measure the browser test trusts: blank, black and gradient backdrops count as nothing."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from tests.browser.screens import drawn_fraction


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _backdrop() -> Image.Image:
    """model-viewer's backdrop: a radial gradient from #fff in the middle to #eee at the edge."""
    image = Image.new("RGB", (200, 100))
    for x in range(200):
        for y in range(100):
            d = min(1.0, (((x - 100) / 100) ** 2 + ((y - 50) / 50) ** 2) ** 0.5)
            v = round(255 - 17 * d)
            image.putpixel((x, y), (v, v, v))
    return image


def test_blank_black_and_gradient_canvases_are_not_drawn() -> None:
    assert drawn_fraction(_png(Image.new("RGB", (64, 48), (255, 255, 255)))) == 0
    assert drawn_fraction(_png(Image.new("RGB", (64, 48), (0, 0, 0)))) == 0
    assert drawn_fraction(_png(_backdrop())) == 0


def test_an_object_on_the_backdrop_counts_by_its_area() -> None:
    image = _backdrop()
    ImageDraw.Draw(image).rectangle((50, 25, 149, 74), fill=(40, 90, 160))  # a quarter of the pixels
    assert abs(drawn_fraction(_png(image)) - 0.25) < 0.01
    black = Image.new("RGB", (100, 100), (0, 0, 0))
    ImageDraw.Draw(black).ellipse((8, 8, 91, 91), fill=(30, 80, 150))  # a splat filling most of the canvas
    assert 0.5 < drawn_fraction(_png(black)) < 0.6  # more than half: the backdrop is read at the edge
