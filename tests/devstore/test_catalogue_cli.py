"""The demo catalogue and the nu3d devstore CLI."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from PIL import Image

from devstore.catalogue import seed_demo_shop
from devstore.cli import main
from devstore.state import Store
from devstore.testing import DevstoreServer

from .conftest import CLIENT_ID, CLIENT_SECRET, SCOPES, Receiver, png_bytes

DEMO = "demo.myshopify.com"


@pytest.fixture(scope="module")
def photo_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("photos")


def test_catalogue_has_todays_products_in_shop_time(photo_cache: Path) -> None:
    # 03:30 UTC is still the previous day in Los Angeles: "today" must follow the shop's clock
    now = datetime(2026, 11, 22, 3, 30, tzinfo=UTC)
    store = Store(clock=lambda: now)
    result = seed_demo_shop(
        store, shop=DEMO, iana_timezone="America/Los_Angeles", cache_dir=photo_cache, photo_size=48
    )
    shop = store.get_shop(DEMO)
    zone = ZoneInfo("America/Los_Angeles")
    today = now.astimezone(zone).date()
    products = [shop.products[i] for i in result.product_ids]
    active_today = [
        p for p in products if p.status == "ACTIVE" and p.created_at.astimezone(zone).date() == today
    ]
    assert len(active_today) == result.today_active >= 12
    assert all(p.created_at <= now for p in products)
    assert any(p.status == "DRAFT" for p in products)
    assert any(p.created_at.astimezone(zone).date() < today for p in products)
    assert len({p.product_type for p in products}) >= 4
    assert all(p.vendor and p.tags for p in products)
    media_counts = [len(p.media_ids) for p in products]
    assert 4 in media_counts and 1 in media_counts
    shared = [
        p for p in products if len(p.variants) > 1 and len({tuple(v.media_ids) for v in p.variants}) == 1
    ]
    own = [p for p in products if len(p.variants) > 1 and len({tuple(v.media_ids) for v in p.variants}) > 1]
    assert shared and own
    four_view = next(p for p in products if len(p.media_ids) == 4)
    alts = [shop.media[m].alt for m in four_view.media_ids]
    assert [a.rsplit(", ", 1)[1] for a in alts] == ["front", "left", "back", "right"]
    # studio photos: white background, the product in the middle

    image = Image.open(io.BytesIO(store.blobs[shop.media[four_view.media_ids[0]].blob_key].data)).convert(
        "RGB"
    )
    assert image.size == (48, 48)
    assert image.getpixel((0, 0)) == (255, 255, 255)
    assert image.getpixel((24, 24)) != (255, 255, 255)


def test_catalogue_is_deterministic_and_cached(photo_cache: Path) -> None:
    now = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
    first, second = Store(clock=lambda: now), Store(clock=lambda: now)
    seed_demo_shop(first, shop=DEMO, cache_dir=photo_cache, photo_size=48)
    cached = sorted(photo_cache.glob("*.png"))
    assert cached
    seed_demo_shop(second, shop=DEMO, cache_dir=photo_cache, photo_size=48)
    assert sorted(photo_cache.glob("*.png")) == cached

    def fingerprint(store: Store) -> list[tuple]:
        shop = store.get_shop(DEMO)
        return [
            (p.title, p.status, p.created_at, [store.blobs[shop.media[m].blob_key].data for m in p.media_ids])
            for p in sorted(shop.products.values(), key=lambda p: p.id)
        ]

    assert fingerprint(first) == fingerprint(second)


def test_seeding_a_running_devstore_fires_webhooks_and_serves_photos(
    photo_cache: Path, receiver: Receiver
) -> None:
    with DevstoreServer() as ds:
        ds.create_shop(DEMO, iana_timezone="Europe/Berlin")
        ds.install_app(
            DEMO, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, app_url=receiver.base_url, scopes=SCOPES
        )
        result = seed_demo_shop(ds, shop=DEMO, cache_dir=photo_cache, photo_size=48)
        receiver.wait_for(len(result.product_ids))
        token = ds.exchange_token(DEMO, CLIENT_ID, CLIENT_SECRET)["access_token"]
        body = ds.graphql(
            DEMO,
            token,
            '{ products(first: 50, query: "status:active", sortKey: CREATED_AT) { '
            "nodes { createdAt featuredMedia { ... on MediaImage { image { url } } } } } }",
        ).json()
        nodes = body["data"]["products"]["nodes"]
        assert len(nodes) == sum(
            1 for i in result.product_ids if ds.store.get_shop(DEMO).products[i].status == "ACTIVE"
        )
        photo = httpx.get(nodes[0]["featuredMedia"]["image"]["url"])
        assert photo.status_code == 200 and photo.headers["content-type"] == "image/png"


def test_cli_control_commands(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with DevstoreServer() as ds:
        url = ["--url", ds.base_url]
        assert main(["shop", "create", "cli-shop", "--timezone", "Asia/Tokyo", *url]) == 0
        assert json.loads(capsys.readouterr().out)["domain"] == "cli-shop.myshopify.com"
        image = tmp_path / "photo.png"
        image.write_bytes(png_bytes())
        assert (
            main(
                [
                    "product",
                    "create",
                    "cli-shop",
                    "--title",
                    "CLI Mug",
                    "--tag",
                    "a",
                    "--tag",
                    "b",
                    "--image",
                    str(image),
                    *url,
                ]
            )
            == 0
        )
        created = json.loads(capsys.readouterr().out)
        assert created["title"] == "CLI Mug" and created["tags"] == "a, b" and len(created["images"]) == 1
        assert main(["product", "update", "cli-shop", str(created["id"]), "--status", "DRAFT", *url]) == 0
        assert json.loads(capsys.readouterr().out)["status"] == "draft"
        assert main(["product", "list", "cli-shop", *url]) == 0
        assert [p["title"] for p in json.loads(capsys.readouterr().out)] == ["CLI Mug"]
        assert main(["product", "delete", "cli-shop", str(created["id"]), *url]) == 0
        capsys.readouterr()
        assert main(["product", "delete", "cli-shop", str(created["id"]), *url]) == 1
        assert "404" in capsys.readouterr().err
        assert (
            main(
                [
                    "product",
                    "create",
                    "cli-shop",
                    "--title",
                    "x",
                    "--image",
                    str(tmp_path / "missing.png"),
                    *url,
                ]
            )
            == 1
        )
        assert "cannot read image" in capsys.readouterr().err
        assert (
            main(
                [
                    "app",
                    "install",
                    "cli-shop",
                    "--client-id",
                    "c1",
                    "--client-secret",
                    "s" * 32,
                    "--app-url",
                    "http://127.0.0.1:9",
                    *url,
                ]
            )
            == 0
        )
        capsys.readouterr()
        assert main(["session-token", "cli-shop", "c1", *url]) == 0
        assert json.loads(capsys.readouterr().out)["session_token"].count(".") == 2
        assert main(["webhooks", "--shop", "cli-shop.myshopify.com", *url]) == 0
        assert json.loads(capsys.readouterr().out) == []
        assert (
            main(["seed-demo", "cli-demo", "--photo-size", "32", "--cache-dir", str(tmp_path / "c"), *url])
            == 0
        )
        seeded = json.loads(capsys.readouterr().out)
        assert seeded["shop"] == "cli-demo" and seeded["products"] == 21 and seeded["active_today"] == 14
        assert len(ds.store.get_shop("cli-demo").products) == 21
    assert main(["reset", "--url", "http://127.0.0.1:9"]) == 1
    assert "cannot reach" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_serves_and_saves_a_snapshot(tmp_path: Path) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    snapshot = tmp_path / "state.json"
    cmd = [
        sys.executable,
        "-c",
        "import sys; from devstore.cli import main; sys.exit(main(sys.argv[1:]))",
        "--port",
        str(port),
        "--snapshot",
        str(snapshot),
        "--log-level",
        "warning",
    ]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/_devstore/shops").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "devstore did not start"
            time.sleep(0.1)
        assert main(["shop", "create", "kept", "--url", base]) == 0
        assert main(["product", "create", "kept", "--title", "Persisted", "--url", base]) == 0
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    saved = json.loads(snapshot.read_text())
    assert [s["domain"] for s in saved["shops"]] == ["kept.myshopify.com"]
    restored = Store()
    restored.load(snapshot)
    assert [p.title for p in restored.get_shop("kept").products.values()] == ["Persisted"]
