"""The backend seam: what a generation backend is, and the registry ``Engine`` picks one from.

A backend turns photos into a ``GenerationResult`` (GLB, splat PLY, preview PNG, pose metadata, stats). The
engine resolves the device, seeds a ``torch.Generator`` from ``EngineConfig.seed`` and calls the backend named
by ``EngineConfig.backend``. Today's only backend is ``"weightfree"`` (generation/weightfree.py: silhouettes,
camera estimation, shape priors, projected texture; no learned weights).

Plugging in a learned backend (none ships: their weights come from Hugging Face, see
shared/design/generation-facts.md) is one class and one registration::

    class TripoLikeBackend:
        name = "triposr"

        def __init__(self, config: EngineConfig, *, weights_path: Path) -> None:
            self.config, self.weights_path = config, weights_path  # cheap: nothing loaded yet
            self._model = None

        def generate(self, images, *, prompt, params, device, generator, stages) -> GenerationResult:
            if self._model is None:  # first job of this worker slot; never at import time
                state = torch.load(self.weights_path, map_location="cpu", weights_only=True)  # tensors only,
                self._model = build_network(state).to(device).eval()  # never pickled code from a download
            ...  # stages.start("segment", 5), ..., reuse generation.export for GLB / splat / preview

    register_backend("triposr", lambda config: TripoLikeBackend(config, weights_path=Path("/models/triposr.pt")))

Rules for a backend: read weights only from a local path given to it (no downloads at run time, the job system
runs offline), load them with ``torch.load(..., weights_only=True)`` (or safetensors), draw all randomness from
the ``generator`` it is handed, report stages through ``stages`` (which also raises ``GenerationCanceled``
between stages), raise ``generation.errors`` types for bad input, and return the metadata shape documented in
generation/engine.py (the worker and the job API read it).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .errors import GenerationCanceled, InvalidParams

if TYPE_CHECKING:
    import torch

    from .config import EngineConfig, GenerationParams

ProgressFn = Callable[[str, float], None]
CancelFn = Callable[[], bool]


@dataclass
class GenerationResult:
    glb: bytes
    splat_ply: bytes
    preview_png: bytes
    metadata: dict
    stats: dict = field(default_factory=dict)


class Stages:
    """Progress reporting, per-stage timings and cancellation between stages."""

    def __init__(self, progress: ProgressFn | None, should_cancel: CancelFn | None) -> None:
        self.progress = progress
        self.should_cancel = should_cancel
        self.timings: dict[str, float] = {}
        self._name: str | None = None
        self._t = 0.0

    def start(self, name: str, percent: float) -> None:
        self.finish()
        if self.should_cancel is not None and self.should_cancel():
            raise GenerationCanceled(f"canceled before the {name} stage")
        self._name, self._t = name, time.perf_counter()
        if self.progress is not None:
            self.progress(name, float(percent))

    def finish(self) -> None:
        if self._name is not None:
            self.timings[self._name] = round(time.perf_counter() - self._t, 4)
            self._name = None


class Backend(Protocol):
    """One way of turning photos into a model (see the module docstring)."""

    name: str

    def generate(
        self,
        images: Sequence[Any],
        *,
        prompt: str | None,
        params: GenerationParams,
        device: torch.device,
        generator: torch.Generator,
        stages: Stages,
    ) -> GenerationResult: ...


BackendFactory = Callable[["EngineConfig"], Backend]

# built-in backends by import path, so that registering them imports nothing
_BUILTIN: dict[str, str] = {"weightfree": "generation.weightfree:WeightFreeBackend"}
_REGISTRY: dict[str, BackendFactory] = {}


def register_backend(name: str, factory: BackendFactory) -> None:
    """Make ``EngineConfig(backend=name)`` build its backend with ``factory(config)``."""
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"backend names are letters, digits, '-' and '_', got {name!r}")
    _REGISTRY[name] = factory


def backend_names() -> list[str]:
    return sorted({*_BUILTIN, *_REGISTRY})


def create_backend(config: EngineConfig) -> Backend:
    """The backend ``config.backend`` names; ``InvalidParams`` listing the known ones when there is none."""
    name = config.backend
    factory = _REGISTRY.get(name)
    if factory is None and name in _BUILTIN:
        module, _, attr = _BUILTIN[name].partition(":")
        factory = getattr(importlib.import_module(module), attr)
    if factory is None:
        raise InvalidParams(f"unknown engine backend {name!r}; known backends: {', '.join(backend_names())}")
    return factory(config)
