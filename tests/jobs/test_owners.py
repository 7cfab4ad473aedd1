"""The one ownership rule: `owns` (Python) and `owner_clause` (SQL) agree for every kind of owner, and
lists, gets and idempotency never cross owners."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from shop_app.apikeys import create_api_key
from shop_app.db import session_scope
from shop_app.jobs.errors import InvalidCursor, JobNotFound
from shop_app.jobs.owners import ApiKeyOwner, Owner, PrincipalOwner, ShopOwner, owner_clause, owns
from shop_app.jobs.queries import Cursor, JobFilter, get_owned, list_jobs
from shop_app.models import Shop
from shop_app.models.jobs import Job
from tests.job_requests import enqueue_job

URLS = {"image_urls": ["https://cdn.example.com/a.png"]}


def test_owns_and_owner_clause_agree(db: Engine) -> None:
    with session_scope(db) as session:
        shop = Shop(domain="owners.myshopify.com")
        session.add(shop)
        session.flush()
        key_a, _ = create_api_key(session=session, name="a", scopes=["jobs"])
        key_b, _ = create_api_key(session=session, name="b", scopes=["jobs"])
        owners: list[Owner] = [
            ApiKeyOwner(api_key_id=key_a.id, shop_id=shop.id),
            ApiKeyOwner(api_key_id=key_b.id),
            PrincipalOwner(family="hydrilla", subject="user_1"),
            PrincipalOwner(family="hydrilla", subject="user_2"),
            PrincipalOwner(family="store"),
            ShopOwner(shop_id=shop.id),
        ]
        for owner in owners:
            family = owner.family if isinstance(owner, PrincipalOwner) else "v1"
            enqueue_job(session=session, inputs=URLS, owner=owner, family=family)
        session.flush()
        jobs = session.exec(select(Job)).all()
        everyone = [*owners, ApiKeyOwner(api_key_id=key_b.id, admin=True)]
        for owner in everyone:
            in_python = {j.id for j in jobs if owns(owner, j)}
            in_sql = {j.id for j in session.exec(select(Job).where(owner_clause(owner))).all()}
            assert in_python == in_sql, owner
        assert len({j.id for j in jobs if owns(everyone[-1], j)}) == len(jobs)  # admin sees all
        # A JWT subject sees only its own job; the shared store space sees only store jobs.
        user_1 = [j for j in jobs if owns(owners[2], j)]
        assert len(user_1) == 1 and user_1[0].principal == "user_1"
        assert all(j.family == "store" for j in jobs if owns(owners[4], j))
        # The shop owner sees its own job and the API key job stamped with the key's shop.
        assert len([j for j in jobs if owns(owners[5], j)]) == 2


def test_get_owned_hides_other_owners_jobs_and_lists_page_by_cursor(db: Engine) -> None:
    alice, bob = (
        PrincipalOwner(family="hydrilla", subject="alice"),
        PrincipalOwner(family="hydrilla", subject="bob"),
    )
    with session_scope(db) as session:
        mine = [enqueue_job(session=session, inputs=URLS, owner=alice) for _ in range(5)]
        theirs = enqueue_job(session=session, inputs=URLS, owner=bob)
    with session_scope(db) as session:
        assert get_owned(session, alice, mine[0].id).id == mine[0].id
        with pytest.raises(JobNotFound):
            get_owned(session, alice, theirs.id)
        with pytest.raises(JobNotFound):
            get_owned(session, alice, mine[0].id, family="store")
        seen, cursor = [], None
        while True:
            page = list_jobs(session, JobFilter(owner=alice), limit=2, cursor=cursor)
            seen += [j.id for j in page.jobs]
            if page.next_cursor is None:
                break
            cursor = Cursor.decode(page.next_cursor)
        assert seen == [j.id for j in reversed(mine)]  # newest first, every job once, none of bob's
    with pytest.raises(InvalidCursor):
        Cursor.decode("not-a-cursor")


def test_idempotency_keys_are_per_owner(db: Engine) -> None:
    alice, bob = (
        PrincipalOwner(family="hydrilla", subject="alice"),
        PrincipalOwner(family="hydrilla", subject="bob"),
    )
    with session_scope(db) as session:
        first = enqueue_job(session=session, inputs=URLS, owner=alice, idempotency_key="k1")
        again = enqueue_job(session=session, inputs=URLS, owner=alice, idempotency_key="k1")
        other = enqueue_job(session=session, inputs=URLS, owner=bob, idempotency_key="k1")
    assert again.id == first.id and other.id != first.id


def test_a_principal_cannot_submit_for_another_family(db: Engine) -> None:
    with pytest.raises(ValueError, match="cannot submit"), session_scope(db) as session:
        enqueue_job(
            session=session, inputs=URLS, owner=PrincipalOwner(family="hydrilla", subject="x"), family="store"
        )
