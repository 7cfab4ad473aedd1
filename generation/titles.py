"""What a product's title tells the engine: a shape class (a prior, never a decision on its own), a typical
height when no size is given, and whether it names an open container."""

from __future__ import annotations

import math
import re

# Shape classes a product title can select: (depth / width ratio for single photos, cross-section exponent)
PRIORS: dict[str, tuple[float, float | None]] = {
    "revolve": (1.0, 2.0),
    "box": (0.45, math.inf),
    "flat": (0.4, None),
    "soft": (0.45, 2.5),  # an inflated square sack: thin, and flatter than an ellipse towards its seams
    "blob": (0.75, 2.0),
    # shoes are photographed from the side; an adult shoe is about 0.35-0.4 as wide as it is long
    "footwear": (0.38, 2.0),
}
# checked in this order: a "shoe box" is a box
_KEYWORDS = {
    "revolve": r"bottle|can\b|cans\b|jar|mug|cup|vase|candle|tin\b|glass|tumbler|canister|flask|pot\b|soda|beer|wine",
    "box": r"box|carton|book|package|pack\b|case\b|crate|kit\b|cereal",
    "footwear": r"\bshoes?\b|sneaker|trainer|\bboots?\b|sandal|loafer|slipper|\bclogs?\b|espadrille|moccasin",
    "flat": r"pouch|bag\b|sachet|envelope|wallet|tube\b",
    "soft": r"pillow|cushion|duvet|quilt",
    "blob": r"plush|toy|ball\b|fruit|teddy",
}
CONTAINER = re.compile(r"\b(mug|cup|bowl|tumbler|beaker|planter|bucket|pail)s?\b")
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
    "sneaker": 0.12,
    "boot": 0.2,
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
        if re.search(
            rf"\b{word}(?:e?s)?\b", text
        ):  # "mugs", "boxes"; not "candle" for can, "cupboard" for cup
            return h
    return None


def names_container(prompt: str | None) -> bool:
    """True when the title names an open container (a mug, a cup, a bowl, ...)."""
    return bool(prompt and CONTAINER.search(prompt.lower()))


__all__ = ["PRIORS", "names_container", "prompt_height", "prompt_prior"]
