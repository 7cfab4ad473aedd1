"""API keys for the job APIs: random, shown once, stored as SHA-256."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from shop_app.models import ApiKey, utcnow

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


def find_api_key(*, session: Session, presented: str, touch: bool = True) -> ApiKey | None:
    """The active (not revoked, not expired) key matching `presented`, or None. Updates last_used_at unless `touch` is False (callers
    that throttle that write themselves, or only need to know the key exists)."""
    if not presented.startswith(KEY_PREFIX) or len(presented) > 200:
        return None
    digest = hash_key(presented)
    row = session.exec(select(ApiKey).where(ApiKey.key_hash == digest)).first()
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        return None
    if key_status(row, now=utcnow()) != "active":
        return None
    if touch:
        row.last_used_at = utcnow()
        session.add(row)
    return row


def key_has_scope(key: ApiKey, scope: str) -> bool:
    scopes = set(key.scopes.split())
    return scope in scopes or "admin" in scopes


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
    return row
