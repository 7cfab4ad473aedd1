"""State survives a JSON snapshot round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstore.config import DevstoreConfig
from devstore.errors import DevstoreError
from devstore.oauth import TokenService
from devstore.state import Store

from .conftest import png_bytes


def test_snapshot_round_trip(tmp_path: Path) -> None:
    store = Store()
    shop = store.create_shop("snap", iana_timezone="Europe/Paris", plan="basic")
    store.register_app("cid", "secret-0123456789", "http://127.0.0.1:9", ["read_products"])
    store.install_app(shop, "cid")
    pair = TokenService(store, DevstoreConfig())._issue_offline(shop, "cid", ["read_products"], expiring=True)
    product = store.create_product(
        shop, title="Jar", tags=["a"], variants=[{"price": "2", "options": {"Size": "S"}}]
    )
    store.add_image(shop, png_bytes(), alt="front", product=product, variant_ids=[product.variants[0].id])
    path = tmp_path / "state.json"
    store.save(path)

    restored = Store()
    restored.load(path)
    again = restored.get_shop("snap.myshopify.com")
    assert again.iana_timezone == "Europe/Paris" and again.plan == "basic"
    copy = again.products[product.id]
    assert (copy.title, copy.tags, copy.created_at) == ("Jar", ["a"], product.created_at)
    assert copy.variants[0].options == [("Size", "S")]
    assert copy.variants[0].media_ids == product.media_ids
    media = again.media[product.media_ids[0]]
    assert restored.blobs[media.blob_key].data == png_bytes()
    assert (
        restored.access_tokens[pair["access_token"]].expires_at
        == store.access_tokens[pair["access_token"]].expires_at
    )
    assert pair["refresh_token"] in restored.refresh_tokens
    assert "cid" in restored.apps and "cid" in again.installs
    # new ids never collide with restored ones
    assert restored.next_id() > max(product.id, media.id)


def test_bad_snapshot_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(DevstoreError, match="cannot read devstore snapshot"):
        Store().load(path)
