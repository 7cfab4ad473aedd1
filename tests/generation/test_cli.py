"""``nu3d generate``: writes the four files; bad input gives one `error:` line and a non-zero exit."""

from __future__ import annotations

import json

import pytest

from generation.cli import main


def test_generate_writes_all_outputs(tmp_path, can_photos, capsys):
    paths = []
    for i, data in enumerate(can_photos):
        p = tmp_path / f"view{i}.png"
        p.write_bytes(data)
        paths.append(str(p))
    out = tmp_path / "out"
    rc = main(
        [
            *paths,
            "--out",
            str(out),
            "--resolution",
            "128",
            "--face-limit",
            "2000",
            "--texture-size",
            "256",
            "--prompt",
            "Sparkling cherry soda can",
        ]
    )
    assert rc == 0
    for name in ("model.glb", "splat.ply", "preview.png", "metadata.json"):
        assert (out / name).stat().st_size > 0
    doc = json.loads((out / "metadata.json").read_text())
    md = doc["metadata"][0]
    assert set(md) == {"scale", "rotation", "translation", "camera_pose", "object_index"}
    assert doc["stats"]["size_m"][1] == pytest.approx(0.122, rel=1e-3), "the prompt gave a can's height"
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "needle"),
    [(b"", "empty"), (b"hello, not an image", "not an image"), (b"\x89PNG\r\n\x1a\n\x00\x00", "")],
)
def test_bad_file_gives_one_error_line(tmp_path, capsys, content, needle):
    p = tmp_path / "bad.png"
    p.write_bytes(content)
    rc = main([str(p), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert needle in lines[0]
    assert not (tmp_path / "out").exists(), "nothing is written on failure"


def test_missing_file(tmp_path, capsys):
    rc = main([str(tmp_path / "missing.jpg"), "--out", str(tmp_path / "o")])
    assert rc == 1
    assert capsys.readouterr().err.startswith("error: photo 1: cannot read")


def test_usage_errors_exit_2(capsys):
    assert main(["--out", "x"]) == 2
    assert main(["a.png"]) == 2
    assert main(["a.png", "--out", "x", "--resolution", "100"]) == 2
    assert "usage: nu3d generate" in capsys.readouterr().err


def test_bad_device(tmp_path, can_photos, capsys):
    p = tmp_path / "v.png"
    p.write_bytes(can_photos[0])
    rc = main([str(p), "--out", str(tmp_path / "o"), "--device", "tpu"])
    assert rc == 1
    assert capsys.readouterr().err.strip().startswith("error: unknown device")
