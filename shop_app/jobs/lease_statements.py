"""The worker's hot path as set-based statements, built once per dialect and reused with bind parameters.

A claim is one `UPDATE … RETURNING`; a completion is one fenced `UPDATE … RETURNING` (on PostgreSQL with the
generation's dedupe insert in the same statement, as a data-modifying CTE). The log line each of them adds is
appended in SQL (`appended_log`), bounded like `rows.appended_logs`, so no row is read before it is written.
Statements are built with SQLAlchemy Core on the tables, not the ORM entities: building an ORM statement per
call cost more CPU than the database spent running it (profiled: ~1 ms of coercion per claim).

Every statement here keeps the guarantees of the row-at-a-time code it replaced: the claim takes the highest
priority, then oldest, runnable row and skips rows other claimers hold (SKIP LOCKED); a completion only lands
while the row is `running` and leased to the completing worker (the fence is the UPDATE's WHERE, re-checked by
PostgreSQL under the row lock); the first writer of an input hash stores its generation, later ones reuse it.

The statements return only what their callers read (`ClaimedJob`, `CompletedJob`), not the 36-column row: the
result processing of the wide row and building a `Job` entity from it cost the worker more CPU than the
statement's round trip (profiled: ~160 µs per `Job`, twice a cycle).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    String,
    Table,
    Text,
    bindparam,
    case,
    cast,
    exists,
    extract,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.dml import Insert, Update
from sqlalchemy.sql.selectable import Select

from shop_app.jobs.rows import MAX_LOG_CHARS, MAX_LOG_LINES
from shop_app.jobs.run_times import EWMA_ALPHA
from shop_app.models.base import UTCDateTime
from shop_app.models.jobs import QUEUED, RUNNING, SUCCEEDED, Generation, Job, KindStats

JOB: Table = Job.__table__  # type: ignore[attr-defined]
GENERATION: Table = Generation.__table__  # type: ignore[attr-defined]
KIND_STATS: Table = KindStats.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """A job as its claim leased it: what a worker needs to run it (the claim's RETURNING list)."""

    id: str
    kind: str
    inputs: dict[str, Any]
    params: dict[str, Any]
    user_id: str | None
    input_hash: str | None
    attempt: int
    max_attempts: int
    version: int
    started_at: datetime
    lease_expires_at: datetime


@dataclass(frozen=True, slots=True)
class CompletedJob:
    """A job as its completion left it (the completion's RETURNING list)."""

    id: str
    kind: str
    status: str
    attempt: int
    cached: bool
    duration_s: float | None
    generation_id: int | None
    input_hash: str | None
    version: int
    finished_at: datetime


CLAIMED_COLUMNS = tuple(JOB.c[f.name] for f in fields(ClaimedJob))
COMPLETED_COLUMNS = tuple(JOB.c[f.name] for f in fields(CompletedJob))

# The bind parameters the statements share.
NOW = bindparam("now", type_=UTCDateTime())
WORKER = bindparam("worker_id", type_=String())
JOB_ID = bindparam("job_id", type_=String())
INPUT_HASH = bindparam("input_hash", type_=String())


def appended_log(dialect: str, line: ColumnElement[str]) -> ColumnElement[Any]:
    """`job.logs` with `line` appended, dropping the oldest line at `MAX_LOG_LINES` (as `rows.appended_logs`;
    every writer keeps the list at most that long, so dropping one is enough)."""
    logs = JOB.c.logs
    if dialect == "postgresql":
        as_jsonb = cast(logs, JSONB)
        kept = case(
            (func.jsonb_array_length(as_jsonb) >= MAX_LOG_LINES, as_jsonb.op("-")(literal(0))),
            else_=as_jsonb,
        )
        return cast(kept.op("||")(func.to_jsonb(cast(line, Text))), JSON)
    kept_text = case(
        (func.json_array_length(logs) >= MAX_LOG_LINES, func.json_remove(logs, "$[0]")),
        else_=logs,
    )
    return func.json_insert(kept_text, "$[#]", line)


def log_text(*parts: ColumnElement[Any] | str) -> ColumnElement[str]:
    """A log line from SQL pieces: `HH:MM:SS ` (from the `log_clock` parameter) then the parts, bounded."""
    text_sql: ColumnElement[str] = bindparam("log_clock", type_=String())
    for part in parts:
        piece = literal(part, String()) if isinstance(part, str) else cast(part, String())
        text_sql = text_sql + piece
    return func.substr(text_sql, 1, MAX_LOG_CHARS)


@functools.cache
def claim_statement(dialect: str, with_kinds: bool) -> Update:
    """Lease the next runnable job: binds `now`, `worker_id`, `lease_expires_at`, `log_suffix`, `log_clock`
    (and `kinds`). Walks `ix_job_claim` in its order, so the first index entry is the row taken."""
    nxt = JOB.alias("next_job")
    pick = select(nxt.c.id).where(nxt.c.status == QUEUED, nxt.c.run_after <= NOW)
    if with_kinds:
        pick = pick.where(nxt.c.kind.in_(bindparam("kinds", expanding=True)))
    pick = pick.order_by(nxt.c.priority.desc(), nxt.c.created_at, nxt.c.id).limit(1)
    if dialect == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    attempt = JOB.c.attempt + 1
    line = log_text("attempt ", attempt, "/", JOB.c.max_attempts, bindparam("log_suffix", type_=String()))
    return (
        update(JOB)
        .where(JOB.c.id == pick.scalar_subquery())
        .values(
            status=RUNNING,
            lease_owner=WORKER,
            lease_expires_at=bindparam("lease_expires_at", type_=UTCDateTime()),
            heartbeat_at=NOW,
            attempt=attempt,
            started_at=NOW,
            progress=0,
            stage="claimed",
            version=JOB.c.version + 1,
            updated_at=NOW,
            logs=appended_log(dialect, line),
        )
        .returning(*CLAIMED_COLUMNS)
    )


def _run_time(dialect: str) -> ColumnElement[float]:
    """Seconds from the claim to `now`, computed where the row is (no read before the write)."""
    if dialect == "postgresql":
        return cast(extract("epoch", NOW - JOB.c.started_at), Float())
    return (func.julianday(NOW) - func.julianday(JOB.c.started_at)) * 86400.0


def _succeeded_values(dialect: str, cached: ColumnElement[bool] | bool) -> dict[str, Any]:
    """The SET list of a completion; `cached` says whether the stored result was reused."""
    if isinstance(cached, bool):
        line = log_text("completed (stored result reused)" if cached else "completed")
    else:
        line = log_text(case((cached, "completed (stored result reused)"), else_="completed"))
    return {
        "status": SUCCEEDED,
        "progress": 100,
        "stage": "done",
        "finished_at": NOW,
        "duration_s": case((JOB.c.started_at.is_(None), None), else_=_run_time(dialect)),
        "lease_owner": None,
        "lease_expires_at": None,
        "error_code": None,
        "error_message": None,
        "error_retryable": None,
        "input_hash": INPUT_HASH,
        "cached": cached,
        "version": JOB.c.version + 1,
        "updated_at": NOW,
        "logs": appended_log(dialect, line),
    }


def _fence() -> ColumnElement[bool]:
    return (JOB.c.id == JOB_ID) & (JOB.c.status == RUNNING) & (JOB.c.lease_owner == WORKER)


GENERATION_FIELDS = (
    "input_hash",
    "params",
    "glb_key",
    "splat_key",
    "preview_key",
    "image_keys",
    "meta",
    "stats",
    "duration_s",
    "created_at",
)


def _generation_binds() -> list[Any]:
    binds: list[Any] = []
    for name in GENERATION_FIELDS:
        column = GENERATION.c[name]
        binds.append(NOW if name == "created_at" else bindparam(f"gen_{name}", type_=column.type))
    return binds


def generation_binds(values: dict[str, Any]) -> dict[str, Any]:
    """Bind values for `store_generation_statement` / `complete_storing_statement` from a generation's
    fields (every field but `created_at`, which is `now`)."""
    return {f"gen_{name}": values[name] for name in GENERATION_FIELDS if name != "created_at"}


@functools.cache
def store_generation_statement(dialect: str) -> Insert:
    """`INSERT … ON CONFLICT (input_hash) DO NOTHING RETURNING id`: the first writer of a hash wins."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = dict(zip(GENERATION_FIELDS, _generation_binds(), strict=True))
    return (
        insert(GENERATION)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["input_hash"])
        .returning(GENERATION.c.id)
    )


@functools.cache
def complete_with_generation_statement(dialect: str) -> Update:
    """Fenced completion pointing at a known generation: binds `job_id`, `worker_id`, `now`, `input_hash`,
    `generation_id`, `cached`, `log_clock`."""
    values = _succeeded_values(dialect, bindparam("cached", type_=JOB.c.cached.type))
    values["generation_id"] = bindparam("generation_id", type_=JOB.c.generation_id.type)
    return update(JOB).where(_fence()).values(**values).returning(*COMPLETED_COLUMNS)


@functools.cache
def complete_from_stored_statement(dialect: str) -> Update:
    """Fenced completion from the generation already stored for `input_hash` (the job's input was made
    before); lands only if that generation exists."""
    stored = select(GENERATION.c.id).where(GENERATION.c.input_hash == INPUT_HASH).scalar_subquery()
    values = _succeeded_values(dialect, True)
    values["generation_id"] = stored
    found = exists().where(GENERATION.c.input_hash == INPUT_HASH)
    return update(JOB).where(_fence(), found).values(**values).returning(*COMPLETED_COLUMNS)


@functools.cache
def complete_storing_statement() -> Select[Any]:
    """PostgreSQL: store the generation, complete the job and fold its run time into `kind_stats`, in one
    statement. Returns the `CompletedJob` columns plus `stats_written`.

    - The insert runs only for a row that passes the fence (it selects from the locked `fenced` row), so a
      worker that lost its lease stores nothing.
    - One race writes nothing: another completion of the same input hash committed while this statement
      waited on its unique-index entry, which this statement's snapshot cannot see, so there is no generation
      id to point at. The caller tells that from a lost lease and settles it in a transaction
      (`lease._complete_with_stored`).
    - The run-time sample is folded in only when the kind's row exists and no other completion holds it
      (SKIP LOCKED); otherwise `stats_written` is false and the caller keeps the sample (`run_times`)."""
    fenced = select(JOB.c.id).where(_fence()).with_for_update().cte("fenced")
    stored = (
        postgresql.insert(GENERATION)
        .from_select(list(GENERATION_FIELDS), select(*_generation_binds()).select_from(fenced))
        .on_conflict_do_nothing(index_elements=["input_hash"])
        .returning(GENERATION.c.id)
        .cte("stored")
    )
    stored_id = select(stored.c.id).scalar_subquery()
    earlier_id = select(GENERATION.c.id).where(GENERATION.c.input_hash == INPUT_HASH).scalar_subquery()
    reused = ~exists(select(stored.c.id))
    generation_id = func.coalesce(stored_id, earlier_id)
    values = _succeeded_values("postgresql", reused)
    values["generation_id"] = generation_id
    done = (
        update(JOB)
        .where(JOB.c.id == fenced.c.id, generation_id.is_not(None))
        .values(**values)
        .returning(*COMPLETED_COLUMNS)
        .cte("done")
    )
    row = KIND_STATS.alias("kind_row")
    free = (
        select(row.c.kind)
        .select_from(row.join(done, row.c.kind == done.c.kind))
        .where(~done.c.cached, done.c.duration_s.is_not(None))
        .with_for_update(of=row, skip_locked=True)
        .correlate(None)
        .scalar_subquery()
    )
    sample = done.c.duration_s
    folded = (
        update(KIND_STATS)
        .where(KIND_STATS.c.kind == free, KIND_STATS.c.kind == done.c.kind)
        .values(
            ewma_duration_s=case(
                (KIND_STATS.c.samples == 0, sample),
                else_=EWMA_ALPHA * sample + (1 - EWMA_ALPHA) * KIND_STATS.c.ewma_duration_s,
            ),
            samples=KIND_STATS.c.samples + 1,
            updated_at=NOW,
        )
        .returning(KIND_STATS.c.kind)
        .cte("folded")
    )
    return select(*done.c, exists(select(folded.c.kind)).label("stats_written"))
