"""The admin shell's own files: the vendored <model-viewer> and the shell script are served by the app."""

from __future__ import annotations

from tests.shopify.harness import RunningApp


def test_shell_scripts_and_vendored_viewer_are_served(running_app: RunningApp) -> None:
    viewer = running_app.client.get("/static/vendor/model-viewer.min.js")
    assert viewer.status_code == 200
    assert "javascript" in viewer.headers["content-type"]
    assert "customElements.define" in viewer.text and "model-viewer" in viewer.text
    shell = running_app.client.get("/static/app_home.js")
    assert shell.status_code == 200 and "/app/api/products" in shell.text
    assert running_app.client.get("/static/app.css").status_code == 200


def test_unknown_or_escaping_static_paths_are_not_found(running_app: RunningApp) -> None:
    assert running_app.client.get("/static/vendor/nope.js").status_code == 404
    assert running_app.client.get("/static/../settings.py").status_code == 404
    assert running_app.client.get("/static/%2e%2e/settings.py").status_code == 404
