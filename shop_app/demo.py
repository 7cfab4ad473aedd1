"""`nu3d demo`: the whole product on embedded defaults, as one process group.

Children: the devstore (the shop, seeded with a demo catalogue), the web app, one worker and the scheduler.
The demo registers the app with the devstore exactly as `shopify app deploy` would (scopes and webhook
subscriptions from shopify.app.toml), installs it on the demo shop (managed install), then opens the embedded
app once the way the Shopify admin does, so the app exchanges its session token for an offline token and
starts scanning the catalogue. Everything runs on loopback; nothing is downloaded.
"""

from __future__ import annotations

import html
import logging
import os
import signal
import socket
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import httpx

from shop_app.procgroup import ProcessGroup
from shop_app.settings import Settings

logger = logging.getLogger(__name__)

APP_TOML = Path(__file__).resolve().parent.parent / "shopify.app.toml"
DEMO_SHOP = "demo.myshopify.com"


class DemoError(Exception):
    """The demo could not start; the message says what to do."""


@dataclass(frozen=True)
class DemoPlan:
    port: int
    devstore_port: int
    device: str
    env: dict[str, str]

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def devstore_url(self) -> str:
        return f"http://127.0.0.1:{self.devstore_port}"


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the kernel's pick for port 0)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def plan_demo(
    *, port: int, device: str, env_file_values: dict[str, str], devstore_port: int | None = None
) -> DemoPlan:
    # The devstore's port is whatever is free, not a neighbour of the web port that something may hold.
    devstore_port = devstore_port or free_port()
    env = {**env_file_values, **os.environ}
    env.update(
        {
            "NU3D_APP_URL": f"http://127.0.0.1:{port}",
            "NU3D_PORT": str(port),
            "NU3D_SHOPIFY_ADMIN_BASE": f"http://127.0.0.1:{devstore_port}",
            # The worker downloads product photos from the devstore's CDN on loopback: allow exactly that host.
            "NU3D_FETCH_ALLOW_HOSTS": f"127.0.0.1:{devstore_port}",
            "NU3D_ENGINE_DEVICE": device,
        }
    )
    return DemoPlan(port=port, devstore_port=devstore_port, device=device, env=env)


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def app_subscriptions(toml_path: Path = APP_TOML) -> tuple[list[str], list[dict[str, object]]]:
    """Scopes and webhook subscriptions, exactly as shopify.app.toml declares them."""
    config = tomllib.loads(toml_path.read_text())
    scopes = [s.strip() for s in config["access_scopes"]["scopes"].split(",") if s.strip()]
    subscriptions = [
        {
            k: v
            for k, v in sub.items()
            if k in {"topics", "compliance_topics", "uri", "filter", "include_fields"}
        }
        for sub in config["webhooks"]["subscriptions"]
    ]
    return scopes, subscriptions


def wait_http(url: str, *, timeout_s: float, group: ProcessGroup) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for child in group.children:
            if child.process is not None and child.process.poll() is not None:
                raise DemoError(f"{child.name} exited with code {child.process.returncode} during start-up")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise DemoError(f"{url} did not answer within {timeout_s:.0f} s")


def install_app(plan: DemoPlan, settings: Settings, *, shop: str = DEMO_SHOP) -> str:
    """Register + install the app on the devstore shop; returns the admin URL that embeds the app."""
    scopes, subscriptions = app_subscriptions()
    client_id = settings.shopify_api_key
    with httpx.Client(base_url=plan.devstore_url, timeout=30) as client:
        resp = client.post(
            "/_devstore/apps",
            json={
                "client_id": client_id,
                "client_secret": settings.shopify_api_secret.get_secret_value(),
                # the origin, as shopify.app.toml's application_url: relative webhook uris are appended to it
                "app_url": plan.app_url,
                "scopes": scopes,
                "subscriptions": subscriptions,
            },
        )
        if resp.status_code >= 400 and resp.status_code != 409:
            raise DemoError(f"devstore refused the app registration: {resp.text[:200]}")
        if client.get(f"/_devstore/shops/{shop}").status_code == 404:  # --no-seed: an empty shop
            resp = client.post("/_devstore/shops", json={"shop": shop, "name": "Demo shop"})
            if resp.status_code >= 400:
                raise DemoError(f"devstore refused to create the demo shop: {resp.text[:200]}")
        resp = client.post(
            f"/_devstore/shops/{shop}/installs", json={"client_id": client_id, "scopes": scopes}
        )
        if resp.status_code >= 400 and resp.status_code != 409:
            raise DemoError(f"devstore refused the install: {resp.text[:200]}")
    return f"{plan.devstore_url}/store/{shop}/admin/apps/{client_id}"


def open_embedded_app_once(admin_url: str) -> None:
    """Load the embedded app as the admin's iframe would: the app exchanges the id_token for its tokens."""
    page = httpx.get(admin_url, timeout=30)
    page.raise_for_status()
    marker = "<iframe src='"
    start = page.text.find(marker)
    if start < 0:
        raise DemoError("the devstore admin page has no app frame")
    src = page.text[start + len(marker) : page.text.index("'", start + len(marker))]
    src = html.unescape(src)
    resp = httpx.get(src, timeout=60, follow_redirects=True)
    if resp.status_code >= 400:
        raise DemoError(f"the embedded app answered {resp.status_code} on first load")


def run_demo(*, port: int, device: str, env_file: Path, seed: bool = True, photo_size: int = 512) -> int:
    from shop_app import migrate
    from shop_app.settings import load_settings

    plan = plan_demo(port=port, device=device, env_file_values=read_env_file(env_file))
    settings = load_settings(plan.env, env_file=None)
    try:
        migrate.upgrade(settings)
    except migrate.MigrationError as err:
        raise DemoError(str(err)) from None

    group = ProcessGroup()
    # SIGTERM (a service manager, `kill`) stops the demo the same way Ctrl+C does: children included.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        plan = _start_devstore(group, plan, env_file, seed=seed, photo_size=photo_size)
        admin_url = install_app(plan, settings)
        group.start("web", ["serve", "--port", str(plan.port)], plan.env)
        wait_http(f"{plan.app_url}/health", timeout_s=60, group=group)
        group.start("worker", ["worker", "--concurrency", "1", "--device", plan.device], plan.env)
        group.start("scheduler", ["scheduler"], plan.env)
        open_embedded_app_once(admin_url)
        print(
            "\nNu3D demo is running.\n"
            f"  Open the demo shop's admin with Nu3D embedded:  {admin_url}\n"
            f"  Nu3D app (API, health, OpenAPI):              {plan.app_url}/health/ready\n"
            f"  Devstore (the stand-in Shopify store):        {plan.devstore_url}/\n"
            f"  Today's products with their 3D models (seed 001 API):\n"
            f"    curl '{plan.app_url}/api/nu3d?shop={DEMO_SHOP.split('.')[0]}'\n"
            "Ctrl+C stops everything.\n",
            file=sys.stderr,
            flush=True,
        )
        exited = group.first_exit()
        if exited is not None and exited.process is not None:
            raise DemoError(f"{exited.name} stopped unexpectedly (exit code {exited.process.returncode})")
        return 0
    finally:
        group.stop()
        signal.signal(signal.SIGTERM, previous)


def _start_devstore(
    group: ProcessGroup, plan: DemoPlan, env_file: Path, *, seed: bool, photo_size: int, tries: int = 3
) -> DemoPlan:
    """Start the devstore on a free port; if another process takes that port first, try another one."""
    for attempt in range(1, tries + 1):
        devstore_args = ["devstore", "--port", str(plan.devstore_port), "--snapshot", "var/devstore.json"]
        if seed:
            devstore_args += ["--seed-demo", "--demo-shop", DEMO_SHOP, "--photo-size", str(photo_size)]
        child = group.start("devstore", devstore_args, plan.env)
        try:
            # First start renders the catalogue photos (cached under ./var afterwards).
            wait_http(f"{plan.devstore_url}/_devstore/clock", timeout_s=300, group=group)
            return plan
        except DemoError:
            if attempt == tries or child.process is None or child.process.poll() is None:
                raise
            group.children.remove(child)
            logger.warning("the devstore could not start on port %d; trying another port", plan.devstore_port)
            plan = plan_demo(port=plan.port, device=plan.device, env_file_values=read_env_file(env_file))
    return plan


def _interrupt(signum: int, frame: object) -> None:  # noqa: ARG001
    raise KeyboardInterrupt
