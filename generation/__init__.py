"""Nu3D generation engine: product photos -> textured GLB + Gaussian splat + preview + pose metadata.

Weight-free and written in PyTorch (CPU or CUDA). Imports nothing of the web app, the database or settings.
Importing the package (or ``generation.limits``, which the web layer uses) does not import torch: ``Engine``
and the other torch-backed names load on first access.

    from generation import Engine, EngineConfig, GenerationParams
    result = Engine(EngineConfig()).generate([front, left, back, right], prompt="Cherry soda can")
    result.glb, result.splat_ply, result.preview_png, result.metadata, result.stats

Text prompts: the engine takes photos only; `generation.text_to_image.TextToImage` is the documented seam
through which a provider turns a prompt into the photo the engine lifts.
"""

from typing import TYPE_CHECKING

from .config import (
    RESOLUTIONS,
    CameraConfig,
    EngineConfig,
    ExportConfig,
    GenerationParams,
    SegmentConfig,
    ShapeConfig,
    TextureConfig,
)
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

if TYPE_CHECKING:
    from .backends import GenerationResult, register_backend
    from .engine import Engine, resolve_device

_LAZY = {
    "Engine": "engine",
    "resolve_device": "engine",
    "GenerationResult": "backends",
    "register_backend": "backends",
    "backend_names": "backends",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "RESOLUTIONS",
    "BackgroundTooBusy",
    "CameraConfig",
    "DeviceUnavailable",
    "EmptyForeground",
    "Engine",
    "EngineConfig",
    "ExportConfig",
    "GenerationCanceled",
    "GenerationError",
    "GenerationParams",
    "GenerationResult",
    "ImageTooLarge",
    "InconsistentViews",
    "InvalidImage",
    "InvalidParams",
    "SegmentConfig",
    "ShapeConfig",
    "TextureConfig",
    "backend_names",
    "register_backend",
    "resolve_device",
]
