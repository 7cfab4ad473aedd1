"""The admin shell's own files: every script and stylesheet the shell names is served by the app (no CDN),
and the app's front door is a page for people, not JSON."""

from __future__ import annotations

import re

from tests.shopify.harness import RunningApp


def test_every_file_the_shell_template_names_is_served(running_app: RunningApp) -> None:
    from shop_app.web.pages import templates

    names = set()
    for template in ("base.html", "app_home.html"):
        source = templates().loader.get_source(templates(), template)[0]  # type: ignore[union-attr]
        names |= set(re.findall(r'(?:src|href)="(/static/[^"]+)"', source))
    assert {"/static/vendor/polaris-tokens.css", "/static/admin.js", "/static/admin_splat.js"} <= names
    for name in names:
        response = running_app.client.get(name)
        assert response.status_code == 200, name
    viewer = running_app.client.get("/static/vendor/model-viewer.min.js")
    assert "customElements.define" in viewer.text and "model-viewer" in viewer.text
    # the splat module imports the vendored gsplat from our own origin
    splat = running_app.client.get("/static/admin_splat.js").text
    assert 'from "/static/vendor/gsplat.es.js"' in splat
    assert "PLYLoader" in running_app.client.get("/static/vendor/gsplat.es.js").text


def test_unknown_or_escaping_static_paths_are_not_found(running_app: RunningApp) -> None:
    assert running_app.client.get("/static/vendor/nope.js").status_code == 404
    assert running_app.client.get("/static/../settings.py").status_code == 404
    assert running_app.client.get("/static/%2e%2e/settings.py").status_code == 404


def test_the_front_door_and_a_bare_app_url_explain_how_to_open_nu3d(running_app: RunningApp) -> None:
    home = running_app.client.get("/")
    assert home.status_code == 200 and home.headers["content-type"].startswith("text/html")
    assert "Install Nu3D" in home.text and "oauth/install?client_id=" in home.text
    assert 'action="/app"' in home.text  # a form for the shop's address
    bare = running_app.client.get("/app")
    assert bare.status_code == 400 and bare.headers["content-type"].startswith("text/html")
    assert "Install Nu3D" in bare.text


def test_app_url_outside_the_admin_leads_into_the_admin(running_app: RunningApp) -> None:
    # no host, not embedded: the admin opens (and, when needed, installs) the app; no OAuth redirect_uri error
    response = running_app.client.get("/app", params={"shop": "acme.myshopify.com"})
    assert response.status_code == 302
    assert response.headers["location"].endswith("/admin/apps/" + running_app.settings.shopify_api_key)
