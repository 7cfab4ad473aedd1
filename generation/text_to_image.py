"""Where text prompts enter the engine.

The engine lifts photos to 3D; it has no text model and loads no weights. A text prompt therefore reaches it
as a photo: a `TextToImage` provider turns the prompt into one product image, and that image goes through
`Engine.generate([image], prompt=prompt)` like any uploaded photo (the prompt still picks the shape prior
and the size). Providers live outside this package because they talk to the network: the app ships an
OpenAI-compatible images client (`shop_app.jobs.image_provider.OpenAIImages`), and the worker runs
prompt → image → engine for text-to-3D jobs. Any object with this method fits.
"""

from __future__ import annotations

from typing import Protocol


class TextToImage(Protocol):
    def image_for_prompt(self, prompt: str) -> bytes:
        """One JPEG or PNG image (bytes) showing what `prompt` describes; raises on failure."""
        ...
