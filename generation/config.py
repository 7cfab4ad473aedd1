"""Engine configuration and per-job parameters."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .errors import InvalidParams
from .limits import PARAM_CHOICES, PARAM_SPECS, RESOLUTIONS, TEXTURE_SIZES


@dataclass(frozen=True)
class SegmentConfig:
    """Loading and segmentation.

    Parameters:
        work_size: longest side (px) of the images used for masks, camera estimation and carving.
        max_pixels: photos with more pixels are refused (decompression-bomb guard).
    """

    work_size: int = 384
    max_pixels: int = 50_000_000


@dataclass(frozen=True)
class CameraConfig:
    """The camera stage: whether to estimate from the photos, the fixed fall-back camera, and the priors."""

    estimate: bool = True
    default_elevation_deg: float = 10.0  # used when the photos do not reveal the camera
    default_fov_deg: float = 30.0
    prior_elevation_deg: float = 12.0
    prior_elevation_sigma_deg: float = 15.0
    prior_fov_deg: float = 35.0
    prior_fov_sigma_deg: float = 20.0
    min_confidence: float = 0.2  # below this the fixed default camera is used instead


@dataclass(frozen=True)
class ShapeConfig:
    """Carving and meshing.

    Parameters:
        mesh_cells: marching cubes runs on about this many cells along the longest side when the face limit
            is at most 40k (the carve keeps the full resolution; more cells only add faces to decimate).
        fit_solids: try exact prisms (cylinder, rounded tin, cuboid) before falling back to the carved hull.
        max_error_px: a prism is used when its silhouettes stay this close (mean, at ``work_size``) to the
            photos' silhouettes (and within twice that in every view).
        single_view_box_camera: with one photo (or a front and back pair), a chosen box refits its depth
            together with the camera's elevation and focal length (``exact_shape.refine_single_view_box``): the top
            face's foreshortening ties the hidden depth to the elevation, which the calibration guesses there.
    """

    mesh_cells: int = 160
    fit_solids: bool = True
    single_view_box_camera: bool = True
    max_error_px: float = 1.25  # about one pixel of segmentation noise plus a quarter


@dataclass(frozen=True)
class OpeningConfig:
    """Open containers (generation/opening.py): find a cup's opening in the photos and hollow the hull.

    Parameters:
        detect: look for an opening at all.
        min_elevation_deg: below this the photos barely see the top; no opening is looked for.
        min_contrast: the interior must be this much darker than the rim band (a fraction of the rim's
            luminance) in every photo that shows the top.
        min_contrast_titled: the same when the title names a container (mug, cup, bowl, ...): the title
            breaks a near-tie, it never decides alone.
        max_scale_spread: the photos must agree on the inner edge's scale within this.
        floor_fraction: where the floor is not seen, it sits this fraction of the height above the base (a
            prior: from above, only 2 r tan(elevation) of the inner wall shows).
        min_floor_step: a colour step this large (RGB distance, 0-1 per channel) down the view into the
            opening is its floor or a liquid's surface.
    """

    detect: bool = True
    min_elevation_deg: float = 12.0
    min_contrast: float = 0.2
    min_contrast_titled: float = 0.04
    max_scale_spread: float = 0.06
    floor_fraction: float = 0.1
    min_floor_step: float = 0.15


@dataclass(frozen=True)
class TextureConfig:
    """Texture baking.

    Parameters:
        source_size: longest side (px) of the photos sampled when baking the texture.
        format: "jpeg" (smaller, what Shopify prefers) or "png".
        angle_power: a photo's weight on a texel goes as cos(view angle) ** angle_power (higher: sharper
            hand-over between photos, less ghosting, harder seams).
        edge_band_px: the weight ramps up over this many photo pixels inside the silhouette edge.
        match_exposure: scale each photo's colours (per channel) so the photos agree where they overlap.
    """

    source_size: int = 1024
    format: str = "jpeg"
    angle_power: float = 4.0
    edge_band_px: float = 3.0
    match_exposure: bool = True


@dataclass(frozen=True)
class ExportConfig:
    """GLB, splat and preview export.

    Parameters:
        default_height_m: model height when neither a size hint nor the prompt gives one.
        splat_count: number of Gaussians in the splat .ply.
        preview_size: side of the preview PNG.
    """

    default_height_m: float = 0.2
    splat_count: int = 60_000
    preview_size: int = 512


@dataclass(frozen=True)
class EngineConfig:
    """Engine-wide settings, one dataclass per stage; building an Engine is cheap and never touches the network.

    Parameters:
        backend: name of the registered backend that runs the pipeline (see ``generation.backends``).
        seed: seeds the ``torch.Generator`` (and NumPy generator) each job gets; the same inputs and seed give
            the same outputs.
        segment, camera, shape, opening, texture, export: the stages' settings.
    """

    backend: str = "weightfree"
    seed: int = 0
    segment: SegmentConfig = field(default_factory=SegmentConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    shape: ShapeConfig = field(default_factory=ShapeConfig)
    opening: OpeningConfig = field(default_factory=OpeningConfig)
    texture: TextureConfig = field(default_factory=TextureConfig)
    export: ExportConfig = field(default_factory=ExportConfig)


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
        if res not in PARAM_CHOICES["resolution"]:
            raise InvalidParams(f"resolution must be one of {RESOLUTIONS}, got {self.resolution!r}")
        object.__setattr__(self, "resolution", res)
        lo, hi = _range("face_limit")
        if not (lo <= int(self.face_limit) <= hi):
            raise InvalidParams(f"face_limit must be between {lo} and {hi}, got {self.face_limit}")
        if int(self.texture_size) not in TEXTURE_SIZES:
            raise InvalidParams(
                f"texture_size must be a power of two from {TEXTURE_SIZES[0]} to {TEXTURE_SIZES[-1]}, "
                f"got {self.texture_size}"
            )
        lo, hi = _range("steps")
        if not (lo <= int(self.steps) <= hi):
            raise InvalidParams(f"steps must be between {lo} and {hi}, got {self.steps}")
        lo, hi = _range("guidance_scale")
        if not (lo <= float(self.guidance_scale) <= hi):
            raise InvalidParams(
                f"guidance_scale must be between {lo:g} and {hi:g}, got {self.guidance_scale}"
            )
        lo, hi = _range("size_hint_m")
        if self.size_hint_m is not None and not (lo <= float(self.size_hint_m) <= hi):
            raise InvalidParams(
                f"size_hint_m must be between {lo:g} and {hi:g} metres, got {self.size_hint_m}"
            )
        lo, hi = _range("seed")
        if not (lo <= int(self.seed) <= hi):
            raise InvalidParams(f"seed must be between {lo:g} and {hi:g}, got {self.seed}")

    @property
    def smoothing_iterations(self) -> int:
        return min(10, max(1, int(self.steps) // 4))

    def as_dict(self) -> dict:
        return asdict(self)


def _range(name: str) -> tuple[float, float]:
    _, lo, hi = PARAM_SPECS[name]
    return lo, hi
