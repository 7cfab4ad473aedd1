"""The admin shell in a real browser: Debian chromium, driven by Playwright, opens the devstore admin page that
embeds the app, sees the product and its finished model (preview PNG and <model-viewer> with the GLB), approves
it, and the model ends up on the devstore product as MODEL_3D media."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import select

from devstore.testing import DevstoreServer
from scheduler import jobs as scheduler_jobs
from shop_app.db import session_scope
from shop_app.models.base import utcnow
from shop_app.models.jobs import SUCCEEDED, Generation, Job
from shop_app.models.shopify import Approval, ProductImage
from shop_app.storage import make_storage
from tests.shopify.harness import CLIENT_ID, RunningApp, box_glb, install_shop, open_embedded, png, settle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOP = "acme.myshopify.com"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _preview_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (40, 120, 200)).save(buf, format="PNG")
    return buf.getvalue()


def _complete_generation(app: RunningApp, image_id: int) -> tuple[str, str]:
    """Finish the photo's queued job as a worker does: GLB and preview PNG in storage, job succeeded."""
    storage = make_storage(app.settings)
    glb_key = storage.put(box_glb(), suffix=".glb", content_type="model/gltf-binary")
    preview_key = storage.put(_preview_png(), suffix=".png", content_type="image/png")
    with session_scope(app.db) as session:
        image = session.get(ProductImage, image_id)
        assert image is not None and image.job_id
        job = session.get(Job, image.job_id)
        assert job is not None
        generation = Generation(input_hash=f"browser-{job.id}", glb_key=glb_key, preview_key=preview_key)
        session.add(generation)
        session.flush()
        job.status, job.generation_id, job.progress, job.finished_at = SUCCEEDED, generation.id, 100, utcnow()
        job.stage = "done"
        session.add(job)
    return glb_key, preview_key


def _in_thread(func: Callable[..., object], *args: object) -> object:
    """Playwright's sync API runs an event loop in this thread; the scheduler job starts its own."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(func, *args).result()


def test_merchant_sees_the_model_approves_it_and_it_reaches_the_product(
    devstore: DevstoreServer, running_app: RunningApp, browser: object
) -> None:
    install_shop(devstore, running_app, SHOP)
    assert open_embedded(devstore, running_app, SHOP).status_code == 200  # install (token exchange)
    product = devstore.create_product(SHOP, title="Ceramic Mug", images=[png(size=32)])
    waiting = devstore.create_product(SHOP, title="Tin Can", images=[png((0, 90, 200), size=32)])
    assert settle(devstore, running_app)
    with session_scope(running_app.db) as session:
        by_product = {i.gid: i for i in session.exec(select(ProductImage)).all()}
        image_id = by_product[product["images"][0]["admin_graphql_api_id"]].id
        waiting_image = by_product[waiting["images"][0]["admin_graphql_api_id"]]
        waiting_id, waiting_job = waiting_image.id, waiting_image.job_id
    assert image_id is not None
    glb_key, _ = _complete_generation(running_app, image_id)

    page = browser.new_page(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    api_requests: list[dict[str, str]] = []
    glb_statuses: list[int] = []
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on(
        "request",
        lambda r: api_requests.append(r.headers) if r.url.startswith(f"{running_app.url}/app/api/") else None,
    )
    page.on("response", lambda r: glb_statuses.append(r.status) if glb_key in r.url else None)

    page.goto(f"{devstore.shop_url(SHOP)}/admin/apps/{CLIENT_ID}?path=/app")
    app_frame = page.frame_locator("iframe")
    card = app_frame.locator(f'[data-group="{image_id}"]')
    card.wait_for(timeout=20_000)
    assert app_frame.locator(".product", has=card).locator("h3").inner_text().startswith("Ceramic Mug")
    assert card.locator("[data-role=generation]").inner_text() == "model ready"

    # A queued generation shows its state; progress written by the worker appears on the next poll, no reload.
    waiting_card = app_frame.locator(f'[data-group="{waiting_id}"]')
    assert waiting_card.locator("[data-role=generation]").inner_text() == "queued"
    shell = next(f for f in page.frames if f.url.startswith(running_app.url))
    shell.evaluate("() => { window.__sameDocument = true; }")
    with session_scope(running_app.db) as session:
        job = session.get(Job, waiting_job)
        assert job is not None
        job.status, job.progress, job.stage = "running", 40, "mesh"
        session.add(job)
    waiting_card.locator("[data-role=stage]", has_text="mesh · 40%").wait_for(timeout=15_000)
    assert waiting_card.locator("[data-role=generation]").inner_text() == "generating"
    assert shell.evaluate("() => window.__sameDocument === true")

    # The preview PNG is drawn and the viewer loads the GLB from a signed storage URL.
    preview = card.locator("img.preview")
    preview.wait_for(timeout=10_000)
    assert preview.evaluate("img => img.complete && img.naturalWidth") == 64
    viewer = card.locator("model-viewer")
    src = viewer.get_attribute("src") or ""
    assert src.startswith(f"{running_app.url}/files/") and glb_key in src
    assert viewer.evaluate(
        "el => el.loaded || new Promise((resolve, reject) => {"
        " el.addEventListener('load', () => resolve(true));"
        " el.addEventListener('error', (e) => reject(new Error('model-viewer: ' + (e.detail && e.detail.type))));"
        " setTimeout(() => resolve(el.loaded), 20000); })"
    ), "model-viewer never loaded the GLB"
    assert 200 in glb_statuses

    # Approve: the card updates without a reload, through the session-token API.
    card.locator("[data-action=approve]").click()
    publish = card.locator("[data-role=publish]")
    publish.wait_for(timeout=10_000)
    assert publish.inner_text() == "pending upload to Shopify"
    assert card.locator("[data-role=approval]").inner_text() == "approved"
    # App Bridge's fetch (the devstore stand-in) added the session token to every call to our API.
    assert api_requests and all(h.get("authorization", "").startswith("Bearer ey") for h in api_requests)

    # The scheduler's publishing step puts the model on the product.
    for _ in range(50):
        _in_thread(scheduler_jobs.publish_models, running_app.settings, running_app.db)
        with session_scope(running_app.db) as session:
            if session.exec(select(Approval)).one().publish_status in ("published", "failed"):
                break
    media = [
        m for m in devstore.get_product(SHOP, product["id"])["media"] if m["media_content_type"] == "MODEL_3D"
    ]
    assert len(media) == 1 and media[0]["status"] == "READY", media
    # ...and the shell shows it on its next poll.
    app_frame.locator(f'[data-group="{image_id}"] .publish-published').wait_for(timeout=15_000)
    assert errors == []
