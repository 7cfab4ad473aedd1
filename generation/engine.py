"""The generation engine: product photos -> textured GLB, Gaussian splat PLY, preview PNG, pose metadata.

Output frame (GLB, splat and metadata): metres, +Y up, the product's front (photo 1) faces +Z, the base rests on
y = 0 and the bounding box is centred on x = z = 0. ``metadata`` follows seed 001's shape: ``rotation`` (w, x, y,
z), ``translation`` and ``scale`` map a model point into the first photo's camera frame (OpenCV convention: x
right, y down, z forward, metres): ``p_cam = R(rotation) @ (scale * p_model) + translation``. ``camera_pose``
describes the turntable (elevation, field of view, azimuths, camera distance) and how it was found
(``estimated``, ``confidence`` in [0, 1], the ``cues`` used; see generation/calibrate.py).

``Engine`` is the stable entry point; the work is done by the backend ``EngineConfig.backend`` names
(generation/backends.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .backends import CancelFn, GenerationResult, ProgressFn, Stages, create_backend
from .config import EngineConfig, GenerationParams
from .errors import DeviceUnavailable
from .images import ImageInput


def resolve_device(device: str | torch.device | None) -> torch.device:
    name = str(device or "auto").lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceUnavailable("CUDA was requested but no CUDA device is available")
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise DeviceUnavailable(f"unknown device {device!r}; use auto, cpu or cuda")


class Engine:
    """Photo-to-3D engine. Construction is cheap and loads nothing; the backend is built on the first job."""

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self._backend = None

    def generate(
        self,
        images: Sequence[ImageInput] | ImageInput,
        *,
        prompt: str | None = None,
        params: GenerationParams | None = None,
        device: str | torch.device = "cpu",
        progress: ProgressFn | None = None,
        should_cancel: CancelFn | None = None,
    ) -> GenerationResult:
        params = params or GenerationParams()
        dev = resolve_device(device)
        if self._backend is None:
            self._backend = create_backend(self.config)
        # a job-local generator: no global seed is touched, concurrent jobs do not disturb each other
        # the engine's seed plus the job's (a merchant's regenerate asks for a new variation with a new one)
        generator = torch.Generator(device=dev).manual_seed(int(self.config.seed) + int(params.seed))
        with torch.inference_mode():
            return self._backend.generate(
                images,
                prompt=prompt,
                params=params,
                device=dev,
                generator=generator,
                stages=Stages(progress, should_cancel),
            )


__all__ = ["Engine", "GenerationResult", "resolve_device"]
