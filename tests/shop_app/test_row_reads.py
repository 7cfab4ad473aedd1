"""The poll's bare-cursor read returns what Core returns, and leaves the pooled connection as it found it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from shop_app.db import read_scope, session_scope
from shop_app.jobs.errors import JobNotFound
from shop_app.jobs.owners import PrincipalOwner
from shop_app.jobs.views import JobView, _view_query, get_owned_view
from shop_app.models.jobs import Job
from shop_app.row_reads import read_row
from tests.job_requests import ANYONE, enqueue_job


def _job(db: Engine) -> str:
    with session_scope(db) as session:
        job = enqueue_job(session=session, inputs={"image_urls": ["https://cdn.example.com/a.png"]})
        row = session.get(Job, job.id)
        assert row is not None
        # Every kind of value the view carries: JSON lists and objects, booleans, nullable fields set.
        row.logs = ["queued", "ünïcode line"]
        row.cancel_requested = True
        row.error_retryable = False
        row.started_at = datetime(2026, 12, 2, 11, 0, 0, 123456, tzinfo=UTC)
        row.duration_s = 1.25
        session.add(row)
        return job.id


def test_read_row_types_values_as_core_does(db: Engine) -> None:
    job_id = _job(db)
    with db.connect() as conn:
        core = conn.execute(_view_query(), {"job_id": job_id}).first()
    assert core is not None
    for _ in range(3):  # the first call builds the processors from the cursor; later calls reuse them
        bare = read_row(db, _view_query(), {"job_id": job_id})
        assert bare == tuple(core)
        assert [type(v) for v in bare] == [type(v) for v in core]
    view = JobView(*bare)
    assert view.started_at is not None and view.started_at.tzinfo is not None
    assert view.logs == ["queued", "ünïcode line"] and view.cancel_requested is True


def test_read_row_of_a_missing_id_is_none(db: Engine) -> None:
    assert read_row(db, _view_query(), {"job_id": "job_missing"}) is None


def test_the_pooled_connection_is_left_as_it_was(db: Engine) -> None:
    job_id = _job(db)
    assert read_row(db, _view_query(), {"job_id": job_id}) is not None
    # The next unit of work on the pool still gets transactions: a write rolled back is not kept.
    with Session(db) as session:
        row = session.get(Job, job_id)
        assert row is not None
        row.stage = "rolled back"
        session.add(row)
        session.flush()
        session.rollback()
    with Session(db) as session:
        assert session.get(Job, job_id).stage != "rolled back"  # type: ignore[union-attr]
    if db.dialect.name == "postgresql":
        raw = db.raw_connection()
        try:
            assert raw.dbapi_connection.autocommit is False
        finally:
            raw.close()


def test_a_read_scope_polls_through_the_bare_read_and_still_checks_the_owner(db: Engine) -> None:
    job_id = _job(db)
    with read_scope(db) as session:
        view = get_owned_view(session, ANYONE, job_id)
        assert view.id == job_id
        assert not session.in_transaction()  # served without checking out a session connection
    with read_scope(db) as session, pytest.raises(JobNotFound):
        get_owned_view(session, PrincipalOwner(family="someone-else"), job_id)
