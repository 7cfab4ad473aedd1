"""Our GLB passes the Khronos glTF Validator (npm ``gltf-validator``) with 0 errors.

Needs Node.js. The validator lives in tools/gltf-validator (package.json + package-lock.json); this test installs
it with ``npm ci`` when node_modules is missing. Without node the test fails with a clear message.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "gltf-validator"


def _validator() -> list[str]:
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("Node.js (node and npm) is required to run the Khronos glTF Validator: install nodejs")
    if not (TOOL / "node_modules" / "gltf-validator").exists():
        proc = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(TOOL)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if proc.returncode != 0:
            pytest.fail(f"npm ci in {TOOL} failed:\n{proc.stdout}\n{proc.stderr}")
    return [node, str(TOOL / "validate.js")]


def _validate(glb: bytes, tmp_path: Path) -> dict:
    f = tmp_path / "model.glb"
    f.write_bytes(glb)
    proc = subprocess.run([*_validator(), str(f)], capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def test_engine_glb_has_no_validator_errors(can_result, tmp_path):
    report = _validate(can_result.glb, tmp_path)
    assert report["issues"]["numErrors"] == 0, json.dumps(report["issues"]["messages"], indent=1)
    assert report["issues"]["numWarnings"] == 0, json.dumps(report["issues"]["messages"], indent=1)
    assert report["info"]["materialCount"] == 1 and report["info"]["hasTextures"]


def test_validator_catches_a_broken_glb(can_result, tmp_path):
    broken = bytearray(can_result.glb)
    broken[12 + 8 : 12 + 8 + 8] = b'{"asset"'[::-1]  # corrupt the JSON chunk
    report = _validate(bytes(broken), tmp_path)
    assert report["issues"]["numErrors"] > 0
