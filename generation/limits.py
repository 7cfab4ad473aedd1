"""The engine's parameter limits: the one source for the engine and for the web layer's request validation.

Imports nothing (no torch, no NumPy), so the web process can validate job params without loading the engine;
a test checks that importing it pulls in no torch.
"""

from __future__ import annotations

RESOLUTIONS: tuple[int, ...] = (128, 256, 384)
TEXTURE_SIZES: tuple[int, ...] = (256, 512, 1024, 2048, 4096)
MAX_VIEWS = 4  # photos per job the web layer accepts (the engine itself takes any number >= 1)

# name -> (type, minimum, maximum) of each per-job parameter of generation.GenerationParams
PARAM_SPECS: dict[str, tuple[type, float, float]] = {
    "resolution": (int, RESOLUTIONS[0], RESOLUTIONS[-1]),
    "face_limit": (int, 500, 500_000),
    "texture_size": (int, TEXTURE_SIZES[0], TEXTURE_SIZES[-1]),
    "steps": (int, 1, 200),
    "guidance_scale": (float, 0.0, 50.0),
    "size_hint_m": (float, 0.005, 10.0),
    "seed": (int, 0, 2**31 - 1),  # a new seed is a new variation (regenerate): not deduped with the old one
}
# parameters whose value must also be one of a few choices
PARAM_CHOICES: dict[str, tuple[int, ...]] = {"resolution": RESOLUTIONS, "texture_size": TEXTURE_SIZES}
