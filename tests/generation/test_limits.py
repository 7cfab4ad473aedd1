"""generation.limits: the one source of parameter limits, importable by the web layer without torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from generation import GenerationParams, InvalidParams
from generation.limits import PARAM_CHOICES, PARAM_SPECS
from shop_app.jobs.params import InvalidJobRequest, normalize_params

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_limits_loads_neither_torch_nor_the_engine():
    code = (
        "import sys, generation.limits\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'numpy', 'scipy')"
        " or m in ('generation.engine', 'generation.backends', 'generation.weightfree'))\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_web_validation_loads_no_torch():
    code = "import sys, shop_app.jobs.params\nprint('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _top_value(name: str):
    kind, _, high = PARAM_SPECS[name]
    return PARAM_CHOICES[name][-1] if name in PARAM_CHOICES else kind(high)


@pytest.mark.parametrize("name", sorted(PARAM_SPECS))
def test_engine_and_web_accept_the_same_top_value(name):
    value = _top_value(name)
    GenerationParams(**{name: value})
    assert normalize_params({name: value}) == {name: value}


@pytest.mark.parametrize("name", sorted(PARAM_SPECS))
def test_engine_and_web_refuse_the_same_value_above_the_limit(name):
    kind, _, high = PARAM_SPECS[name]
    above = kind(high * 2 + 1)
    with pytest.raises(InvalidParams, match=name):
        GenerationParams(**{name: above})
    with pytest.raises(InvalidJobRequest, match=name):
        normalize_params({name: above})
