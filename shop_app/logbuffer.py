"""The web process's recent log lines, kept in memory for the log endpoints (a bounded ring).

Each entry is structured: timestamp, level, logger, message and the request id it was logged under
(`correlation_id`). Workers and the scheduler are other processes: their lines are in their own logs.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

from shop_app.request_context import current_request_id


@dataclass(frozen=True)
class LogEntry:
    timestamp: datetime
    level: str
    levelno: int
    logger: str
    message: str
    correlation_id: str | None


class LogBuffer(logging.Handler):
    """A logging handler that keeps the last `capacity` records."""

    def __init__(self, capacity: int = 2000) -> None:
        super().__init__(level=logging.DEBUG)
        self._lines: deque[LogEntry] = deque(maxlen=capacity)
        self._lines_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not break logging
            message = str(record.msg)
        entry = LogEntry(
            timestamp=datetime.fromtimestamp(record.created, UTC),
            level=record.levelname,
            levelno=record.levelno,
            logger=record.name,
            message=message[:2000],
            correlation_id=getattr(record, "request_id", None) or current_request_id(),
        )
        with self._lines_lock:
            self._lines.append(entry)

    def recent(
        self, *, lines: int, min_level: int = logging.DEBUG, since: datetime | None = None
    ) -> list[LogEntry]:
        """The newest `lines` entries at `min_level` or above (and after `since`), oldest first."""
        with self._lines_lock:
            snapshot = list(self._lines)
        chosen = [e for e in snapshot if e.levelno >= min_level and (since is None or e.timestamp >= since)]
        return chosen[-lines:] if lines else []

    def install(self) -> None:
        logging.getLogger().addHandler(self)

    def uninstall(self) -> None:
        logging.getLogger().removeHandler(self)
