from __future__ import annotations

from pathlib import Path

import boto3
import httpx
import pytest

from shop_app.storage import LocalStorage, ObjectNotFound, S3Storage, StorageError, content_key


def test_content_addressed_keys_are_stable() -> None:
    key = content_key(b"hello", ".glb")
    assert key == content_key(b"hello", "glb")
    assert key.startswith("sha256/2c/f2/2cf24dba")
    assert key.endswith(".glb")
    with pytest.raises(ValueError, match="unsafe"):
        content_key(b"x", "./../x")


def test_local_put_get_is_idempotent(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path, base_url="http://x", secret=b"k")
    key = store.put(b"model-bytes", suffix=".glb")
    assert store.put(b"model-bytes", suffix=".glb") == key
    assert store.get(key) == b"model-bytes"
    assert store.exists(key)
    assert not list(tmp_path.rglob(".tmp-*"))  # nothing half-written left behind
    store.delete(key)
    assert not store.exists(key)
    with pytest.raises(ObjectNotFound):
        store.get(key)


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a//b", "a/./b", "a/b?c"])
def test_local_rejects_escaping_keys(tmp_path: Path, key: str) -> None:
    store = LocalStorage(tmp_path, base_url="http://x", secret=b"k")
    with pytest.raises(ObjectNotFound):
        store.get(key)


def test_local_check_reports_unwritable_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StorageError, match="not writable"):
        LocalStorage(blocker / "sub", base_url="http://x", secret=b"k").check()


def test_signed_url_round_trip(settings, tmp_path: Path) -> None:  # noqa: ANN001
    from starlette.testclient import TestClient

    from shop_app.app import create_app

    store = LocalStorage(
        tmp_path / "files", base_url="http://testserver", secret=b"signing-key", default_ttl_s=60
    )
    key = store.put(b"glTF-binary", suffix=".glb")
    with TestClient(create_app(settings, storage=store)) as client:
        url = store.url(key)
        resp = client.get(url)
        assert resp.status_code == 200
        assert resp.content == b"glTF-binary"
        assert resp.headers["content-type"] == "model/gltf-binary"

        tampered = url.replace("sig=", "sig=0")
        resp = client.get(tampered)
        assert resp.status_code == 403
        assert resp.json()["detail"]["code"] == "INVALID_SIGNATURE"

        expired = store.url(key, ttl_s=-10)
        assert client.get(expired).status_code == 403
        assert client.get(f"/files/{key}").status_code == 403  # unsigned
        assert client.get("/files/sha256/../../etc/passwd?expires=9999999999&sig=x").status_code == 404


def test_s3_storage_against_a_real_s3_server(s3_server: str, aws_credentials: None) -> None:  # noqa: ARG001
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    client.create_bucket(Bucket="nu3d-test")
    store = S3Storage(bucket="nu3d-test", prefix="models/", endpoint_url=s3_server, region="us-east-1")
    store.check()
    key = store.put(b"splat-bytes", suffix=".ply")
    assert store.put(b"splat-bytes", suffix=".ply") == key
    assert store.exists(key)
    assert store.get(key) == b"splat-bytes"
    listed = client.list_objects_v2(Bucket="nu3d-test")["Contents"]
    assert [o["Key"] for o in listed] == [f"models/{key}"]

    resp = httpx.get(store.url(key, ttl_s=60))
    assert resp.status_code == 200
    assert resp.content == b"splat-bytes"

    store.delete(key)
    assert not store.exists(key)
    with pytest.raises(ObjectNotFound):
        store.get(key)


def test_s3_missing_bucket_is_a_clear_error(s3_server: str, aws_credentials: None) -> None:  # noqa: ARG001
    store = S3Storage(bucket="does-not-exist", prefix="", endpoint_url=s3_server, region="us-east-1")
    with pytest.raises(StorageError, match="does-not-exist"):
        store.check()
