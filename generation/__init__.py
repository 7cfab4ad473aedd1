"""Nu3D generation engine: product photos -> textured GLB + Gaussian splat + preview + pose metadata.

Weight-free and written in PyTorch (CPU or CUDA). Imports nothing of the web app, the database or settings.

    from generation import Engine, EngineConfig, GenerationParams
    result = Engine(EngineConfig()).generate([front, left, back, right], prompt="Cherry soda can")
    result.glb, result.splat_ply, result.preview_png, result.metadata, result.stats

Text prompts: the engine takes photos only; `generation.text_to_image.TextToImage` is the documented seam
through which a provider turns a prompt into the photo the engine lifts.
"""

from .config import RESOLUTIONS, EngineConfig, GenerationParams
from .engine import Engine, GenerationResult, resolve_device
from .errors import (
    BackgroundTooBusy,
    DeviceUnavailable,
    EmptyForeground,
    GenerationCanceled,
    GenerationError,
    ImageTooLarge,
    InconsistentViews,
    InvalidImage,
    InvalidParams,
)

__all__ = [
    "RESOLUTIONS",
    "BackgroundTooBusy",
    "DeviceUnavailable",
    "EmptyForeground",
    "Engine",
    "EngineConfig",
    "GenerationCanceled",
    "GenerationError",
    "GenerationParams",
    "GenerationResult",
    "ImageTooLarge",
    "InconsistentViews",
    "InvalidImage",
    "InvalidParams",
    "resolve_device",
]
