"""Run a devstore on a free loopback port for tests, with helpers that drive its control API over HTTP.

with DevstoreServer() as ds:
    ds.create_shop("acme.myshopify.com", iana_timezone="Europe/Berlin")
    ds.install_app("acme.myshopify.com", client_id="cid", client_secret="secret",
                   app_url="http://127.0.0.1:9000", scopes=["read_products", "write_products", "write_files"])
    token = ds.mint_session_token("acme.myshopify.com", "cid", "secret")
    # the app under test uses NU3D_SHOPIFY_ADMIN_BASE = ds.admin_base
"""

from __future__ import annotations

import base64
import dataclasses
import socket
import threading
import time
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from devstore.app import create_devstore_app
from devstore.config import DevstoreConfig
from devstore.errors import DevstoreClientError
from devstore.oauth import ID_TOKEN_TYPE, OFFLINE_TYPE, ONLINE_TYPE, TOKEN_EXCHANGE
from devstore.oauth import mint_session_token as _mint
from devstore.schema import API_VERSION
from devstore.state import Store
from devstore.webhooks import WebhookDispatcher

FAST_RETRIES: tuple[float, ...] = (0.05, 0.05, 0.1, 0.1, 0.2, 0.2, 0.3, 0.3)


class DevstoreServer:
    """A devstore served by uvicorn on ``127.0.0.1:<free port>`` in a background thread.

    Parameters:
        config: devstore settings; ``public_url`` is filled in with the bound address. When omitted, a
            test-friendly config is used: webhook retries compressed to about 1.3 s and 3D media processing
            of 0.2 s.
        store: state to serve (seed it directly for fast tests); a fresh one when omitted.
    """

    def __init__(self, config: DevstoreConfig | None = None, *, store: Store | None = None) -> None:
        self._config = config or DevstoreConfig(
            webhook_retry_delays=FAST_RETRIES, media_processing_s=0.2, webhook_timeout_s=2.0
        )
        self.store = store or Store()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self.base_url = ""
        self.client = httpx.Client(timeout=30.0)

    # ---- lifecycle --------------------------------------------------------------------------------------
    def __enter__(self) -> DevstoreServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        self.config = dataclasses.replace(self._config, public_url=self.base_url)
        self.app = create_devstore_app(self.config, store=self.store)
        uv_config = uvicorn.Config(self.app, log_level="warning", lifespan="on", access_log=False)
        self._server = uvicorn.Server(uv_config)
        self._sock = sock
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="devstore-uvicorn", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("devstore server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
        if self._sock is not None:
            self._sock.close()
        self.client.close()
        self._server = self._thread = self._sock = None

    # ---- URLs ---------------------------------------------------------------------------------------------
    @property
    def admin_base(self) -> str:
        """The value for ``NU3D_SHOPIFY_ADMIN_BASE``: shop ``x`` is reached at ``{admin_base}/store/x``."""
        return self.base_url

    def shop_url(self, shop: str) -> str:
        """What replaces ``https://{shop}``."""
        return f"{self.base_url}/store/{shop}"

    def graphql_url(self, shop: str) -> str:
        return f"{self.shop_url(shop)}/admin/api/{API_VERSION}/graphql.json"

    def token_url(self, shop: str) -> str:
        return f"{self.shop_url(shop)}/admin/oauth/access_token"

    @property
    def dispatcher(self) -> WebhookDispatcher:
        return self.app.state.dispatcher

    # ---- control API -----------------------------------------------------------------------------------
    def _call(self, method: str, path: str, json: Any = None, params: dict[str, str] | None = None) -> Any:
        response = self.client.request(method, f"{self.base_url}{path}", json=json, params=params)
        if response.status_code >= 400:
            raise DevstoreClientError(response.status_code, response.text)
        return response.json()

    def reset(self) -> None:
        self._call("POST", "/_devstore/reset")

    def create_shop(
        self,
        shop: str,
        *,
        iana_timezone: str = "America/New_York",
        name: str | None = None,
        plan: str = "partner_test",
        currency: str = "USD",
    ) -> dict[str, Any]:
        body = {"shop": shop, "iana_timezone": iana_timezone, "plan": plan, "currency": currency}
        if name:
            body["name"] = name
        return self._call("POST", "/_devstore/shops", body)

    def register_app(
        self,
        client_id: str,
        client_secret: str,
        app_url: str,
        scopes: list[str],
        subscriptions: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "client_id": client_id,
            "client_secret": client_secret,
            "app_url": app_url,
            "scopes": scopes,
        }
        if subscriptions is not None:
            body["subscriptions"] = subscriptions
        return self._call("POST", "/_devstore/apps", body)

    def install_app(
        self,
        shop: str,
        *,
        client_id: str,
        client_secret: str,
        app_url: str,
        scopes: list[str],
        subscriptions: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Register the app (credentials, URL, webhook subscriptions) and install it on ``shop``.

        ``subscriptions`` uses shopify.app.toml's shape, ``[{"topics": [...], "uri": "/webhooks/x"}]`` with
        ``compliance_topics`` for GDPR topics; relative URIs resolve against ``app_url``. The default is
        the subscription set of shopify-facts.md §4.
        """
        self.register_app(client_id, client_secret, app_url, scopes, subscriptions)
        return self._call("POST", f"/_devstore/shops/{shop}/installs", {"client_id": client_id})

    def uninstall_app(self, shop: str, client_id: str) -> None:
        self._call("DELETE", f"/_devstore/shops/{shop}/installs/{client_id}")

    def update_scopes(self, shop: str, client_id: str, scopes: list[str]) -> None:
        self._call("PUT", f"/_devstore/shops/{shop}/installs/{client_id}", {"scopes": scopes})

    def mint_session_token(
        self, shop: str, client_id: str, secret: str, *, sub: str = "1", exp_in: int = 60, **claims: Any
    ) -> str:
        """A session (ID) token with Shopify's claims; see :func:`devstore.oauth.mint_session_token`."""
        return _mint(shop, client_id, secret, sub=sub, exp_in=exp_in, **claims)

    def exchange_token(
        self, shop: str, client_id: str, secret: str, *, online: bool = False, expiring: bool = True
    ) -> dict[str, Any]:
        """Run token exchange over HTTP as an embedded app would; return Shopify's JSON answer."""
        response = self.client.post(
            self.token_url(shop),
            json={
                "client_id": client_id,
                "client_secret": secret,
                "grant_type": TOKEN_EXCHANGE,
                "subject_token": self.mint_session_token(shop, client_id, secret),
                "subject_token_type": ID_TOKEN_TYPE,
                "requested_token_type": ONLINE_TYPE if online else OFFLINE_TYPE,
                "expiring": "1" if expiring else "0",
            },
        )
        if response.status_code != 200:
            raise DevstoreClientError(response.status_code, response.text)
        return response.json()

    def graphql(
        self, shop: str, token: str, query: str, variables: dict[str, Any] | None = None
    ) -> httpx.Response:
        return self.client.post(
            self.graphql_url(shop),
            json={"query": query, "variables": variables or {}},
            headers={"X-Shopify-Access-Token": token},
        )

    def create_product(
        self,
        shop: str,
        *,
        title: str,
        status: str = "ACTIVE",
        images: list[Any] | None = None,
        notify: bool = True,
        **fields: Any,
    ) -> dict[str, Any]:
        """Create a product through the control API (fires products/create). ``images`` items are bytes or
        dicts ``{"data": bytes, "alt": str, "filename": str, "variants": [variant index, ...]}``; other
        keyword fields: vendor, product_type, tags, body_html, handle, created_at (ISO), variants
        (``[{"price": "9.99", "sku": ..., "options": {"Size": "S"}}]``)."""
        body = {
            "title": title,
            "status": status,
            "notify": notify,
            **fields,
            "images": [_image_spec(i) for i in images or []],
        }
        return self._call("POST", f"/_devstore/shops/{shop}/products", body)["product"]

    def update_product(
        self,
        shop: str,
        product_id: int,
        *,
        images: list[Any] | None = None,
        notify: bool = True,
        **changes: Any,
    ) -> dict[str, Any]:
        body = {**changes, "notify": notify}
        if images:
            body["images"] = [_image_spec(i) for i in images]
        return self._call("PATCH", f"/_devstore/shops/{shop}/products/{product_id}", body)["product"]

    def set_rate_limit(self, shop: str, *, bucket_size: float, restore_rate: float) -> dict[str, Any]:
        """Give one shop its own GraphQL bucket (a small one makes an app meet THROTTLED mid-scan)."""
        body = {"bucket_size": bucket_size, "restore_rate": restore_rate}
        return self._call("PUT", f"/_devstore/shops/{shop}/rate-limit", body)

    def create_collection(self, shop: str, *, title: str, product_ids: list[int]) -> dict[str, Any]:
        """A manual collection of the given (numeric) product ids, in that order."""
        body = {"title": title, "product_ids": product_ids}
        return self._call("POST", f"/_devstore/shops/{shop}/collections", body)["collection"]

    def delete_product(self, shop: str, product_id: int) -> None:
        self._call("DELETE", f"/_devstore/shops/{shop}/products/{product_id}")

    def get_product(self, shop: str, product_id: int) -> dict[str, Any]:
        return self._call("GET", f"/_devstore/shops/{shop}/products/{product_id}")["product"]

    def send_compliance_webhook(
        self, shop: str, topic: str, *, client_id: str | None = None, payload: dict[str, Any] | None = None
    ) -> list[str]:
        body: dict[str, Any] = {"topic": topic}
        if client_id:
            body["client_id"] = client_id
        if payload is not None:
            body["payload"] = payload
        return self._call("POST", f"/_devstore/shops/{shop}/compliance", body)["deliveries"]

    def webhook_deliveries(
        self, *, shop: str | None = None, topic: str | None = None
    ) -> list[dict[str, Any]]:
        """Recorded deliveries (oldest first): id, event_id, topic, shop, uri, state (pending | delivered |
        failed), headers, body (the raw JSON text that was signed), payload, attempts."""
        params = {k: v for k, v in (("shop", shop), ("topic", topic)) if v}
        return self._call("GET", "/_devstore/webhooks", params=params)["deliveries"]

    def inject_fault(self, target: str, count: int = 1) -> None:
        """Make the next `count` requests of `target` fail (``staged_upload``: a 503 from the upload host)."""
        self._call("POST", "/_devstore/faults", {"target": target, "count": count})

    def wait_for_webhooks(self, timeout: float = 10.0) -> bool:
        """Wait until no delivery is pending (delivered or given up); False on timeout."""
        return self.dispatcher.wait_idle(timeout)


def _image_spec(item: Any) -> dict[str, Any]:
    if isinstance(item, bytes | bytearray):
        return {"data_base64": base64.b64encode(item).decode()}
    spec = {k: v for k, v in item.items() if k != "data"}
    spec["data_base64"] = base64.b64encode(item["data"]).decode()
    return spec
