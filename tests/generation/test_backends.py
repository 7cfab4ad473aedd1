"""The backend seam: registry, a custom backend receiving the job's seeded torch.Generator, unknown names."""

from __future__ import annotations

import pytest
import torch

from generation import Engine, EngineConfig, GenerationResult, InvalidParams, backend_names, register_backend
from generation.backends import Stages

from .conftest import SMALL


class _Recorder:
    """A minimal backend: draws from the generator it is handed and reports two stages."""

    name = "recorder"

    def __init__(self, config: EngineConfig) -> None:
        self.config = config

    def generate(self, images, *, prompt, params, device, generator, stages: Stages) -> GenerationResult:
        stages.start("think", 0)
        draw = torch.rand(3, generator=generator, device=device).tolist()
        stages.start("write", 50)
        stages.finish()
        return GenerationResult(
            b"glb", b"ply", b"png", {"draw": draw, "prompt": prompt}, dict(stages.timings)
        )


@pytest.fixture(scope="module", autouse=True)
def _registered():
    register_backend("test-recorder", _Recorder)


def test_the_weight_free_pipeline_is_a_registered_backend():
    assert "weightfree" in backend_names() and "test-recorder" in backend_names()
    assert EngineConfig().backend == "weightfree"


def test_engine_runs_the_configured_backend_with_a_seeded_generator():
    seen = []
    a = Engine(EngineConfig(backend="test-recorder", seed=7)).generate(
        [b"x"], prompt="mug", progress=lambda s, p: seen.append(s)
    )
    b = Engine(EngineConfig(backend="test-recorder", seed=7)).generate([b"x"])
    c = Engine(EngineConfig(backend="test-recorder", seed=8)).generate([b"x"])
    assert a.metadata["draw"] == b.metadata["draw"] != c.metadata["draw"]
    assert a.metadata["prompt"] == "mug" and seen == ["think", "write"]
    assert set(a.stats) == {"think", "write"}


def test_the_generator_is_job_local_not_the_global_seed():
    torch.manual_seed(123)
    before = torch.rand(2)
    torch.manual_seed(123)
    Engine(EngineConfig(backend="test-recorder")).generate([b"x"])
    assert torch.equal(torch.rand(2), before), "the engine must not reseed or consume the global generator"


def test_unknown_backend_names_the_known_ones():
    with pytest.raises(InvalidParams, match="weightfree"):
        Engine(EngineConfig(backend="nope")).generate([b"x"])


def test_backend_names_are_checked():
    with pytest.raises(ValueError):
        register_backend("bad name!", _Recorder)


def test_seed_changes_the_splat_samples_not_the_mesh(can_photos, can_result):
    from generation import ExportConfig, SegmentConfig, TextureConfig

    other = Engine(
        EngineConfig(
            seed=1,
            segment=SegmentConfig(work_size=192),
            texture=TextureConfig(source_size=192),
            export=ExportConfig(splat_count=5000, preview_size=128),
        )
    ).generate(can_photos, params=SMALL)
    assert other.glb == can_result.glb
    assert other.splat_ply != can_result.splat_ply
