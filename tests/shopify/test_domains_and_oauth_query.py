"""Shop domain, host and signed-query checks (pure functions)."""

from __future__ import annotations

import base64
import time

import pytest

from shop_app.shopify.domains import shop_base_url, validate_host, validate_shop_domain
from shop_app.shopify.errors import InvalidOAuthRequest, InvalidShopDomain
from shop_app.shopify.oauth import check_state, query_hmac, sign_state, verify_query


@pytest.mark.parametrize("value", ["acme.myshopify.com", "ACME.myshopify.com", "a1-b2.myshopify.com"])
def test_valid_shop_domains(value: str) -> None:
    assert validate_shop_domain(value) == value.lower()


@pytest.mark.parametrize(
    "value",
    [
        "",
        None,
        "evil.com",
        "x.myshopify.com.evil.com",
        "../",
        "../../etc/passwd",
        "acme.myshopify.com/",
        "https://acme.myshopify.com",
        "acme.myshopify.com:443",
        "user@acme.myshopify.com",
        "-acme.myshopify.com",
        "acme-.myshopify.com",
        "ac_me.myshopify.com",
        "acme.myshopify.io",
        "x.myshopify.com",
        "acme",
        "acme.myshopify.com\n",
        " acme.myshopify.com",
        "a" * 80 + ".myshopify.com",
    ],
)
def test_invalid_shop_domains(value: str | None) -> None:
    with pytest.raises(InvalidShopDomain):
        validate_shop_domain(value)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode().rstrip("=")


def test_host_must_be_this_shops_admin() -> None:
    assert validate_host(b64("admin.shopify.com/store/acme"), "acme.myshopify.com")
    assert validate_host(b64("acme.myshopify.com/admin"), "acme.myshopify.com")
    for bad in (
        b64("admin.shopify.com/store/other"),
        b64("evil.com/admin"),
        "!!!",
        "",
        b64("admin.shopify.com/store/acme/../x"),
    ):
        with pytest.raises(InvalidShopDomain):
            validate_host(bad, "acme.myshopify.com")


def test_base_url_on_shopify_and_on_the_devstore() -> None:
    assert shop_base_url("acme.myshopify.com", None) == "https://acme.myshopify.com"
    assert (
        shop_base_url("acme.myshopify.com", "http://127.0.0.1:8700/")
        == "http://127.0.0.1:8700/store/acme.myshopify.com"
    )
    with pytest.raises(InvalidShopDomain):
        shop_base_url("evil.com", None)


def test_query_hmac_matches_shopifys_documented_vector() -> None:
    params = [
        ("code", "0907a61c0c8d55e99db179b68161bc00"),
        ("shop", "some-shop.myshopify.com"),
        ("state", "0.6784241404160823"),
        ("timestamp", "1337178173"),
        ("hmac", "ignored"),
    ]
    assert query_hmac(params, "hush") == "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"


def test_query_hmac_agrees_with_the_devstore() -> None:
    from devstore.oauth import query_hmac as devstore_hmac

    params = [
        ("shop", "a-b.myshopify.com"),
        ("host", b64("admin.shopify.com/store/a-b")),
        ("timestamp", "1"),
        ("a&b", "c=d%"),
    ]
    assert query_hmac(params, "s3cret") == devstore_hmac(params, "s3cret")


def test_array_parameters_are_folded_into_a_json_list() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"k", b'ids=["1", "2"]&shop=acme.myshopify.com', hashlib.sha256).hexdigest()
    assert query_hmac([("shop", "acme.myshopify.com"), ("ids[]", "1"), ("ids[]", "2")], "k") == expected


def _signed(secret: str, **values: str) -> list[tuple[str, str]]:
    params = list(values.items())
    return [*params, ("hmac", query_hmac(params, secret))]


def test_verify_query() -> None:
    now = time.time()
    good = _signed("s", shop="acme.myshopify.com", timestamp=str(int(now)))
    verify_query(good, "s", now=now)
    tampered = [(k, "evil.myshopify.com" if k == "shop" else v) for k, v in good]
    cases = {
        "tampered": tampered,
        "no hmac": [p for p in good if p[0] != "hmac"],
        "old": _signed("s", shop="acme.myshopify.com", timestamp=str(int(now) - 3600)),
        "future": _signed("s", shop="acme.myshopify.com", timestamp=str(int(now) + 3600)),
        "no timestamp": _signed("s", shop="acme.myshopify.com"),
        "other secret": _signed("t", shop="acme.myshopify.com", timestamp=str(int(now))),
    }
    for name, params in cases.items():
        with pytest.raises(InvalidOAuthRequest):
            verify_query(params, "s", now=now)
            pytest.fail(name)


def test_state_cookie() -> None:
    now = time.time()
    cookie = sign_state("abc123", "acme.myshopify.com", "k", now=now)
    check_state(cookie, "abc123", "acme.myshopify.com", "k", now=now)
    bad = [
        (cookie, "abc124", "acme.myshopify.com", "k", now),  # other nonce
        (cookie, "abc123", "other.myshopify.com", "k", now),  # other shop
        (cookie, "abc123", "acme.myshopify.com", "other-key", now),  # forged signature
        (cookie, "abc123", "acme.myshopify.com", "k", now + 3600),  # expired
        (None, "abc123", "acme.myshopify.com", "k", now),
        ("garbage", "abc123", "acme.myshopify.com", "k", now),
    ]
    for c, state, shop, key, at in bad:
        with pytest.raises(InvalidOAuthRequest):
            check_state(c, state, shop, key, now=at)
