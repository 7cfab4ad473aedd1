"""The engines a worker slot can run: the real generation engine, or a plug-in named `module:factory`.

Every engine has the shape of `generation.Engine.generate(images, *, prompt, params, device, progress,
should_cancel)` and return an object with `.glb`, `.splat_ply`, `.preview_png`, `.metadata`, `.stats`.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

logger = logging.getLogger(__name__)

ProgressFn = Callable[[str, float], None]
CancelFn = Callable[[], bool]

# Engine error codes that trying again cannot fix (bad input) vs. ones worth a retry.
RETRYABLE_ENGINE_CODES = frozenset({"device_unavailable", "out_of_memory"})


class EngineLike(Protocol):
    def generate(
        self,
        images: list[bytes],
        *,
        prompt: str | None = None,
        params: Any = None,
        device: str = "auto",
        progress: ProgressFn | None = None,
        should_cancel: CancelFn | None = None,
    ) -> Any: ...


class EngineUnavailable(Exception):
    """The configured engine cannot be loaded (the message says why)."""


@dataclass
class LoadedEngine:
    name: str
    engine: EngineLike
    make_params: Callable[[dict[str, Any]], Any]


ENGINE_SPEC = re.compile(r"real|[A-Za-z_][\w.]*:[A-Za-z_]\w*")


def load_engine(spec: str, options: dict[str, str] | None = None) -> LoadedEngine:
    """Build the engine once per worker slot (the real one imports torch here, never at module import).

    `spec` is `real` (the generation engine) or `package.module:factory`, a plug-in: `factory(**options)`
    returns a `LoadedEngine`. The test suite plugs its trivial engine in this way
    (`tests.fake_engine:load`); a learned backend would too (generation/README.md)."""
    options = options or {}
    if spec == "real":
        if options:
            raise EngineUnavailable(f"the real engine takes no --engine-option (got {sorted(options)})")
        return _real_engine()
    if not ENGINE_SPEC.fullmatch(spec):
        raise EngineUnavailable(f"unknown engine {spec!r}; use real or package.module:factory")
    module_name, _, attr = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise EngineUnavailable(f"engine {spec!r} cannot be loaded: {err}") from None
    try:
        loaded = factory(**options)
    except (TypeError, ValueError) as err:
        raise EngineUnavailable(f"engine {spec!r} refused its options {options}: {err}") from None
    if not isinstance(loaded, LoadedEngine):
        raise EngineUnavailable(f"engine {spec!r}: {attr}() must return a LoadedEngine")
    return loaded


def _real_engine() -> LoadedEngine:
    try:
        from generation import Engine, EngineConfig, GenerationParams
    except ImportError as err:
        raise EngineUnavailable(f"the generation engine cannot be imported: {err}") from None

    def make_params(params: dict[str, Any]) -> Any:
        return GenerationParams(**{k: v for k, v in params.items() if k != "prompt"})

    return LoadedEngine(name="real", engine=Engine(EngineConfig()), make_params=make_params)
