"""Webhook payloads in the REST shape Shopify delivers: products/create|update, shop/update."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from devstore.records import Media, Product, Shop
from devstore.state import Store


def rest_time(dt: datetime | None, shop: Shop) -> str | None:
    # REST payloads carry local time with an offset, e.g. 2021-12-31T19:00:00-05:00
    return dt.astimezone(shop.zone).isoformat(timespec="seconds") if dt else None


def product_payload(store: Store, shop: Shop, product: Product) -> dict[str, Any]:
    """The REST Product resource as products/create and products/update deliver it (webhook API 2026-07)."""
    media: list[Media] = [shop.media[m] for m in product.media_ids if m in shop.media]
    now = store.now()
    images = []
    variant_ids_by_media: dict[int, list[int]] = {}
    for v in product.variants:
        for mid in v.media_ids:
            variant_ids_by_media.setdefault(mid, []).append(v.id)
    position = 0
    for m in media:
        if m.content_type != "IMAGE":
            continue
        position += 1
        images.append(
            {
                "id": m.image_id or m.id,
                "admin_graphql_api_id": f"gid://shopify/ProductImage/{m.image_id or m.id}",
                "product_id": product.id,
                "position": position,
                "alt": m.alt or None,
                "width": m.width or 0,
                "height": m.height or 0,
                "src": store.media_url(m),
                "variant_ids": variant_ids_by_media.get(m.id, []),
                "created_at": rest_time(m.created_at, shop),
                "updated_at": rest_time(m.updated_at or m.created_at, shop),
            }
        )
    media_json = []
    for pos, m in enumerate(media, start=1):
        typename = "MediaImage" if m.content_type == "IMAGE" else "Model3d"
        shown = m if m.content_type == "IMAGE" else (m.preview_media() if m.status(now) == "READY" else None)
        preview = None
        if shown is not None:
            preview = {
                "width": shown.width or 0,
                "height": shown.height or 0,
                "status": "READY",
                "src": store.media_url(shown),
            }
        media_json.append(
            {
                "id": m.id,
                "product_id": product.id,
                "position": pos,
                "alt": m.alt or "",
                "status": m.status(now),
                "media_content_type": m.content_type,
                "preview_image": preview,
                "variant_ids": variant_ids_by_media.get(m.id, []),
                "admin_graphql_api_id": f"gid://shopify/{typename}/{m.id}",
                "created_at": rest_time(m.created_at, shop),
                "updated_at": rest_time(m.updated_at or m.created_at, shop),
            }
        )
    image_id_of = {m.id: (m.image_id or m.id) for m in media if m.content_type == "IMAGE"}
    variants = []
    for v in product.variants:
        values = [val for _, val in v.options] + [None, None, None]
        variants.append(
            {
                "admin_graphql_api_id": f"gid://shopify/ProductVariant/{v.id}",
                "barcode": v.barcode,
                "compare_at_price": v.compare_at_price,
                "created_at": rest_time(v.created_at, shop),
                "id": v.id,
                "inventory_policy": "deny",
                "position": v.position,
                "price": v.price,
                "product_id": product.id,
                "sku": v.sku,
                "taxable": v.taxable,
                "title": v.title,
                "updated_at": rest_time(v.updated_at, shop),
                "option1": values[0],
                "option2": values[1],
                "option3": values[2],
                "image_id": next((image_id_of[m] for m in v.media_ids if m in image_id_of), None),
                "inventory_item_id": v.inventory_item_id,
                "inventory_quantity": v.inventory_quantity,
                "old_inventory_quantity": v.inventory_quantity,
            }
        )
    options = []
    for pos, name in enumerate(product.option_names, start=1):
        values: list[str] = []
        for v in product.variants:
            for oname, ovalue in v.options:
                if oname == name and ovalue not in values:
                    values.append(ovalue)
        options.append(
            {
                "id": product.id * 10 + pos,
                "product_id": product.id,
                "name": name,
                "position": pos,
                "values": values,
            }
        )
    return {
        "admin_graphql_api_id": f"gid://shopify/Product/{product.id}",
        "body_html": product.body_html,
        "created_at": rest_time(product.created_at, shop),
        "handle": product.handle,
        "id": product.id,
        "product_type": product.product_type,
        "published_at": rest_time(product.published_at, shop),
        "template_suffix": None,
        "title": product.title,
        "updated_at": rest_time(product.updated_at, shop),
        "vendor": product.vendor,
        "status": product.status.lower(),
        "published_scope": "web",
        "tags": ", ".join(product.tags),
        "variants": variants,
        "options": options,
        "images": images,
        "image": images[0] if images else None,
        "media": media_json,
        "variant_gids": [
            {
                "admin_graphql_api_id": f"gid://shopify/ProductVariant/{v.id}",
                "updated_at": v.updated_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            }
            for v in sorted(product.variants, key=lambda v: v.updated_at, reverse=True)
        ],
        "has_variants_that_requires_components": False,
        "category": None,
    }


def shop_payload(shop: Shop) -> dict[str, Any]:
    """The REST Shop resource, as app/uninstalled delivers it."""
    handle = shop.domain.split(".", 1)[0]
    return {
        "id": shop.id,
        "name": shop.name,
        "email": shop.email,
        "domain": shop.domain,
        "province": "New York",
        "country": "US",
        "address1": "1 Devstore Way",
        "zip": "10001",
        "city": "New York",
        "source": None,
        "phone": "5555550100",
        "latitude": None,
        "longitude": None,
        "primary_locale": "en",
        "address2": None,
        "created_at": rest_time(shop.created_at, shop),
        "updated_at": rest_time(shop.created_at, shop),
        "country_code": "US",
        "country_name": "United States",
        "currency": shop.currency,
        "customer_email": shop.email,
        "timezone": f"(GMT) {shop.iana_timezone}",
        "iana_timezone": shop.iana_timezone,
        "shop_owner": f"{handle.title()} Owner",
        "money_format": "${{amount}}",
        "money_with_currency_format": "${{amount}} " + shop.currency,
        "weight_unit": "kg",
        "province_code": "NY",
        "taxes_included": False,
        "auto_configure_tax_inclusivity": None,
        "tax_shipping": None,
        "county_taxes": True,
        "plan_display_name": shop.plan_display_name,
        "plan_name": shop.plan,
        "has_discounts": False,
        "has_gift_cards": False,
        "myshopify_domain": shop.domain,
        "google_apps_domain": None,
        "google_apps_login_enabled": None,
        "money_in_emails_format": "${{amount}}",
        "money_with_currency_in_emails_format": "${{amount}} " + shop.currency,
        "eligible_for_payments": True,
        "requires_extra_payments_agreement": False,
        "password_enabled": True,
        "has_storefront": True,
        "finances": True,
        "primary_location_id": shop.id + 1,
        "checkout_api_supported": True,
        "multi_location_enabled": True,
        "setup_required": False,
        "pre_launch_enabled": False,
        "enabled_presentment_currencies": [shop.currency],
        "marketing_sms_consent_enabled_at_checkout": False,
        "transactional_sms_disabled": False,
    }
