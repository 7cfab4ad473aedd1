"""The document's own JavaScript clients, run with Node against the app and a worker over HTTP."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.hydrilla.conftest import Hydrilla, png_bytes
from tests.images_api import ImagesApi, prompt_png

EXAMPLES = Path(__file__).parent / "examples"
NODE = shutil.which("node")


def run_example(app: Hydrilla, name: str, **env: str) -> list[str]:
    # The document's clients are JavaScript: Node runs them as written (scripts/test.sh warns without it).
    assert NODE is not None, "node not found: install nodejs (Debian: apt-get install nodejs)"
    proc = subprocess.run(
        [NODE, str(EXAMPLES / name)],
        env={
            **os.environ,
            "BACKEND_URL": app.url,
            "API_URL": app.url + app.settings.hydrilla_backend_prefix,
            "TOKEN": app.token("user_2abc", email="ada@example.com", given_name="Ada"),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == "", proc.stderr  # the clients print errors with console.error
    return proc.stdout.splitlines()


def is_glb(url: str) -> bool:
    body = httpx.get(url, timeout=10).content
    return body[:4] == b"glTF"


def test_text_to_3d_workflow(start_hydrilla: Callable[..., Hydrilla], images_api: ImagesApi) -> None:
    app = start_hydrilla(images_api)
    app.start_worker()
    lines = run_example(app, "text_to_3d.mjs")
    model = [line for line in lines if line.startswith("3D Model: ")]
    assert len(model) == 1 and is_glb(model[0].removeprefix("3D Model: "))
    # Every poll before DONE printed the documented progress line.
    assert all(
        line.startswith(("Progress: WAIT, Queue: ", "Progress: RUN, Queue: 0"))
        for line in lines
        if line.startswith("Progress")
    )
    # The preview came from the provider, and register-job put it in the user's history as a DONE job.
    preview = next(line for line in lines if line.startswith("PREVIEW "))
    assert '"success":true' in preview and '"prompt":"A red sports car"' in preview
    history = app.http.get("/api/3d/history", headers=app.auth("user_2abc")).json()["jobs"]
    assert [job["status"] for job in history] == ["DONE", "DONE"]
    registered = history[1]
    assert registered["previewImageUrl"] and registered["resultGlbUrl"] is None
    assert httpx.get(registered["previewImageUrl"]).content == prompt_png("A red sports car")
    # Both provider calls carried the prompt: the preview, then the worker's text-to-3D image.
    assert [r["prompt"] for r in images_api.requests] == ["A red sports car", "A red sports car"]


def test_image_to_3d_workflow_then_rename_and_history(
    start_hydrilla: Callable[..., Hydrilla], tmp_path: Path
) -> None:
    app = start_hydrilla()
    app.start_worker()
    photo = tmp_path / "photo.png"
    photo.write_bytes(png_bytes(7))
    lines = run_example(app, "image_to_3d.mjs", IMAGE_PATH=str(photo))
    uploaded = next(line for line in lines if line.startswith("UPLOADED ")).removeprefix("UPLOADED ")
    assert httpx.get(uploaded).content == png_bytes(7)
    model = next(line for line in lines if line.startswith("3D Model: ")).removeprefix("3D Model: ")
    assert is_glb(model)
    job_id = next(line for line in lines if line.startswith("JOB ")).removeprefix("JOB ")

    lines = run_example(app, "name_and_history.mjs", JOB_ID=job_id)
    assert lines[0] == "RENAMED true"
    assert lines[1] == "My Custom Model Name: DONE"
    assert lines[2].startswith("3D Model: http") and is_glb(lines[2].removeprefix("3D Model: "))
