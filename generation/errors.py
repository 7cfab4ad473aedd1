"""Typed engine errors. Each carries a stable ``code`` (stored by the job system) and a human message."""

from __future__ import annotations


class GenerationError(Exception):
    """Base class: ``code`` is stable and machine-readable, ``message`` is for people."""

    code = "generation_failed"

    def __init__(self, message: str, *, view: int | None = None) -> None:
        self.message = message if view is None else f"photo {view + 1}: {message}"
        self.view = view
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class InvalidImage(GenerationError):
    """Empty, truncated, corrupt or non-image input."""

    code = "invalid_image"


class ImageTooLarge(GenerationError):
    """More pixels than the engine accepts (decompression-bomb guard)."""

    code = "image_too_large"


class BackgroundTooBusy(GenerationError):
    """The background is not a plain studio background, so the product cannot be separated from it."""

    code = "background_too_busy"


class EmptyForeground(GenerationError):
    """No product in the photo: fully transparent or all background."""

    code = "empty_foreground"


class InconsistentViews(GenerationError):
    """The photos do not fit together (different sizes, or silhouettes that no single object explains)."""

    code = "inconsistent_views"


class InvalidParams(GenerationError):
    """A generation parameter is out of range."""

    code = "invalid_params"


class GenerationCanceled(GenerationError):
    """``should_cancel()`` returned True between two stages."""

    code = "canceled"


class DeviceUnavailable(GenerationError):
    """The requested device (e.g. cuda) is not available."""

    code = "device_unavailable"
