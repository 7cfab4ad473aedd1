"""The unreferenced-blob sweep: removes stored files no database row mentions, after a grace period.

Files are stored before the row that references them is committed (an upload, a worker's artifacts), so a
file that no row mentions yet may be in flight. Only files whose last write is older than the grace period
are candidates, and each is looked at again just before it is deleted; a put of the same bytes refreshes the
write time (storage.py), so a request that re-uses an old blob is covered too.

References are found by content, not by a list of columns: every text and JSON column of every table is
scanned for content keys, so a table added later (a new API family's rows) protects its files without
touching this module.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field

from sqlalchemy import JSON, String, Text, select
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from shop_app.storage import Storage, StorageError

logger = logging.getLogger(__name__)

_DIGEST = re.compile(r"sha256/[0-9a-f]{2}/[0-9a-f]{2}/([0-9a-f]{64})")


@dataclass
class SweepReport:
    scanned: int = 0
    referenced: int = 0
    too_recent: int = 0
    deleted: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def referenced_digests(engine: Engine) -> set[str]:
    """The SHA-256 digests of every content key mentioned anywhere in the database."""
    import shop_app.models  # noqa: F401 - every table registered on the metadata

    found: set[str] = set()
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
            if not columns:
                continue
            result = conn.execution_options(stream_results=True, yield_per=500).execute(select(*columns))
            for row in result:
                for value in row:
                    if value is not None:
                        found.update(_DIGEST.findall(value if isinstance(value, str) else repr(value)))
    return found


def _digest_of(key: str) -> str | None:
    match = re.search(r"([0-9a-f]{64})", key.rsplit("/", 1)[-1])
    return match.group(1) if match else None


def sweep_unreferenced_blobs(*, engine: Engine, storage: Storage, grace_s: float) -> SweepReport:
    """Delete stored blobs older than `grace_s` that no row references. Storage errors are reported, not
    raised, so one unreachable object does not stop the sweep."""
    report = SweepReport()
    started = time.time()
    try:
        # List first, then read the references: a row committed after the listing protects its blob
        # (and a blob written after the listing is not a candidate at all).
        candidates = []
        for blob in storage.list_blobs():
            report.scanned += 1
            if started - blob.modified < grace_s:
                report.too_recent += 1
            else:
                candidates.append(blob.key)
    except StorageError as err:
        report.errors.append(str(err))
        return report
    referenced = referenced_digests(engine)
    for key in candidates:
        digest = _digest_of(key)
        if digest is not None and digest in referenced:
            report.referenced += 1
            continue
        try:
            modified = storage.modified(key)
            if modified is None:
                continue
            if time.time() - modified < grace_s:  # written again since the listing
                report.too_recent += 1
                continue
            storage.delete(key)
            report.deleted.append(key)
        except StorageError as err:
            report.errors.append(f"{key}: {err}")
    if report.deleted or report.errors:
        logger.info(
            "blob sweep: %d scanned, %d deleted, %d referenced, %d within the grace period, %d errors",
            report.scanned,
            len(report.deleted),
            report.referenced,
            report.too_recent,
            len(report.errors),
        )
    return report
