"""Streaming answers shared by the families: server-sent events and ZIP archives built as they are sent."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import time
import zipfile
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import StreamingResponse

from shop_app.storage import ObjectNotFound, Storage

logger = logging.getLogger(__name__)

SSE_POLL_S = 0.5  # workers write the database from elsewhere: streams re-read it this often


def sse(data: dict[str, Any], *, event_id: int | None = None, event: str | None = None) -> str:
    """One event: optional `id:` and `event:` lines, then `data: <json>`."""
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    if event:
        lines.append(f"event: {event}")
    lines.append("data: " + json.dumps(data, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


def sse_response(events: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no", "Connection": "keep-alive"},
    )


class Pinger:
    """Keep-alive comments: `due()` says when one is owed; `wait(...)` sleeps until a change or the next
    poll, never past the next ping."""

    def __init__(self, request: Request) -> None:
        self.ping_s = float(request.state.settings.sse_ping_s)
        self.events = getattr(request.state, "job_events", None)
        self.next_ping = time.monotonic() + self.ping_s

    def sent(self) -> None:
        self.next_ping = time.monotonic() + self.ping_s

    async def wait(self, job_id: str) -> str | None:
        """Wait for a change of `job_id` (or the poll interval); returns a ping comment when one is due."""
        wait = max(0.0, min(SSE_POLL_S, self.next_ping - time.monotonic()))
        if self.events is not None:
            await self.events.wait(job_id, wait)
        else:
            await asyncio.sleep(wait)
        if time.monotonic() >= self.next_ping:
            self.sent()
            return ": ping\n\n"
        return None


_DRIVE = re.compile(r"^[A-Za-z]:")
_UNSAFE = re.compile(r"[\x00-\x1f\\/:*?\"<>|]+")


# Names Windows refuses as files whatever the extension (CON.glb opens the console).
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)


def safe_entry_name(name: str, *, fallback: str) -> str:
    """A ZIP entry name that extracts inside the target folder on every OS: no directories, no `..`, no
    backslashes, no drive letters, no control characters, no Windows device names."""
    name = _DRIVE.sub("", name.replace("\\", "/")).rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip(" .")
    name = name.replace("..", "_")
    if _RESERVED.match(name):
        name = f"_{name}"
    return name[:150] or fallback


def model_entries(models: Iterable[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """ZIP entries for `(upload file name, unique id, storage key)` triples: `<safe stem>.glb`, with the id
    added when two uploads share a name."""
    used: set[str] = set()
    entries = []
    for filename, unique_id, key in models:
        stem = filename.rsplit(".", 1)[0] if "." in filename else filename
        name = safe_entry_name(stem[:100], fallback=unique_id) + ".glb"
        if name in used:
            name = f"{name[:-4]}-{unique_id}.glb"
        used.add(name)
        entries.append((name, key))
    return entries


class _ZipSink(io.RawIOBase):
    """A write-only stream whose bytes are handed out as they are written (zipfile streams into it)."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._offset = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._chunks.append(chunk)
        self._offset += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._offset

    def take(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks = []
        return out


def zip_stream(storage: Storage, entries: Iterable[tuple[str, str]], *, label: str) -> Iterator[bytes]:
    """The ZIP of `(entry name, storage key)` pairs, yielded member by member. A missing object is left out
    (logged with `label`)."""
    sink = _ZipSink()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        for filename, key in entries:
            try:
                data = storage.get(key)
            except ObjectNotFound:
                logger.warning("%s: %s is missing from storage; left out of the ZIP", label, key)
                continue
            with archive.open(filename, mode="w") as member:
                member.write(data)
            yield sink.take()
    yield sink.take()


def zip_response(storage: Storage, entries: list[tuple[str, str]], *, filename: str) -> StreamingResponse:
    return StreamingResponse(
        zip_stream(storage, entries, label=filename),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
