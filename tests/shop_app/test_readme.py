"""The README is the operator's manual: every setting the code reads must be in its table."""

from __future__ import annotations

import re
from pathlib import Path

from shop_app.settings import Settings, env_var_name

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_documented() -> None:
    text = README.read_text()
    documented = set(re.findall(r"`((?:NU3D|SHOPIFY)_[A-Z0-9_]+)`", text))
    expected = {env_var_name(name, Settings) for name in Settings.model_fields}
    assert expected - documented == set(), "document these in README.md's configuration table"


def test_quickstart_is_exactly_two_commands() -> None:
    text = README.read_text()
    block = text.split("## Quickstart", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in block.strip().splitlines()]
    assert commands == ["bash scripts/demo.sh", "bash scripts/test.sh"]
    ci = (README.parent / ".ci" / "run").read_text()
    assert "scripts/test.sh" in ci
