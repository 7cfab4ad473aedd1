"""Shop domain and `host` parameter validation, and where a shop's Admin API lives."""

from __future__ import annotations

import base64
import binascii
import re

from shop_app.shopify.errors import InvalidShopDomain

# Shopify store names: lower-case letters, digits and hyphens, starting and ending with a letter or digit.
_SHOP_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,58}[a-z0-9]\.myshopify\.com$")
_HOST_B64_RE = re.compile(r"^[0-9a-zA-Z+/_-]+={0,2}$")
_ADMIN_HOST_RE = re.compile(r"^admin\.shopify\.com/store/([a-z0-9][a-z0-9-]*[a-z0-9])$")
_LEGACY_HOST_RE = re.compile(r"^([a-z0-9][a-z0-9-]*[a-z0-9])\.myshopify\.com/admin$")


def validate_shop_domain(value: str | None) -> str:
    """Return the shop's canonical `name.myshopify.com`, or raise InvalidShopDomain.

    Only the exact form is accepted (case-insensitive): no scheme, port, path, user info or other domain,
    so values like `evil.com`, `x.myshopify.com.evil.com` or `../` never reach a URL or a query.
    """
    if not value:
        raise InvalidShopDomain("missing shop: expected name.myshopify.com")
    shop = value.lower()  # no stripping: whitespace or newlines mean a forged or broken value
    if len(shop) > 255 or not _SHOP_RE.fullmatch(shop):
        raise InvalidShopDomain(f"invalid shop domain {value[:80]!r}: expected name.myshopify.com")
    return shop


def is_valid_shop_domain(value: str | None) -> bool:
    try:
        validate_shop_domain(value)
    except InvalidShopDomain:
        return False
    return True


def validate_host(host: str | None, shop: str) -> str:
    """Check App Bridge's `host` parameter (base64 of the admin location) belongs to `shop`; return it."""
    if not host or len(host) > 512 or not _HOST_B64_RE.fullmatch(host):
        raise InvalidShopDomain("invalid host parameter: expected base64 of the shop admin location")
    try:
        padded = host + "=" * (-len(host) % 4)
        decoded = base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_")).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidShopDomain("invalid host parameter: not base64") from None
    name = shop.removesuffix(".myshopify.com")
    for pattern in (_ADMIN_HOST_RE, _LEGACY_HOST_RE):
        match = pattern.fullmatch(decoded)
        if match:
            if match.group(1) != name:
                raise InvalidShopDomain("host parameter names another shop")
            return host
    raise InvalidShopDomain("invalid host parameter: not a Shopify admin location")


def shop_base_url(shop: str, admin_base: str | None) -> str:
    """`https://{shop}` on Shopify; `{admin_base}/store/{shop}` on the devstore (NU3D_SHOPIFY_ADMIN_BASE)."""
    shop = validate_shop_domain(shop)
    if admin_base:
        return f"{admin_base.rstrip('/')}/store/{shop}"
    return f"https://{shop}"
