"""The worker's engine seam: `real`, or a plug-in `package.module:factory` with NAME=VALUE options."""

from __future__ import annotations

import pytest

from shop_app.worker.cli import main as worker_main
from shop_app.worker.engines import EngineUnavailable, load_engine
from tests import fake_engine


def test_a_plug_in_is_loaded_with_its_options() -> None:
    loaded = load_engine(fake_engine.SPEC, {"stage_s": "0"})
    assert loaded.name == "fake"
    result = loaded.engine.generate([b"photo"], params={})
    assert result.glb[:4] == b"glTF" and result.metadata["engine"] == "fake"


@pytest.mark.parametrize(
    ("spec", "options", "words"),
    [
        ("real", {"stage_s": "1"}, "takes no --engine-option"),
        ("no such engine", {}, "use real or package.module:factory"),
        ("tests.no_such_module:load", {}, "cannot be loaded"),
        ("tests.fake_engine:no_such_factory", {}, "cannot be loaded"),
        (fake_engine.SPEC, {"stage_s": "-1"}, "refused its options"),
        (fake_engine.SPEC, {"colour": "red"}, "refused its options"),
        ("tests.fake_engine:box_glb", {"label": "x"}, "must return a LoadedEngine"),
    ],
)
def test_an_engine_that_cannot_load_says_why(spec: str, options: dict[str, str], words: str) -> None:
    with pytest.raises(EngineUnavailable, match=words):
        load_engine(spec, options)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--engine", "fake engine"], "--engine must be real or package.module:factory"),
        (["--engine-option", "stage_s"], "--engine-option must be NAME=VALUE"),
        (["--engine-option", "2x=1"], "--engine-option must be NAME=VALUE"),
    ],
)
def test_the_worker_command_refuses_a_bad_engine_before_starting(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert worker_main(argv) == 2
    assert words in capsys.readouterr().err
