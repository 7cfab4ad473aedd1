"""In-memory state of every shop the devstore serves, with an optional JSON snapshot.

All mutation goes through :class:`Store` methods, which hold one re-entrant lock, so the HTTP handlers,
the webhook thread and tests that seed state directly can share one instance. The records live in
:mod:`devstore.records`; the lock, ids and events in :mod:`devstore.store_core`; files in
:mod:`devstore.media_files`; snapshots in :mod:`devstore.snapshot`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from devstore import snapshot
from devstore.errors import DevstoreError, NotFound
from devstore.media_files import MediaFiles
from devstore.records import (
    COMPLIANCE_TOPICS,
    PRODUCT_STATUSES,
    SUPPORTED_TOPICS,
    AppInstall,
    AppRegistration,
    Collection,
    Product,
    Shop,
    Variant,
    handleize,
    normalize_shop_domain,
)

# Product is imported from here by tests that seed records directly
__all__ = ["Product", "Store"]


class Store(MediaFiles):
    """Every shop, token and file the devstore knows, behind one lock."""

    def reset(self) -> None:
        with self.lock:
            self.faults.clear()
            self.bulk_operations.clear()
            self.shops.clear()
            self.access_tokens.clear()
            self.refresh_tokens.clear()
            self.auth_codes.clear()
            self.staged.clear()
            self.blobs.clear()
            self.apps.clear()
            self.migrations.clear()
            self.bump()

    # ---- shops ---------------------------------------------------------------------------------
    def create_shop(
        self,
        shop: str,
        *,
        name: str | None = None,
        iana_timezone: str = "America/New_York",
        plan: str = "partner_test",
        currency: str = "USD",
        email: str | None = None,
    ) -> Shop:
        domain = normalize_shop_domain(shop)
        try:
            ZoneInfo(iana_timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise DevstoreError(f"unknown IANA timezone {iana_timezone!r}") from exc
        handle = domain.split(".", 1)[0]
        with self.lock:
            if domain in self.shops:
                raise DevstoreError(f"shop {domain} already exists", status_code=409)
            record = Shop(
                id=self.next_id(),
                domain=domain,
                name=name or handle.replace("-", " ").title(),
                email=email or f"owner@{handle}.example",
                iana_timezone=iana_timezone,
                plan=plan,
                currency=currency,
                created_at=self.now(),
            )
            self.shops[domain] = record
            return record

    def get_shop(self, shop: str) -> Shop:
        try:
            domain = normalize_shop_domain(shop)
        except DevstoreError as exc:
            raise NotFound(str(exc)) from exc
        with self.lock:
            found = self.shops.get(domain)
        if found is None:
            raise NotFound(f"shop {domain} does not exist in this devstore")
        return found

    # ---- apps ------------------------------------------------------------------------------------
    def register_app(
        self,
        client_id: str,
        client_secret: str,
        app_url: str,
        scopes: list[str],
        subscriptions: list[dict[str, Any]] | None = None,
    ) -> AppRegistration:
        if not client_id or not client_secret:
            raise DevstoreError("client_id and client_secret are required")
        if not app_url.startswith(("http://", "https://")):
            raise DevstoreError(f"app_url must be an absolute http(s) URL, got {app_url!r}")
        for sub in subscriptions or []:
            topics = set(sub.get("topics", [])) | set(sub.get("compliance_topics", []))
            unknown = topics - SUPPORTED_TOPICS - COMPLIANCE_TOPICS
            if unknown:
                raise DevstoreError(
                    f"unsupported webhook topics {sorted(unknown)}; supported: "
                    f"{sorted(SUPPORTED_TOPICS | COMPLIANCE_TOPICS)}"
                )
            if not sub.get("uri"):
                raise DevstoreError("every webhook subscription needs a uri")
        with self.lock:
            reg = AppRegistration(client_id, client_secret, app_url.rstrip("/"), list(scopes))
            if subscriptions is not None:
                reg.subscriptions = [dict(s) for s in subscriptions]
            self.apps[client_id] = reg
            return reg

    def install_app(self, shop: Shop, client_id: str, *, scopes: list[str] | None = None) -> AppInstall:
        """Shopify managed installation: the app is installed with its declared scopes, without calling it."""
        with self.lock:
            reg = self.apps.get(client_id)
            if reg is None:
                raise NotFound(f"app {client_id!r} is not registered in this devstore")
            install = AppInstall(
                client_id=reg.client_id,
                client_secret=reg.client_secret,
                app_url=reg.app_url,
                scopes=list(scopes if scopes is not None else reg.scopes),
                subscriptions=[dict(s) for s in reg.subscriptions],
                installed_at=self.now(),
                api_version=reg.api_version,
            )
            shop.installs[client_id] = install
            return install

    def uninstall_app(self, shop: Shop, client_id: str) -> AppInstall:
        with self.lock:
            install = shop.installs.pop(client_id, None)
            if install is None:
                raise NotFound(f"app {client_id!r} is not installed on {shop.domain}")
            for token in [
                t for t in self.access_tokens.values() if t.shop == shop.domain and t.client_id == client_id
            ]:
                del self.access_tokens[token.token]
            for token in [
                t for t in self.refresh_tokens.values() if t.shop == shop.domain and t.client_id == client_id
            ]:
                del self.refresh_tokens[token.token]
        self.emit("app/uninstalled", shop, {"install": install})
        return install

    def update_scopes(self, shop: Shop, client_id: str, scopes: list[str]) -> AppInstall:
        with self.lock:
            install = shop.installs.get(client_id)
            if install is None:
                raise NotFound(f"app {client_id!r} is not installed on {shop.domain}")
            previous = install.scopes
            install.scopes = list(scopes)
            for token in self.access_tokens.values():
                if token.shop == shop.domain and token.client_id == client_id:
                    token.scopes = list(scopes)
        self.emit(
            "app/scopes_update", shop, {"client_id": client_id, "previous": previous, "current": scopes}
        )
        return install

    # ---- products --------------------------------------------------------------------------------
    def create_product(
        self,
        shop: Shop,
        *,
        title: str,
        status: str = "ACTIVE",
        body_html: str = "",
        vendor: str = "",
        product_type: str = "",
        tags: list[str] | None = None,
        handle: str | None = None,
        created_at: datetime | None = None,
        variants: list[dict[str, Any]] | None = None,
        emit: bool = True,
    ) -> Product:
        if not title or not title.strip():
            raise DevstoreError("title can't be blank")
        status = status.upper()
        if status not in PRODUCT_STATUSES:
            raise DevstoreError(f"status must be one of {', '.join(PRODUCT_STATUSES)}, got {status!r}")
        with self.lock:
            now = self.now()
            created = (created_at or now).astimezone(UTC).replace(microsecond=0)
            base_handle = handle or handleize(title)
            taken = {p.handle for p in shop.products.values()}
            unique, n = base_handle, 1
            while unique in taken:
                n += 1
                unique = f"{base_handle}-{n}"
            product = Product(
                id=self.next_id(),
                title=title.strip(),
                handle=unique,
                status=status,
                body_html=body_html,
                vendor=vendor,
                product_type=product_type,
                tags=sorted({t.strip() for t in (tags or []) if t.strip()}),
                created_at=created,
                updated_at=created,
                published_at=created if status == "ACTIVE" else None,
            )
            self._set_variants(product, variants or [{}])
            shop.products[product.id] = product
            self.bump()
        if emit:
            self.emit("products/create", shop, {"product_id": product.id})
        return product

    def _set_variants(self, product: Product, specs: list[dict[str, Any]]) -> None:
        option_names: list[str] = []
        variants: list[Variant] = []
        for position, spec in enumerate(specs, start=1):
            options = [(str(k), str(v)) for k, v in (spec.get("options") or {}).items()]
            for name, _ in options:
                if name not in option_names:
                    option_names.append(name)
            title = " / ".join(v for _, v in options) if options else "Default Title"
            price = spec.get("price", "0.00")
            try:
                price = f"{float(price):.2f}"
            except (TypeError, ValueError) as exc:
                raise DevstoreError(f"variant price must be a decimal string, got {price!r}") from exc
            compare = spec.get("compare_at_price")
            variants.append(
                Variant(
                    id=self.next_id(),
                    title=title,
                    price=price,
                    compare_at_price=f"{float(compare):.2f}" if compare not in (None, "") else None,
                    sku=spec.get("sku"),
                    barcode=spec.get("barcode"),
                    position=position,
                    options=options or [("Title", "Default Title")],
                    inventory_quantity=int(spec.get("inventory_quantity", 0)),
                    inventory_item_id=self.next_id(),
                    created_at=product.created_at,
                    updated_at=product.updated_at,
                )
            )
        product.variants = variants
        product.option_names = option_names or ["Title"]

    def create_collection(self, shop: Shop, *, title: str, product_ids: list[int]) -> Collection:
        if not title or not title.strip():
            raise DevstoreError("title can't be blank")
        with self.lock:
            missing = [pid for pid in product_ids if pid not in shop.products]
            if missing:
                raise DevstoreError(f"products {missing} do not exist in {shop.domain}")
            collection = Collection(
                id=self.next_id(), title=title.strip(), handle=handleize(title), product_ids=list(product_ids)
            )
            shop.collections[collection.id] = collection
            self.bump()
        return collection

    def get_product(self, shop: Shop, product_id: int) -> Product:
        with self.lock:
            product = shop.products.get(product_id)
        if product is None:
            raise NotFound(f"product {product_id} does not exist in {shop.domain}")
        return product

    def update_product(
        self, shop: Shop, product_id: int, changes: dict[str, Any], *, emit: bool = True
    ) -> Product:
        allowed = {"title", "status", "body_html", "vendor", "product_type", "tags", "handle", "variants"}
        unknown = set(changes) - allowed
        if unknown:
            raise DevstoreError(f"unknown product fields {sorted(unknown)}; allowed: {sorted(allowed)}")
        with self.lock:
            product = self.get_product(shop, product_id)
            if "title" in changes:
                if not str(changes["title"]).strip():
                    raise DevstoreError("title can't be blank")
                product.title = str(changes["title"]).strip()
            if "status" in changes:
                status = str(changes["status"]).upper()
                if status not in PRODUCT_STATUSES:
                    raise DevstoreError(
                        f"status must be one of {', '.join(PRODUCT_STATUSES)}, got {status!r}"
                    )
                if status == "ACTIVE" and product.published_at is None:
                    product.published_at = self.now()
                product.status = status
            for name in ("body_html", "vendor", "product_type", "handle"):
                if name in changes:
                    setattr(product, name, str(changes[name]))
            if "tags" in changes:
                tags = changes["tags"]
                if isinstance(tags, str):
                    tags = tags.split(",")
                product.tags = sorted({t.strip() for t in tags if t.strip()})
            if "variants" in changes:
                self._set_variants(product, changes["variants"])
            self.touch(product)
        if emit:
            self.emit("products/update", shop, {"product_id": product.id})
        return product

    def delete_product(self, shop: Shop, product_id: int, *, emit: bool = True) -> None:
        with self.lock:
            product = self.get_product(shop, product_id)
            del shop.products[product_id]
            self.bump()
            for media_id in product.media_ids:
                media = shop.media.get(media_id)
                if media and product_id in media.product_ids:
                    media.product_ids.remove(product_id)
        if emit:
            self.emit("products/delete", shop, {"id": product_id})

    # ---- snapshot ----------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return snapshot.encode_store(self)

    def save(self, path: Path) -> None:
        snapshot.save(self, path)

    def load(self, path: Path) -> None:
        snapshot.load(self, path)
