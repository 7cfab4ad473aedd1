"""File storage: one interface, two implementations (local directory, S3). Keys are content-addressed.

Local files are served by the web app under /files/<key> with expiring HMAC-signed URLs; S3 objects are
reached through presigned GET URLs.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import logging
import mimetypes
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, urlsplit

from shop_app.errors import ServiceUnavailable
from shop_app.settings import ConfigError, Settings

logger = logging.getLogger(__name__)


class StorageError(ServiceUnavailable):
    """A storage operation failed; the message is safe to show an operator. An AppError (503), so a request
    that meets a full or unreachable store gets a clear answer in its family's shape, not a 500."""

    code = "STORAGE_UNAVAILABLE"

    def __init__(self, message: str) -> None:
        super().__init__(message)


class ObjectNotFound(StorageError):
    status_code = 404
    code = "NOT_FOUND"


@dataclass(frozen=True)
class BlobInfo:
    key: str
    modified: float  # epoch seconds of the last write (or of the last put of the same bytes)


CONTENT_PREFIX = "sha256/"


class Storage(Protocol):
    """What the app needs from a file store."""

    def put(self, data: bytes, *, suffix: str, content_type: str | None = None) -> str:
        """Store bytes under their content address; returns the key (idempotent)."""

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int | None:
        """The object's size in bytes, or None when it does not exist."""
        ...

    def delete(self, key: str) -> None: ...

    def url(self, key: str, *, ttl_s: int | None = None) -> str:
        """A URL a browser or Shopify can GET for the next ttl_s seconds."""

    def check(self) -> None:
        """Raise StorageError if the store cannot be written (readiness)."""

    def list_blobs(self) -> Iterator[BlobInfo]:
        """Every content-addressed object, with its last-write time (for the unreferenced-blob sweep)."""

    def modified(self, key: str) -> float | None:
        """The object's last-write time, or None when it does not exist."""


def content_key(data: bytes, suffix: str) -> str:
    """`sha256/ab/cd/abcd…<suffix>`: the same bytes always land on the same key."""
    digest = hashlib.sha256(data).hexdigest()
    if suffix and not suffix.startswith("."):
        suffix = "." + suffix
    if not _SAFE_SUFFIX(suffix):
        raise ValueError(f"unsafe file suffix {suffix!r}")
    return f"sha256/{digest[:2]}/{digest[2:4]}/{digest}{suffix}"


def _SAFE_SUFFIX(suffix: str) -> bool:  # noqa: N802
    return len(suffix) <= 12 and all(c.isalnum() or c == "." for c in suffix)


def validate_key(key: str) -> str:
    """Reject keys that could escape the store (absolute paths, '..', odd characters)."""
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in {"", ".", ".."} for p in parts):
        raise ObjectNotFound(f"invalid key {key!r}")
    if not all(c.isalnum() or c in "/._-" for c in key):
        raise ObjectNotFound(f"invalid key {key!r}")
    return key


def _write_error(root: Path, err: OSError) -> StorageError:
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageError(f"the file store {root} is full ({err.strerror}); free space and try again")
    return StorageError(f"cannot write to the file store {root}: {err.strerror}")


def _listed_key(key: str) -> bool:
    parts = key.split("/")
    return key.startswith(CONTENT_PREFIX) and all(p not in {"", ".", ".."} for p in parts)


def sign_file_url(secret: bytes, key: str, expires: int) -> str:
    return hmac.new(secret, f"{key}\n{expires}".encode(), hashlib.sha256).hexdigest()


class LocalStorage:
    """Files under a directory; URLs point at the app's /files route and carry an HMAC signature."""

    def __init__(self, root: Path, *, base_url: str, secret: bytes, default_ttl_s: int = 3600) -> None:
        self.root = root
        self.base_url = base_url.rstrip("/")
        self._secret = secret
        self.default_ttl_s = default_ttl_s

    def __repr__(self) -> str:
        return f"LocalStorage(root={str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def put(self, data: bytes, *, suffix: str, content_type: str | None = None) -> str:  # noqa: ARG002
        key = content_key(data, suffix)
        path = self._path(key)
        if path.exists():
            # A fresh write time: the sweep's grace period then covers a request about to reference it.
            os.utime(path)
            return key
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write to a temp file and rename, so a reader never sees half a file.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        except OSError as err:
            raise _write_error(self.root, err) from None
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException as err:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(err, OSError):
                raise _write_error(self.root, err) from None
            raise
        return key

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def path_for(self, key: str) -> Path:
        return self._path(key)

    def list_blobs(self) -> Iterator[BlobInfo]:
        base = self.root / CONTENT_PREFIX
        for path in base.rglob("*") if base.is_dir() else ():
            try:
                if path.is_file():
                    # Temp files of interrupted writes are listed too: nothing references them.
                    yield BlobInfo(key=path.relative_to(self.root).as_posix(), modified=path.stat().st_mtime)
            except FileNotFoundError:
                continue

    def modified(self, key: str) -> float | None:
        try:
            return (self.root / key).stat().st_mtime if _listed_key(key) else None
        except FileNotFoundError:
            return None

    def url(self, key: str, *, ttl_s: int | None = None) -> str:
        expires = int(time.time()) + (ttl_s or self.default_ttl_s)
        sig = sign_file_url(self._secret, validate_key(key), expires)
        return f"{self.base_url}/files/{quote(key)}?expires={expires}&sig={sig}"

    def verify(self, key: str, expires: str | None, sig: str | None) -> bool:
        # ASCII only: str.isdigit() admits "²", and compare_digest refuses non-ASCII text (a 500, not a 403).
        if not expires or not sig or not (expires.isascii() and expires.isdigit()) or not sig.isascii():
            return False
        if int(expires) < time.time():
            return False
        return hmac.compare_digest(sign_file_url(self._secret, key, int(expires)).encode(), sig.encode())

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / ".ready-probe"
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as err:
            raise StorageError(f"storage directory {self.root} is not writable: {err.strerror}") from None


class S3Storage:
    """Objects in an S3 bucket (or any S3-compatible store) under a prefix; presigned GET URLs."""

    def __init__(
        self,
        *,
        bucket: str,
        prefix: str,
        endpoint_url: str | None,
        region: str,
        default_ttl_s: int = 3600,
        client=None,  # noqa: ANN001 - a boto3 S3 client, injectable for tests
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.default_ttl_s = default_ttl_s
        self._client = client or boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            config=Config(
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=30,
                signature_version="s3v4",
            ),
        )

    def __repr__(self) -> str:
        return f"S3Storage(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def _object_key(self, key: str) -> str:
        key = validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _call(self, what: str, fn, **kwargs):  # noqa: ANN001, ANN202
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(**kwargs)
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code", "")
            if code in {"NoSuchKey", "404", "NotFound"} and "Key" in kwargs:
                raise ObjectNotFound(kwargs["Key"]) from None
            raise StorageError(f"S3 {what} failed on bucket {self.bucket!r}: {code or err}") from None
        except BotoCoreError as err:
            raise StorageError(f"S3 {what} failed on bucket {self.bucket!r}: {err}") from None

    def put(self, data: bytes, *, suffix: str, content_type: str | None = None) -> str:
        # Always written, even when the key exists: the write refreshes LastModified, which the
        # unreferenced-blob sweep's grace period counts from (a HEAD-then-skip could lose a race with it).
        key = content_key(data, suffix)
        content_type = content_type or mimetypes.guess_type("x" + suffix)[0] or "application/octet-stream"
        self._call(
            "put",
            self._client.put_object,
            Bucket=self.bucket,
            Key=self._object_key(key),
            Body=data,
            ContentType=content_type,
        )
        return key

    def get(self, key: str) -> bytes:
        obj = self._call("get", self._client.get_object, Bucket=self.bucket, Key=self._object_key(key))
        return obj["Body"].read()

    def exists(self, key: str) -> bool:
        try:
            self._call("head", self._client.head_object, Bucket=self.bucket, Key=self._object_key(key))
        except ObjectNotFound:
            return False
        return True

    def size(self, key: str) -> int | None:
        try:
            head = self._call("head", self._client.head_object, Bucket=self.bucket, Key=self._object_key(key))
        except ObjectNotFound:
            return None
        return int(head["ContentLength"])

    def delete(self, key: str) -> None:
        self._call("delete", self._client.delete_object, Bucket=self.bucket, Key=self._object_key(key))

    def url(self, key: str, *, ttl_s: int | None = None) -> str:
        return self._client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._object_key(key)},
            ExpiresIn=ttl_s or self.default_ttl_s,
        )

    def check(self) -> None:
        self._call("head_bucket", self._client.head_bucket, Bucket=self.bucket)

    def list_blobs(self) -> Iterator[BlobInfo]:
        from botocore.exceptions import BotoCoreError, ClientError

        start = self._object_key(CONTENT_PREFIX + "x")[:-1]
        strip = len(self.prefix) + 1 if self.prefix else 0
        try:
            for page in self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=start
            ):
                for obj in page.get("Contents", []):
                    yield BlobInfo(key=obj["Key"][strip:], modified=obj["LastModified"].timestamp())
        except (ClientError, BotoCoreError) as err:
            raise StorageError(f"S3 list failed on bucket {self.bucket!r}: {err}") from None

    def modified(self, key: str) -> float | None:
        try:
            head = self._call("head", self._client.head_object, Bucket=self.bucket, Key=self._object_key(key))
        except ObjectNotFound:
            return None
        return float(head["LastModified"].timestamp())


def make_storage(settings: Settings) -> Storage:
    """Build the configured store. Raises ConfigError for a local directory that cannot be created."""
    url = settings.storage_url
    if url.startswith("s3://"):
        parts = urlsplit(url)
        return S3Storage(
            bucket=parts.netloc,
            prefix=parts.path,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            default_ttl_s=settings.signed_url_ttl_s,
        )
    root = Path(url.removeprefix("file://")).expanduser()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"NU3D_STORAGE_URL: cannot create directory {root}: {err.strerror}") from None
    if not os.access(root, os.W_OK):
        raise ConfigError(f"NU3D_STORAGE_URL: directory {root} is not writable")
    return LocalStorage(
        root,
        base_url=settings.app_url,
        secret=settings.secret_key.get_secret_value().encode(),
        default_ttl_s=settings.signed_url_ttl_s,
    )
