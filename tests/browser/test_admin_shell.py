"""The merchant's admin in a real browser (Debian chromium, Playwright) inside the devstore admin page:
onboarding → a collection chosen in the resource picker → the summary moves to "ready" without a reload →
"Needs review" → bulk approve three → READY MODEL_3D media on the devstore → the product page renders the
model and the Gaussian splat (non-blank pixels) → regenerate → the older generation is published again.
Screenshots at 1400×900 and 390×844 are written to artifacts/screenshots/ (gitignored)."""

from __future__ import annotations

import io
import json
import math
import os
import struct
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image, ImageStat
from sqlmodel import select

from devstore.testing import DevstoreServer
from scheduler import jobs as scheduler_jobs
from shop_app.db import session_scope
from shop_app.models.base import utcnow
from shop_app.models.jobs import SUCCEEDED, Generation, Job
from shop_app.models.product_models import Backfill
from shop_app.models.shopify import Approval, Product, ProductImage
from shop_app.storage import make_storage
from tests.shopify.harness import CLIENT_ID, RunningApp, box_glb, install_shop, open_embedded

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
    "--enable-unsafe-swiftshader",
    "--use-angle=swiftshader",
]
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
WAIT_MS = 60_000  # a deadline, not a delay: generous because CI shares 2 cores with other suites
TITLES = ["Ceramic Mug", "Tin Can", "Glass Vase", "Honey Jar"]


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


def _splat_ply(count: int = 1500) -> bytes:
    """A small Gaussian splat (INRIA layout, SH degree 0): coloured discs on a sphere of radius 0.5."""
    names = [
        "x",
        "y",
        "z",
        "nx",
        "ny",
        "nz",
        "f_dc_0",
        "f_dc_1",
        "f_dc_2",
        "opacity",
        "scale_0",
        "scale_1",
        "scale_2",
        "rot_0",
        "rot_1",
        "rot_2",
        "rot_3",
    ]
    rows = []
    golden = math.pi * (3 - math.sqrt(5))
    for i in range(count):
        y = 1 - 2 * (i + 0.5) / count
        r = math.sqrt(1 - y * y)
        x, z = math.cos(golden * i) * r, math.sin(golden * i) * r
        colour = [(0.9 - 0.5) / 0.2821, (0.3 + 0.5 * (y + 1) / 2 - 0.5) / 0.2821, (0.2 - 0.5) / 0.2821]
        rows.append(
            struct.pack(
                "<17f",
                0.5 * x,
                0.5 * y,
                0.5 * z,
                0,
                0,
                0,
                *colour,
                4.0,
                math.log(0.03),
                math.log(0.03),
                math.log(0.01),
                1,
                0,
                0,
                0,
            )
        )
    header = "ply\nformat binary_little_endian 1.0\n" + f"element vertex {count}\n"
    header += "".join(f"property float {n}\n" for n in names) + "end_header\n"
    return header.encode() + b"".join(rows)


def _studio_photos() -> dict[str, list[object]]:
    """Small studio renders (the demo catalogue's renderer): the mug as four labelled views, one photo each
    for the others, so the screenshots show products rather than flat squares."""
    from devstore.studio import make_product, render_views

    def encode(image: Image.Image) -> bytes:
        buf = io.BytesIO()
        image.convert("RGB").save(buf, format="PNG")
        return buf.getvalue()

    out: dict[str, list[object]] = {}
    for title, kind, views in zip(TITLES, ("mug", "can", "vase", "jar"), (4, 1, 1, 1), strict=True):
        images = render_views(make_product(kind, seed=3), n_views=views, size=128)
        names = ("front", "left", "back", "right") if views == 4 else ("",)
        out[title] = [
            {
                "data": encode(image),
                "alt": f"{title}, {name}" if name else title,
                "filename": f"{kind}-{name or 'photo'}.png",
            }
            for image, name in zip(images, names, strict=False)
        ]
    return out


def _preview_png(colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(buf, format="PNG")
    return buf.getvalue()


def _finish(app: RunningApp, image_id: int, colour: tuple[int, int, int] = (40, 120, 200)) -> str:
    """Finish the photo's current job as a worker does: GLB, splat and preview in storage, facts recorded."""
    storage = make_storage(app.settings)
    with session_scope(app.db) as session:
        image = session.get(ProductImage, image_id)
        assert image is not None and image.job_id
        job = session.get(Job, image.job_id)
        assert job is not None
        generation = Generation(
            input_hash=f"browser-{job.id}",
            glb_key=storage.put(box_glb(), suffix=".glb", content_type="model/gltf-binary"),
            splat_key=storage.put(_splat_ply(), suffix=".ply", content_type="application/octet-stream"),
            preview_key=storage.put(_preview_png(colour), suffix=".png", content_type="image/png"),
            stats={"faces": 12, "size_m": [0.1, 0.12, 0.1]},
            duration_s=42.0,
        )
        session.add(generation)
        session.flush()
        job.status, job.generation_id, job.progress, job.finished_at = SUCCEEDED, generation.id, 100, utcnow()
        job.stage = "done"
        session.add(job)
        return job.id


def products_row_id(app: RunningApp) -> int:
    with session_scope(app.db) as session:
        return int(session.exec(select(Product.id).where(Product.title == "Ceramic Mug")).one())  # type: ignore[arg-type]


def devstore_collection_id(devstore: DevstoreServer) -> int:
    [collection] = devstore.store.shops[SHOP].collections.values()
    return collection.id


def _in_thread(func: Callable[..., object], *args: object) -> object:
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(func, *args).result()


def _non_blank(png_bytes: bytes) -> float:
    """Standard deviation of the pixels: a blank canvas is one flat colour (0)."""
    stat = ImageStat.Stat(Image.open(io.BytesIO(png_bytes)).convert("L"))
    return stat.stddev[0]


def _shoot(page: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))  # type: ignore[attr-defined]


def test_merchant_reviews_approves_in_bulk_and_picks_a_generation(
    devstore: DevstoreServer, running_app: RunningApp, browser: object
) -> None:
    # a shop with a catalogue older than the app: no webhook ever told the app about these products
    install_shop(devstore, running_app, SHOP)
    products = [
        devstore.create_product(
            SHOP,
            title=title,
            vendor="Northwind Goods",
            images=photos,
            notify=False,
            created_at="2026-03-02T10:00:00Z",
        )
        for title, photos in _studio_photos().items()
    ]
    devstore.create_collection(SHOP, title="Kitchen", product_ids=[p["id"] for p in products[:3]])
    assert open_embedded(devstore, running_app, SHOP).status_code == 200  # install (token exchange)

    page = browser.new_page(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    page.set_default_timeout(60_000)  # a loaded 2-core CI machine parses the 1 MB viewer slowly
    errors: list[str] = []
    backfills: list[dict] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on(
        "request",
        lambda r: (
            backfills.append(json.loads(r.post_data or "{}"))
            if r.url == f"{running_app.url}/app/api/backfill" and r.method == "POST"
            else None
        ),
    )
    page.goto(f"{devstore.shop_url(SHOP)}/admin/apps/{CLIENT_ID}?path=/app")
    app = page.frame_locator("iframe")
    app.locator("#onboarding").wait_for(timeout=WAIT_MS)
    shell = next(f for f in page.frames if f.url.startswith(running_app.url))
    shell.evaluate("() => { window.__sameDocument = true; }")
    # the admin draws the app's title bar and navigation
    assert page.locator("#app-title").inner_text() == "3D models"
    assert page.locator("#app-nav a").all_inner_texts() == ["Products", "Settings"]
    _shoot(page, "onboarding-1400")

    # onboarding: make models for a collection, chosen in the admin's resource picker
    app.locator("#onboarding [data-act=pick-collection]").click()
    picker = page.locator("dialog.picker")
    picker.get_by_label("Kitchen (3 products)").check()
    picker.locator("[data-pick=select]").click()
    page.locator("#toasts div", has_text="Making models for Kitchen").wait_for(timeout=WAIT_MS)
    assert backfills == [{"collection_id": f"gid://shopify/Collection/{devstore_collection_id(devstore)}"}]

    # the scheduler walks the collection; the app shows how far it got and what it queued, without a reload
    for _ in range(50):
        _in_thread(scheduler_jobs.backfill_products, running_app.settings, running_app.db)
        with session_scope(running_app.db) as session:
            if session.exec(select(Backfill)).one().status != "running":
                break
    app.locator("[data-role=backfill]", has_text="3 products, 3 photos queued").wait_for(timeout=WAIT_MS)
    generating = app.locator('[data-summary="generating"] [data-role=count]')
    generating.filter(has_text="3").wait_for(timeout=WAIT_MS)
    with session_scope(running_app.db) as session:
        rows = session.exec(
            select(Product.title, ProductImage.id).join(ProductImage).order_by(ProductImage.position.desc())  # type: ignore[attr-defined]
        ).all()
        image_of = {t: i for t, i in rows}  # each product's first photo: the lead of a multi-view group
    assert set(image_of) == set(TITLES[:3])  # only the chosen collection

    # three models finish; the summary moves to "ready" on its next poll, without a reload
    assert app.locator('[data-summary="ready"] [data-role=count]').inner_text() == "0"
    for title in TITLES[:3]:
        _finish(running_app, image_of[title])
    app.locator('[data-summary="ready"] [data-role=count]', has_text="3").wait_for(timeout=WAIT_MS)
    assert shell.evaluate("() => window.__sameDocument === true")

    # Needs review → select all three → bulk approve, confirmed in the modal
    app.locator('[data-tab="needs_review"]').click()
    rows = app.locator("tr[data-product-id]")
    app.locator('#rows[data-filter="needs_review"]').wait_for(timeout=WAIT_MS)
    assert sorted(rows.locator(".title a").all_inner_texts()) == sorted(TITLES[:3])
    app.locator("#select-all").check()
    assert app.locator("[data-role=selected-count]").inner_text() == "3 selected"
    app.locator('[data-bulk="approve"]').click()
    app.locator("dialog[open]").wait_for(timeout=WAIT_MS)
    assert "3 models" in app.locator("dialog[open]").inner_text()
    _shoot(page, "bulk-approve-1400")
    app.locator("dialog[open] #confirm-ok").click()
    page.locator("#toasts div", has_text="3 models approved").wait_for(timeout=WAIT_MS)
    app.locator("#empty").wait_for(timeout=WAIT_MS)  # nothing left to review

    for _ in range(50):
        _in_thread(scheduler_jobs.publish_models, running_app.settings, running_app.db)
        with session_scope(running_app.db) as session:
            states = {a.publish_status for a in session.exec(select(Approval)).all()}
        if states <= {"published", "failed"}:
            break
    for product in products[:3]:
        media = [
            m
            for m in devstore.get_product(SHOP, product["id"])["media"]
            if m["media_content_type"] == "MODEL_3D"
        ]
        assert len(media) == 1 and media[0]["status"] == "READY", media
    app.locator('[data-summary="published"] [data-role=count]', has_text="3").wait_for(timeout=WAIT_MS)
    app.locator('[data-tab="all"]').click()
    app.locator('#rows[data-filter="all"] tr[data-product-id]').nth(2).wait_for(timeout=WAIT_MS)
    _shoot(page, "index-1400")

    # the product page: photo, model-viewer with the GLB, the splat drawn, facts, links
    app.locator("tr[data-product-id] .title a", has_text="Ceramic Mug").click()
    card = app.locator(f'[data-group="{image_of["Ceramic Mug"]}"]')
    card.wait_for(timeout=WAIT_MS)
    viewer = card.locator("model-viewer")
    assert viewer.evaluate(
        "el => el.loaded || new Promise((resolve, reject) => {"
        " el.addEventListener('load', () => resolve(true));"
        " el.addEventListener('error', (e) => reject(new Error('model-viewer: ' + (e.detail && e.detail.type))));"
        " setTimeout(() => resolve(el.loaded), 50000); })"
    ), "model-viewer never loaded the GLB"
    splat = card.locator("canvas.splat")
    for _ in range(80):  # the splat loads in a worker; poll its state with a deadline
        if splat.get_attribute("data-state") != "loading":
            break
        page.wait_for_timeout(250)
    assert splat.get_attribute("data-state") == "loaded", splat.get_attribute("data-error")
    for locator, what in ((viewer, "model"), (splat, "splat")):
        for _ in range(40):
            if _non_blank(locator.screenshot()) > 3:
                break
            page.wait_for_timeout(250)
        assert _non_blank(locator.screenshot()) > 3, f"the {what} viewer drew nothing"
    assert card.locator('[data-fact="faces"]').inner_text() == "12"
    assert card.locator('[data-fact="size"]').inner_text() == "10.0 × 12.0 × 10.0 cm"
    card.locator('[data-fact="file-size"]', has_text="KB").wait_for(timeout=WAIT_MS)
    assert app.locator("[data-role=admin-link]").get_attribute("href") == (
        f"{devstore.shop_url(SHOP)}/admin/products/{products[0]['id']}"
    )
    assert card.locator("figure.photo figcaption").all_inner_texts() == ["Front", "Left", "Back", "Right"]
    assert all(card.locator("figure.photo img").evaluate_all("imgs => imgs.map(i => i.alt)"))
    _shoot(page, "product-1400")

    # regenerate: a new model is made, the published one stays until the merchant chooses
    with session_scope(running_app.db) as session:
        first_job = session.get(ProductImage, image_of["Ceramic Mug"]).job_id  # type: ignore[union-attr]
    card.locator('[data-action="regenerate"]').click()
    card.locator("[data-role=state]", has_text="Waiting to start").wait_for(timeout=WAIT_MS)
    _finish(running_app, image_of["Ceramic Mug"], colour=(200, 120, 40))
    history = card.locator("[data-role=history] li[data-generation]")
    history.nth(1).wait_for(timeout=WAIT_MS)
    older = card.locator(f'[data-role=history] li[data-generation="{first_job}"]')
    assert "Chosen" in older.inner_text()

    # pick the newer one, then the older one back
    newer = history.first
    newer.locator('[data-action="approve"]').click()
    page.locator("#toasts div", has_text="will be published").first.wait_for(timeout=WAIT_MS)
    with session_scope(running_app.db) as session:
        approval = session.exec(
            select(Approval).where(Approval.product_image_id == image_of["Ceramic Mug"])
        ).one()
        assert approval.job_id != first_job
    card.locator(f'[data-role=history] li[data-generation="{first_job}"] [data-action="approve"]').click()
    card.locator(f'[data-role=history] li[data-generation="{first_job}"]', has_text="Chosen").wait_for(
        timeout=WAIT_MS
    )
    with session_scope(running_app.db) as session:
        approval = session.exec(
            select(Approval).where(Approval.product_image_id == image_of["Ceramic Mug"])
        ).one()
        assert approval.job_id == first_job

    # settings through the admin's navigation: a bad face limit is refused with the reason, a good one saved
    page.locator("#app-nav a", has_text="Settings").click()
    form = app.locator("#settings-form")
    form.wait_for(timeout=WAIT_MS)
    assert page.locator("#app-title").inner_text() == "Settings"
    form.locator("#face_limit_preset").select_option("custom")
    form.locator("#face_limit").fill("12")
    form.locator("button[type=submit]").click()
    app.locator('[data-error="face_limit"]', has_text="500").wait_for(timeout=WAIT_MS)
    form.get_by_label("Only when I ask").check()
    form.locator("#face_limit").fill("20000")
    form.locator("button[type=submit]").click()
    page.locator("#toasts div", has_text="Settings saved").wait_for(timeout=WAIT_MS)
    _shoot(page, "settings-1400")
    with session_scope(running_app.db) as session:
        from shop_app.models.settings import ShopSettings

        saved = session.exec(select(ShopSettings)).one()
        assert saved.face_limit == 20000 and saved.auto_generate is False
    assert shell.evaluate("() => window.__sameDocument === true")  # navigation without reloading the app

    page.close()  # its WebGL viewers would compete with the phone page for the CPU

    # the phone layout: everything reachable at 390 px
    phone = browser.new_page(viewport={"width": 390, "height": 844})  # type: ignore[attr-defined]
    phone.set_default_timeout(60_000)
    phone.on("pageerror", lambda err: errors.append(str(err)))
    phone.goto(f"{devstore.shop_url(SHOP)}/admin/apps/{CLIENT_ID}?path=/app")
    phone_app = phone.frame_locator("iframe")
    phone_app.locator("tr[data-product-id]").nth(2).wait_for(timeout=WAIT_MS)
    width = phone_app.locator("body").evaluate("b => b.scrollWidth")
    assert width <= 390, f"the index scrolls sideways at 390 px ({width} px wide)"
    _shoot(phone, "index-390")
    phone_app.locator("table.rows").scroll_into_view_if_needed()
    _shoot(phone, "index-rows-390")
    # the product page at 390 px, opened from the admin by its URL (a deep link): the model comes first
    phone.goto(
        f"{devstore.shop_url(SHOP)}/admin/apps/{CLIENT_ID}?path=/app/products/{products_row_id(running_app)}"
    )
    phone_viewer = phone.frame_locator("iframe").locator("model-viewer")
    phone_viewer.wait_for(timeout=WAIT_MS)
    assert phone_viewer.evaluate("el => el.getBoundingClientRect().width") <= 390
    phone.frame_locator("iframe").locator('canvas.splat[data-state="loaded"]').wait_for(timeout=WAIT_MS)
    _shoot(phone, "product-390")
    assert errors == []
