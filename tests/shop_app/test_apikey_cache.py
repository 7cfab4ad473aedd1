"""API keys are verified from a short-lived cache; `invalidate_api_key_cache` (what a revoke calls) clears it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from shop_app import apikeys
from shop_app.apikeys import authenticate, create_api_key, invalidate_api_key_cache
from shop_app.db import session_scope
from shop_app.errors import AuthenticationRequired
from shop_app.models import ApiKey, utcnow


def _revoke(db: Engine, key_id: int) -> None:
    with session_scope(db) as session:
        row = session.get(ApiKey, key_id)
        assert row is not None
        row.revoked_at = utcnow()
        session.add(row)


def test_a_revoked_key_is_refused_once_the_cache_is_invalidated(db: Engine) -> None:
    with session_scope(db) as session:
        row, key = create_api_key(session=session, name="cached", scopes=["jobs"])
        key_id = row.id
    assert key_id is not None
    with session_scope(db) as session:
        assert authenticate(session, key).id == key_id  # verified, now cached
    _revoke(db, key_id)
    with session_scope(db) as session:
        assert authenticate(session, key).id == key_id  # still cached: a revoke elsewhere waits out the TTL
    invalidate_api_key_cache()
    with session_scope(db) as session, pytest.raises(AuthenticationRequired) as err:
        authenticate(session, key)
    assert err.value.code == "INVALID_API_KEY"


def test_unknown_keys_are_never_cached(db: Engine) -> None:
    with session_scope(db) as session, pytest.raises(AuthenticationRequired):
        authenticate(session, "nu3d_" + "x" * 43)
    with session_scope(db) as session:
        _, key = create_api_key(session=session, name="new", scopes=["jobs"])
    with session_scope(db) as session:
        assert authenticate(session, key).name == "new"  # a key created after a miss works at once


def test_a_key_that_expires_while_cached_is_refused(db: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    now = utcnow()
    with session_scope(db) as session:
        _, key = create_api_key(
            session=session, name="soon", scopes=["jobs"], expires_at=now + timedelta(hours=1)
        )
    with session_scope(db) as session:
        assert authenticate(session, key).name == "soon"  # verified, now cached
    # The clock passes the expiry within the cache's lifetime (its TTL runs on time.monotonic, not this clock).
    monkeypatch.setattr(apikeys, "utcnow", lambda: now + timedelta(hours=2))
    with session_scope(db) as session, pytest.raises(AuthenticationRequired) as err:
        authenticate(session, key)
    assert err.value.code == "INVALID_API_KEY"
