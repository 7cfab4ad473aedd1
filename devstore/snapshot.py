"""The store as a JSON snapshot (``nu3d devstore --snapshot``): shops, apps, tokens and blobs.

Staged uploads, auth codes, token migrations, bulk operations and faults are not kept: they live for one session only.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devstore.errors import DevstoreError
from devstore.records import (
    AccessToken,
    AppInstall,
    AppRegistration,
    Blob,
    Collection,
    Media,
    Product,
    RefreshToken,
    Shop,
    Variant,
)

if TYPE_CHECKING:
    from devstore.state import Store


def encode_store(store: Store) -> dict[str, Any]:
    with store.lock:
        return {
            "version": 1,
            "next_id": store.last_id,
            "shops": [_encode(s) for s in store.shops.values()],
            "apps": [_encode(a) for a in store.apps.values()],
            "access_tokens": [_encode(t) for t in store.access_tokens.values()],
            "refresh_tokens": [_encode(t) for t in store.refresh_tokens.values()],
            "blobs": [
                {
                    "key": b.key,
                    "content_type": b.content_type,
                    "version": b.version,
                    "data": base64.b64encode(b.data).decode(),
                }
                for b in store.blobs.values()
            ],
        }


def save(store: Store, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(encode_store(store)))
    tmp.replace(path)


def load(store: Store, path: Path) -> None:
    """Replace everything in ``store`` with the snapshot at ``path``."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DevstoreError(f"cannot read devstore snapshot {path}: {exc}") from exc
    if raw.get("version") != 1:
        raise DevstoreError(f"snapshot {path} has unsupported version {raw.get('version')!r}")
    with store.lock:
        store.reset()
        store.last_id = int(raw["next_id"])
        for s in raw["shops"]:
            shop = _decode_shop(s)
            store.shops[shop.domain] = shop
        for a in raw.get("apps", []):
            store.apps[a["client_id"]] = AppRegistration(**a)
        for t in raw["access_tokens"]:
            store.access_tokens[t["token"]] = AccessToken(**_dates(t, "expires_at"))
        for t in raw["refresh_tokens"]:
            store.refresh_tokens[t["token"]] = RefreshToken(**_dates(t, "expires_at"))
        for b in raw["blobs"]:
            store.blobs[b["key"]] = Blob(
                b["key"], b["content_type"], base64.b64decode(b["data"]), b["version"]
            )


def _encode(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _encode(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, dict):
        return {str(k): _encode(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_encode(v) for v in obj]
    return obj


_DATE_FIELDS = (
    "created_at",
    "updated_at",
    "published_at",
    "installed_at",
    "expires_at",
    "processing_started_at",
    "processing_done_at",
)


def _dates(d: dict[str, Any], *names: str) -> dict[str, Any]:
    out = dict(d)
    for name in names or _DATE_FIELDS:
        if out.get(name):
            out[name] = datetime.fromisoformat(out[name])
    return out


def _decode_shop(s: dict[str, Any]) -> Shop:
    s = _dates(s)
    products = {}
    for p in s.pop("products").values():
        p = _dates(p)
        variants = []
        for v in p.pop("variants"):
            v = _dates(v)
            v["options"] = [tuple(o) for o in v["options"]]
            variants.append(Variant(**v))
        products[p["id"]] = Product(variants=variants, **p)
    media = {m["id"]: Media(**_dates(m)) for m in s.pop("media").values()}
    installs = {i["client_id"]: AppInstall(**_dates(i)) for i in s.pop("installs").values()}
    collections = {c["id"]: Collection(**_dates(c)) for c in (s.pop("collections", None) or {}).values()}
    return Shop(products=products, media=media, installs=installs, collections=collections, **s)
