"""API keys for the job APIs: random, shown once, stored as SHA-256."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlmodel import Session, select

from shop_app.models import ApiKey, utcnow

KEY_PREFIX = "nu3d_"
VALID_SCOPES = frozenset({"jobs", "admin"})


class InvalidScope(ValueError):
    pass


def hash_key(presented: str) -> str:
    # Keys carry 256 bits of randomness, so a plain SHA-256 is enough; no slow KDF needed.
    return hashlib.sha256(presented.encode()).hexdigest()


def create_api_key(
    *, session: Session, name: str, scopes: list[str], shop_id: int | None = None
) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the plaintext key (never stored)."""
    unknown = set(scopes) - VALID_SCOPES
    if not scopes or unknown:
        raise InvalidScope(
            f"unknown scope {sorted(unknown)[0]!r}; use one of: jobs, admin" if unknown else "no scope given"
        )
    if not name.strip():
        raise ValueError("the key needs a name")
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        name=name.strip(),
        prefix=plaintext[: len(KEY_PREFIX) + 6],
        key_hash=hash_key(plaintext),
        scopes=" ".join(sorted(set(scopes))),
        shop_id=shop_id,
    )
    session.add(row)
    session.flush()
    return row, plaintext


def find_api_key(*, session: Session, presented: str, touch: bool = True) -> ApiKey | None:
    """The active key matching `presented`, or None. Updates last_used_at unless `touch` is False (callers
    that throttle that write themselves, or only need to know the key exists)."""
    if not presented.startswith(KEY_PREFIX) or len(presented) > 200:
        return None
    digest = hash_key(presented)
    row = session.exec(select(ApiKey).where(ApiKey.key_hash == digest)).first()
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, digest):
        return None
    if touch:
        row.last_used_at = utcnow()
        session.add(row)
    return row


def key_has_scope(key: ApiKey, scope: str) -> bool:
    scopes = set(key.scopes.split())
    return scope in scopes or "admin" in scopes
