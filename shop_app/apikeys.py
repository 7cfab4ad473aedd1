"""API keys for the job APIs: random, shown once, stored as SHA-256; `authenticate` is the one check every
API family uses (it throttles the last_used_at write)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from shop_app.db import write_scope
from shop_app.errors import AuthenticationRequired, Forbidden
from shop_app.models import ApiKey, utcnow

logger = logging.getLogger(__name__)
LAST_USED_EVERY_S = 60

KEY_PREFIX = "nu3d_"
VALID_SCOPES = frozenset({"jobs", "admin"})


class InvalidScope(ValueError):
    pass


class KeyNotFound(LookupError):
    pass


_DURATION = re.compile(r"^(\d{1,6})([mhdw])$")
_UNIT_S = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_expiry(text: str, *, now: datetime) -> datetime:
    """`30d`, `12h`, `90m`, `2w` from `now`, or an ISO date/time (UTC when no zone is given).
    Raises ValueError with a message a person can act on."""
    text = text.strip()
    match = _DURATION.match(text.lower())
    if match:
        return now + timedelta(seconds=int(match.group(1)) * _UNIT_S[match.group(2)])
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"--expires {text!r} is neither a duration (30d, 12h, 90m, 2w) nor a date (2027-01-31)"
        ) from None
    when = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    if when <= now:
        raise ValueError(f"--expires {text!r} is in the past")
    return when.astimezone(UTC)


def key_status(key: ApiKey, *, now: datetime) -> str:
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= now:
        return "expired"
    return "active"


def hash_key(presented: str) -> str:
    # Keys carry 256 bits of randomness, so a plain SHA-256 is enough; no slow KDF needed.
    return hashlib.sha256(presented.encode()).hexdigest()


def create_api_key(
    *,
    session: Session,
    name: str,
    scopes: list[str],
    shop_id: int | None = None,
    expires_at: datetime | None = None,
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
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return row, plaintext


class _KeyCache:
    """Verified keys for a few seconds, so a poll does not query the key table each time.

    Holds only active keys (an unknown or revoked key is looked up every time, so a new key works at once).
    `invalidate_api_key_cache()` empties it: a revoke in this process is seen by the next request; other
    processes see it within CACHE_TTL_S.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[tuple[int, str], tuple[float, ApiKey]] = {}

    def get(self, where: int, digest: str) -> ApiKey | None:
        hit = self._keys.get((where, digest))
        if hit is None or time.monotonic() - hit[0] > CACHE_TTL_S:
            return None
        return hit[1]

    def put(self, where: int, digest: str, key: ApiKey) -> None:
        with self._lock:
            if len(self._keys) > 10_000:
                self._keys.clear()
            self._keys[(where, digest)] = (time.monotonic(), key)

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()


CACHE_TTL_S = 5.0
_cache = _KeyCache()


def invalidate_api_key_cache() -> None:
    """Forget every cached key verification in this process; call it after revoking or changing a key."""
    _cache.clear()


def find_api_key(*, session: Session, presented: str) -> ApiKey | None:
    """The active (not revoked, not expired) key matching `presented`, or None (no write; `authenticate`
    records the use). Verified keys are cached for CACHE_TTL_S (see `invalidate_api_key_cache`)."""
    if not presented.startswith(KEY_PREFIX) or len(presented) > 200:
        return None
    digest = hash_key(presented)
    where = id(session.get_bind().engine)
    cached = _cache.get(where, digest)
    if cached is not None:
        # A cached key may have expired since it was cached: expiry is checked on every use.
        return cached if key_status(cached, now=utcnow()) == "active" else None
    row = session.exec(select(ApiKey).where(ApiKey.key_hash == digest)).first()
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        return None
    if key_status(row, now=utcnow()) != "active":
        return None
    session.expunge(row)  # shared read-only across requests from now on
    _cache.put(where, digest, row)
    return row


def key_has_scope(key: ApiKey, scope: str) -> bool:
    scopes = set(key.scopes.split())
    return scope in scopes or "admin" in scopes


def is_admin(key: ApiKey) -> bool:
    return "admin" in key.scopes.split()


def authenticate(session: Session, presented: str | None, *, scope: str = "jobs") -> ApiKey:
    """The active key `presented` with `scope`, its use recorded; else AuthenticationRequired (no key, or an
    unknown or revoked one; code INVALID_API_KEY for the latter) or Forbidden (code INVALID_API_KEY) when the
    key lacks the scope. Families reword these into their own bodies."""
    if not presented:
        raise AuthenticationRequired(
            "an API key is required: send it as 'X-API-Key: <key>' or 'Authorization: Bearer <key>' "
            "(create one with: nu3d apikey create)"
        )
    key = find_api_key(session=session, presented=presented)
    if key is None:
        raise AuthenticationRequired(
            "the API key is not valid (unknown, revoked or expired)", code="INVALID_API_KEY"
        )
    if not key_has_scope(key, scope):
        raise Forbidden(f"this API key lacks the {scope!r} scope", code="INVALID_API_KEY")
    _note_use(session, key)
    return key


def _note_use(session: Session, key: ApiKey) -> None:
    # last_used_at is refreshed at most once a minute: writing it on every poll would turn each GET into a
    # write that all requests with this key queue behind. A read-only request does it in its own short
    # transaction; one that already holds the write lock does it in its own.
    now = utcnow()
    if key.last_used_at is not None and (now - key.last_used_at).total_seconds() < LAST_USED_EVERY_S:
        return
    key.last_used_at = now  # the cached copy too: the next minute of requests skips the write
    stamp = update(ApiKey).where(col(ApiKey.id) == key.id).values(last_used_at=now)
    if session.info.get("write"):
        session.execute(stamp)
        return
    try:
        with write_scope(session.get_bind().engine) as own:
            own.execute(stamp)
    except SQLAlchemyError as err:
        logger.warning("could not record the use of API key #%s: %s", key.id, str(err).splitlines()[0])


def list_api_keys(*, session: Session) -> list[ApiKey]:
    return list(session.exec(select(ApiKey).order_by(col(ApiKey.id))))


def revoke_api_key(*, session: Session, ident: str) -> ApiKey:
    """Revoke the key with id `ident` (or whose shown prefix is `ident`); revoking twice keeps the first time.
    Raises KeyNotFound."""
    if ident.isdigit():
        row = session.get(ApiKey, int(ident))
        rows = [row] if row is not None else []
    else:
        rows = list(session.exec(select(ApiKey).where(ApiKey.prefix == ident)))
    if len(rows) != 1:
        raise KeyNotFound(
            f"no API key {ident!r}" if not rows else f"{len(rows)} keys start with {ident!r}; give the id"
        )
    row = rows[0]
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        session.flush()
    # Also here, not only after the caller commits: a key cached before the revoke stops working in this
    # process at once. The caller clears it again after committing (a request between flush and commit could
    # still have cached the old row).
    invalidate_api_key_cache()
    return row
