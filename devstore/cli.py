"""``nu3d devstore``: serve the devstore, or drive a running one through its control API.

nu3d devstore [--host 127.0.0.1] [--port 8700] [--snapshot FILE] [--seed-demo]
nu3d devstore shop create NAME [--timezone TZ]
nu3d devstore product create SHOP --title T [--status ACTIVE] [--image FILE ...]
nu3d devstore product update SHOP ID [--title T] [--status S]
nu3d devstore product delete SHOP ID
nu3d devstore webhooks [--shop SHOP]
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import sys
from pathlib import Path
from typing import Any

import httpx

from devstore.catalogue import DEFAULT_CACHE_DIR, seed_demo_shop
from devstore.config import DevstoreConfig
from devstore.errors import DevstoreClientError, DevstoreError

DEFAULT_URL = "http://127.0.0.1:8700"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nu3d devstore", description="Offline stand-in for a Shopify store."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8700, help="port to listen on (default 8700)")
    parser.add_argument("--public-url", help="URL clients reach the devstore at (default http://HOST:PORT)")
    parser.add_argument("--snapshot", type=Path, help="JSON file to load state from and save it to on exit")
    parser.add_argument(
        "--seed-demo", action="store_true", help="create the demo shop and catalogue at start"
    )
    parser.add_argument("--demo-shop", default="demo.myshopify.com", help="shop domain for --seed-demo")
    parser.add_argument("--timezone", default="America/New_York", help="timezone of the demo shop")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR, help="rendered photo cache")
    parser.add_argument("--photo-size", type=int, default=512, help="demo photo size in pixels")
    parser.add_argument("--log-level", default="info")
    sub = parser.add_subparsers(dest="command")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=DEFAULT_URL, help=f"running devstore (default {DEFAULT_URL})")

    def control(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, parents=[common])

    def group(name: str, help_text: str) -> argparse._SubParsersAction:
        return sub.add_parser(name, help=help_text).add_subparsers(dest="action", required=True)

    def leaf(actions: argparse._SubParsersAction, name: str) -> argparse.ArgumentParser:
        return actions.add_parser(name, parents=[common])

    shop_sub = group("shop", "create or list shops")
    create_shop = leaf(shop_sub, "create")
    create_shop.add_argument("name", help="NAME or NAME.myshopify.com")
    create_shop.add_argument("--timezone", default="America/New_York")
    create_shop.add_argument("--plan", default="partner_test")
    leaf(shop_sub, "list")

    product_sub = group("product", "create, update, delete or list products (fires webhooks)")
    create = leaf(product_sub, "create")
    create.add_argument("shop")
    create.add_argument("--title", required=True)
    update = leaf(product_sub, "update")
    update.add_argument("shop")
    update.add_argument("id", type=int)
    update.add_argument("--title")
    for p in (create, update):
        p.add_argument(
            "--status",
            choices=["ACTIVE", "DRAFT", "ARCHIVED", "UNLISTED"],
            default="ACTIVE" if p is create else None,
        )
        p.add_argument("--vendor")
        p.add_argument("--product-type")
        p.add_argument("--tag", action="append", dest="tags", help="repeat for several tags")
        p.add_argument("--image", action="append", type=Path, dest="images", help="image file; repeatable")
    create.add_argument("--price", default="10.00")
    create.add_argument("--created-at", help="ISO timestamp (default now)")
    delete = leaf(product_sub, "delete")
    delete.add_argument("shop")
    delete.add_argument("id", type=int)
    listing = leaf(product_sub, "list")
    listing.add_argument("shop")

    app_sub = group("app", "install or uninstall an app on a shop")
    install = leaf(app_sub, "install")
    install.add_argument("shop")
    install.add_argument("--client-id", required=True)
    install.add_argument("--client-secret", required=True)
    install.add_argument("--app-url", required=True)
    install.add_argument("--scopes", default="read_products,write_products,write_files")
    uninstall = leaf(app_sub, "uninstall")
    uninstall.add_argument("shop")
    uninstall.add_argument("client_id")

    token = control("session-token", "mint a session (ID) token for an installed app")
    token.add_argument("shop")
    token.add_argument("client_id")
    token.add_argument("--sub", default="1")

    compliance = control("compliance", "send a compliance webhook")
    compliance.add_argument("shop")
    compliance.add_argument("topic", choices=["customers/data_request", "customers/redact", "shop/redact"])
    compliance.add_argument("--client-id")

    hooks = control("webhooks", "list recorded webhook deliveries")
    hooks.add_argument("--shop")
    hooks.add_argument("--topic")

    control("reset", "forget all state")

    seed = control("seed-demo", "create the demo catalogue in a running devstore")
    seed.add_argument("shop", nargs="?", default="demo.myshopify.com")
    seed.add_argument("--timezone", default="America/New_York")
    seed.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    seed.add_argument("--photo-size", type=int, default=512)
    return parser


def _images(paths: list[Path] | None) -> list[dict[str, str]]:
    out = []
    for path in paths or []:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise DevstoreError(f"cannot read image {path}: {exc.strerror}") from exc
        out.append({"data_base64": base64.b64encode(data).decode(), "filename": path.name})
    return out


def _call(client: httpx.Client, method: str, url: str, body: Any = None, params: Any = None) -> Any:
    response = client.request(method, url, json=body, params=params)
    if response.status_code >= 400:
        raise DevstoreClientError(response.status_code, response.text)
    return response.json()


def _product_body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name in ("title", "status", "vendor", "product_type", "tags"):
        value = getattr(args, name, None)
        if value is not None:
            body[name] = value
    if getattr(args, "images", None):
        body["images"] = _images(args.images)
    return body


def _control(args: argparse.Namespace) -> Any:
    base = args.url.rstrip("/")
    with httpx.Client(timeout=120.0) as client:
        if args.command == "shop":
            if args.action == "create":
                return _call(
                    client,
                    "POST",
                    f"{base}/_devstore/shops",
                    {"shop": args.name, "iana_timezone": args.timezone, "plan": args.plan},
                )
            return _call(client, "GET", f"{base}/_devstore/shops")
        if args.command == "product":
            shop_base = f"{base}/_devstore/shops/{args.shop}/products"
            if args.action == "create":
                body = _product_body(args)
                body["variants"] = [{"price": args.price}]
                if args.created_at:
                    body["created_at"] = args.created_at
                return _call(client, "POST", shop_base, body)["product"]
            if args.action == "update":
                return _call(client, "PATCH", f"{shop_base}/{args.id}", _product_body(args))["product"]
            if args.action == "delete":
                return _call(client, "DELETE", f"{shop_base}/{args.id}")
            return [
                {"id": p["id"], "title": p["title"], "status": p["status"], "created_at": p["created_at"]}
                for p in _call(client, "GET", shop_base)["products"]
            ]
        if args.command == "app":
            if args.action == "install":
                scopes = [s.strip() for s in args.scopes.split(",") if s.strip()]
                _call(
                    client,
                    "POST",
                    f"{base}/_devstore/apps",
                    {
                        "client_id": args.client_id,
                        "client_secret": args.client_secret,
                        "app_url": args.app_url,
                        "scopes": scopes,
                    },
                )
                return _call(
                    client,
                    "POST",
                    f"{base}/_devstore/shops/{args.shop}/installs",
                    {"client_id": args.client_id},
                )
            return _call(client, "DELETE", f"{base}/_devstore/shops/{args.shop}/installs/{args.client_id}")
        if args.command == "session-token":
            return _call(
                client,
                "POST",
                f"{base}/_devstore/shops/{args.shop}/session-tokens",
                {"client_id": args.client_id, "sub": args.sub},
            )
        if args.command == "compliance":
            body = {"topic": args.topic}
            if args.client_id:
                body["client_id"] = args.client_id
            return _call(client, "POST", f"{base}/_devstore/shops/{args.shop}/compliance", body)
        if args.command == "webhooks":
            params = {k: v for k, v in (("shop", args.shop), ("topic", args.topic)) if v}
            deliveries = _call(client, "GET", f"{base}/_devstore/webhooks", params=params)["deliveries"]
            return [
                {k: d[k] for k in ("id", "topic", "shop", "uri", "state")} | {"attempts": len(d["attempts"])}
                for d in deliveries
            ]
        if args.command == "reset":
            return _call(client, "POST", f"{base}/_devstore/reset")
    if args.command == "seed-demo":
        result = seed_demo_shop(
            base,
            shop=args.shop,
            iana_timezone=args.timezone,
            cache_dir=args.cache_dir,
            photo_size=args.photo_size,
        )
        return {"shop": result.shop, "products": len(result.product_ids), "active_today": result.today_active}
    raise DevstoreError(f"unknown command {args.command!r}")


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from devstore.app import create_devstore_app
    from devstore.records import normalize_shop_domain
    from devstore.state import Store

    public = (
        args.public_url
        or f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else args.host}:{args.port}"
    )
    config = DevstoreConfig(public_url=public, snapshot_path=args.snapshot, cache_dir=args.cache_dir)
    store = Store()
    store.base_url = public
    if args.snapshot is not None and args.snapshot.exists():
        store.load(args.snapshot)
    if args.seed_demo:
        if normalize_shop_domain(args.demo_shop) in store.shops:
            print(f"demo shop {args.demo_shop} already present; not seeding again")
        else:
            print(f"rendering the demo catalogue (cached under {args.cache_dir}) ...")
            result = seed_demo_shop(
                store,
                shop=args.demo_shop,
                iana_timezone=args.timezone,
                cache_dir=args.cache_dir,
                photo_size=args.photo_size,
            )
            print(f"seeded {len(result.product_ids)} products into {result.shop}")
    app = create_devstore_app(config, store=store)
    print(
        f"devstore on {public}  (shop x is at {public}/store/x.myshopify.com; set NU3D_SHOPIFY_ADMIN_BASE={public})"
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


def main(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help or a usage error: argparse has printed the message
        return int(exc.code or 0)
    logging.basicConfig(level=getattr(logging, str(args.log_level).upper(), logging.INFO))
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per control call is noise
    try:
        if args.command is None:
            return _serve(args)
        result = _control(args)
    except (DevstoreError, DevstoreClientError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except httpx.HTTPError as exc:
        print(
            f"error: cannot reach the devstore at {getattr(args, 'url', DEFAULT_URL)}: {exc}", file=sys.stderr
        )
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
