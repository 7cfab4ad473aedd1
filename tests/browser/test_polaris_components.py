"""The admin's Polaris web components in Debian chromium: the devstore's stand-in refuses markup that Polaris
does not have (so the app's markup is checked against Polaris's manifest, as its GraphQL is against the Admin
schema), its controls behave as Polaris's do (properties, events on the component), and without Polaris's
script the app is still readable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devstore.testing import DevstoreServer
from tests.shopify.harness import CLIENT_ID, RunningApp, install_shop, open_embedded

pytestmark = [pytest.mark.browser]

SHOP = "acme.myshopify.com"
WAIT_MS = 60_000  # a deadline, not a delay
MANIFEST = json.loads((Path(__file__).parents[2] / "devstore" / "polaris_components.json").read_text())


def _open_admin(
    devstore: DevstoreServer, shop_app: RunningApp, browser: Any, *, polaris: bool = True
) -> tuple[Any, Any, list[str]]:
    """The app's index in the devstore admin: the page, the app's frame, and the page errors seen."""
    install_shop(devstore, shop_app, SHOP)
    assert open_embedded(devstore, shop_app, SHOP).status_code == 200
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    if not polaris:  # as when cdn.shopify.com cannot be reached
        page.route("**/shopifycloud/polaris.js", lambda route: route.abort())
    page.goto(f"{devstore.shop_url(SHOP)}/admin/apps/{CLIENT_ID}?path=/app")
    page.frame_locator("iframe").locator("#onboarding").wait_for(timeout=WAIT_MS)
    return page, next(f for f in page.frames if f.url.startswith(shop_app.url)), errors


def test_the_stand_in_reports_tags_attributes_and_slots_polaris_does_not_have(
    devstore: DevstoreServer, shop_app: RunningApp, browser: Any
) -> None:
    page, frame, errors = _open_admin(devstore, shop_app, browser)
    assert frame.evaluate("() => window.__polarisStandIn.violations") == []  # the app's own page is clean
    assert "tone" in MANIFEST["components"]["s-badge"]["attributes"]
    frame.evaluate(
        """() => {
            const box = document.createElement('div');
            box.innerHTML = '<s-badge tone="success">fine</s-badge><s-badge colour="red">no</s-badge>'
              + '<s-fancy-card></s-fancy-card><s-page><s-button slot="toolbar">x</s-button></s-page>';
            document.body.append(box);
            document.querySelector('s-badge').setAttribute('size', 'huge-ish');  // a known attribute
            document.querySelector('s-badge').setAttribute('role', 'status');  // Polaris: accessibilityrole
        }"""
    )
    # the stand-in's MutationObserver reports in a microtask, before a zero-delay timer fires
    violations = frame.evaluate(
        "() => new Promise((resolve) => setTimeout(() => resolve(window.__polarisStandIn.violations), 0))"
    )
    assert sorted(violations) == sorted(
        [
            's-badge has no attribute "colour"',
            "s-fancy-card is not a Polaris web component",
            's-page has no slot "toolbar"',
            's-badge has no attribute "role"',
        ]
    )
    assert errors == []
    page.close()


def test_controls_keep_their_state_on_the_component_and_fire_events_on_it(
    devstore: DevstoreServer, shop_app: RunningApp, browser: Any
) -> None:
    page, frame, errors = _open_admin(devstore, shop_app, browser)
    seen = frame.evaluate(
        """() => new Promise((resolve) => {
            const box = document.createElement('div');
            box.innerHTML = '<s-checkbox label="Gift wrap" id="c"></s-checkbox>'
              + '<s-select label="Size" id="s"><s-option value="s">Small</s-option><s-option value="l" selected>Large</s-option></s-select>'
              + '<s-choice-list label="Colour" id="l"><s-choice value="red" selected>Red</s-choice><s-choice value="blue">Blue</s-choice></s-choice-list>'
              + '<s-number-field label="Count" id="n" value="3"></s-number-field>';
            document.body.append(box);
            const events = [];
            ['c', 's', 'l', 'n'].forEach((id) => document.getElementById(id).addEventListener('change',
              (e) => events.push(id + ':' + (e.target === e.currentTarget))));
            resolve({ checked: document.getElementById('c').checked, size: document.getElementById('s').value,
                      colours: document.getElementById('l').values, count: document.getElementById('n').value, events });
        })"""
    )
    assert seen == {"checked": False, "size": "l", "colours": ["red"], "count": "3", "events": []}
    app = page.frame_locator("iframe")
    app.get_by_label("Gift wrap").check()
    app.get_by_label("Size").select_option("s")
    app.get_by_label("Blue").check()
    app.get_by_label("Count").fill("12")
    app.get_by_label("Count").press("Tab")  # a text field's change fires when it loses focus
    after = frame.evaluate(
        """() => ({ checked: document.getElementById('c').checked, size: document.getElementById('s').value,
                    colours: document.getElementById('l').values, count: document.getElementById('n').value })"""
    )
    # one choice at a time in a single-choice list; every control's change reached the component itself
    assert after == {"checked": True, "size": "s", "colours": ["blue"], "count": "12"}
    assert frame.evaluate("() => window.__polarisStandIn.violations") == []
    assert errors == []
    page.close()


def test_without_polaris_the_admin_is_plain_but_readable(
    devstore: DevstoreServer, shop_app: RunningApp, browser: Any
) -> None:
    page, frame, errors = _open_admin(devstore, shop_app, browser, polaris=False)
    assert frame.evaluate("() => customElements.get('s-page') === undefined")  # Polaris really did not load
    onboarding = page.frame_locator("iframe").locator("#onboarding")
    assert "Make models for the products you already have" in onboarding.inner_text()
    # headings come from the components' heading attributes, drawn by the app's own stylesheet
    headings = frame.evaluate(
        """() => ['s-page', '#onboarding'].map((sel) =>
             getComputedStyle(document.querySelector(sel), '::before').content)"""
    )
    assert headings == ['"3D models"', '"Get started with Nu3D"']
    assert onboarding.bounding_box()["height"] > 50  # laid out as a block, not collapsed inline
    assert errors == []
    page.close()
