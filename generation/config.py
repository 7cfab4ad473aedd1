"""Engine configuration and per-job parameters."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .errors import InvalidParams

RESOLUTIONS = (128, 256, 384)


@dataclass(frozen=True)
class EngineConfig:
    """Engine-wide settings; building an Engine is cheap and never touches the network.

    Parameters:
        work_size: longest side (px) of the images used for masks and carving.
        texture_source_size: longest side (px) of the photos sampled when baking the texture.
        max_pixels: photos with more pixels are refused (decompression-bomb guard).
        default_elevation_deg / default_fov_deg: camera prior used when the photos do not reveal them.
        default_height_m: model height when neither a size hint nor the prompt gives one.
        splat_count: number of Gaussians in the splat .ply.
        preview_size: side of the preview PNG.
        texture_format: "jpeg" (smaller, what Shopify prefers) or "png".
    """

    work_size: int = 384
    texture_source_size: int = 1024
    max_pixels: int = 50_000_000
    default_elevation_deg: float = 10.0
    default_fov_deg: float = 30.0
    default_height_m: float = 0.2
    splat_count: int = 60_000
    preview_size: int = 512
    texture_format: str = "jpeg"


@dataclass(frozen=True)
class GenerationParams:
    """Per-job parameters (seed 000's request fields plus the engine's own).

    Parameters:
        resolution: voxel resolution along the longest side of the product (seed 000's ``octree_resolution``).
        face_limit: maximum triangle count of the GLB mesh.
        texture_size: side of the square base-colour texture (power of two, 256..4096).
        steps: seed 000's ``steps``; the engine maps it to mesh smoothing iterations (steps // 4, at most 10).
        guidance_scale: seed 000's ``guidance_scale``; recorded only (the weight-free engine has no guidance).
        size_hint_m: real-world height of the product in metres, when known.
        seed: the random seed of the run; a merchant's "regenerate" asks for a new one (a new variation).
    """

    resolution: int = 256
    face_limit: int = 10_000
    texture_size: int = 1024
    steps: int = 20
    guidance_scale: float = 7.5
    size_hint_m: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        try:
            res = int(self.resolution)
        except (TypeError, ValueError):
            raise InvalidParams(f"resolution must be one of {RESOLUTIONS}, got {self.resolution!r}") from None
        if res not in RESOLUTIONS:
            raise InvalidParams(f"resolution must be one of {RESOLUTIONS}, got {self.resolution!r}")
        object.__setattr__(self, "resolution", res)
        if not (500 <= int(self.face_limit) <= 500_000):
            raise InvalidParams(f"face_limit must be between 500 and 500000, got {self.face_limit}")
        ts = int(self.texture_size)
        if ts not in (256, 512, 1024, 2048, 4096):
            raise InvalidParams(
                f"texture_size must be a power of two from 256 to 4096, got {self.texture_size}"
            )
        if not (1 <= int(self.steps) <= 200):
            raise InvalidParams(f"steps must be between 1 and 200, got {self.steps}")
        if not (0.0 <= float(self.guidance_scale) <= 50.0):
            raise InvalidParams(f"guidance_scale must be between 0 and 50, got {self.guidance_scale}")
        if self.size_hint_m is not None and not (0.005 <= float(self.size_hint_m) <= 10.0):
            raise InvalidParams(f"size_hint_m must be between 0.005 and 10 metres, got {self.size_hint_m}")

    @property
    def smoothing_iterations(self) -> int:
        return min(10, max(1, int(self.steps) // 4))

    def as_dict(self) -> dict:
        return asdict(self)
