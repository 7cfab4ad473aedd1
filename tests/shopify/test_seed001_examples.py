"""Seed 001's own client examples (fetch, and the request axios makes) replayed by node against the app."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from devstore.testing import DevstoreServer
from tests.shopify.harness import RunningApp, install_shop, open_embedded, png
from tests.shopify.test_product_feed import _wait_images, finish

SCRIPT = Path(__file__).parent / "js" / "seed001_examples.mjs"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_seed_examples_replayed(devstore: DevstoreServer, running_app: RunningApp) -> None:
    install_shop(devstore, running_app, "vto-demo.myshopify.com")
    assert open_embedded(devstore, running_app, "vto-demo.myshopify.com").status_code == 200
    for n in range(6):
        devstore.create_product("vto-demo.myshopify.com", title=f"Jacket {n}", images=[png((n * 40, 10, 10))])
    for image in _wait_images(running_app, 6):
        finish(running_app, image.id)  # type: ignore[arg-type]

    out = subprocess.run(["node", str(SCRIPT), running_app.url], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["status"] == 200 and result["success"] is True and result["total"] == 6
    assert len(result["seen"]) == 5, "the first page: 5 products, one photo each"
    for image in result["seen"]:
        assert image["glb"].startswith(running_app.url) and image["splat"] and image["metadata"]
    second = result["second"]
    assert second["success"] is True and len(second["data"]["products"]) == 1
    assert second["data"]["pageInfo"]["hasNextPage"] is False
