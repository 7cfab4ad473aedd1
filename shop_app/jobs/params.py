"""Job inputs and engine params: validation, normalisation, and the content hash that keys result dedupe."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Sequence
from typing import Any

from generation.limits import MAX_VIEWS, PARAM_CHOICES, PARAM_SPECS

MAX_IMAGES = MAX_VIEWS
HASH_VERSION = "nu3d-generation-v1"

# PARAM_SPECS / PARAM_CHOICES come from generation.limits, the engine's torch-free module of limits (the web
# process never imports the engine itself, which loads torch). Only params the client gave are kept: the engine
# fills its own defaults.
MAX_PROMPT_CHARS = 1000
_CONTENT_KEY = re.compile(r"^sha256/[0-9a-f]{2}/[0-9a-f]{2}/([0-9a-f]{64})\.[A-Za-z0-9.]{1,11}$")


class InvalidJobRequest(ValueError):
    """The job's inputs or params are unusable; the message says which field and why."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def normalize_params(params: dict[str, Any] | None) -> dict[str, Any]:
    """Validate engine params and return them in canonical form (types coerced, unknown names refused)."""
    out: dict[str, Any] = {}
    for name, value in (params or {}).items():
        if value is None or value == "":
            continue
        if name == "prompt":
            if not isinstance(value, str):
                raise InvalidJobRequest("prompt must be a string", field="prompt")
            if len(value) > MAX_PROMPT_CHARS:
                raise InvalidJobRequest(
                    f"prompt is longer than {MAX_PROMPT_CHARS} characters", field="prompt"
                )
            if value.strip():
                out["prompt"] = value.strip()
            continue
        spec = PARAM_SPECS.get(name)
        if spec is None:
            known = ", ".join(sorted([*PARAM_SPECS, "prompt"]))
            raise InvalidJobRequest(f"unknown parameter {name!r}; known parameters: {known}", field=name)
        kind, low, high = spec
        try:
            if isinstance(value, bool):
                raise TypeError
            number = float(value)
            if not math.isfinite(number):  # inf, nan, 1e400: no parameter takes them
                raise ValueError
            if kind is int:
                if number != int(number):
                    raise TypeError
                number = int(number)
        except (TypeError, ValueError, OverflowError):
            what = "an integer" if kind is int else "a number"
            raise InvalidJobRequest(f"{name} must be {what}, got {value!r}", field=name) from None
        if not low <= number <= high:
            raise InvalidJobRequest(
                f"{name} must be between {low:g} and {high:g}, got {number:g}", field=name
            )
        choices = PARAM_CHOICES.get(name)
        if choices and number not in choices:
            raise InvalidJobRequest(
                f"{name} must be one of {', '.join(map(str, choices))}, got {number:g}", field=name
            )
        out[name] = number
    return dict(sorted(out.items()))


def normalize_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """`{"image_urls": [...]}` or `{"image_keys": [...]}`, 1 to 4 images, views in the engine's order; or
    `{"text_prompt": "..."}`, which the worker turns into one image through the image provider."""
    if not isinstance(inputs, dict):
        raise InvalidJobRequest("inputs must be an object with image_urls or image_keys", field="inputs")
    if "text_prompt" in inputs:
        text = inputs["text_prompt"]
        if not isinstance(text, str) or not text.strip():
            raise InvalidJobRequest("text_prompt must be a non-empty string", field="text_prompt")
        if len(text) > MAX_PROMPT_CHARS:
            raise InvalidJobRequest(
                f"text_prompt is longer than {MAX_PROMPT_CHARS} characters", field="text_prompt"
            )
        return {"text_prompt": text.strip()}
    urls, keys = inputs.get("image_urls"), inputs.get("image_keys")
    if (urls is None) == (keys is None):
        raise InvalidJobRequest("give exactly one of image_urls or image_keys", field="inputs")
    field = "image_urls" if urls is not None else "image_keys"
    items = urls if urls is not None else keys
    if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
        raise InvalidJobRequest(f"{field} must be a list of strings", field=field)
    if not 1 <= len(items) <= MAX_IMAGES:
        raise InvalidJobRequest(f"{field} must hold 1 to {MAX_IMAGES} images, got {len(items)}", field=field)
    if urls is not None:
        for url in urls:
            if not url.lower().startswith(("http://", "https://")) or len(url) > 2048:
                raise InvalidJobRequest(f"image URL {url[:100]!r} is not an http(s) URL", field=field)
    return {field: list(items)}


def digest_from_key(key: str) -> str | None:
    """The SHA-256 of a content-addressed storage key's bytes (the key names it), or None."""
    match = _CONTENT_KEY.match(key)
    return match.group(1) if match else None


def input_hash(image_digests: Sequence[str], params: dict[str, Any]) -> str:
    """The dedupe key: SHA-256 over the ordered image SHA-256s and the canonical params."""
    payload = "\n".join(
        [HASH_VERSION, *image_digests, json.dumps(params, sort_keys=True, separators=(",", ":"))]
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def input_hash_for_images(images: Sequence[bytes], params: dict[str, Any]) -> str:
    return input_hash([hashlib.sha256(data).hexdigest() for data in images], params)


def input_hash_for_keys(keys: Sequence[str], params: dict[str, Any]) -> str | None:
    digests = [digest_from_key(key) for key in keys]
    if any(d is None for d in digests):
        return None
    return input_hash([d for d in digests if d], params)
