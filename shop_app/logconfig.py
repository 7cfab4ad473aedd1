"""Logging: every line carries the request id; optional JSON lines for log shippers; secrets redacted.

Redaction runs on the finished line (message, arguments and traceback alike), so a secret cannot reach the
log through an access line's URL, a header dump or an exception message.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

from shop_app.request_context import current_request_id

REDACTED = "***"
# Query parameters that carry credentials: session tokens, OAuth codes, Shopify HMACs, signed-URL signatures.
_SECRET_PARAMS = (
    "id_token|session|code|hmac|signature|sig|token|access_token|refresh_token|password|passwd|"
    "client_secret|api_key|apikey|key|secret"
)
_QUERY_SECRET = re.compile(rf"(?i)([?&;](?:{_SECRET_PARAMS})=)[^&;\s\"'#]*")
# Header values: `Authorization: Bearer x`, `'x-api-key': 'x'`, `(b'cookie', b'x')`, `cookie=x`.
_HEADER_SECRET = re.compile(
    r"(?i)\b((?:authorization|proxy-authorization|x-api-key|cookie|set-cookie|x-shopify-hmac-sha256|"
    r"x-shopify-access-token)['\"]?\s*[:=,]\s*b?['\"]?)[^'\"\r\n]+"
)
# Credentials recognisable by their shape wherever they appear.
_TOKEN_SECRET = re.compile(
    r"(?i)\b(bearer\s+|basic\s+|nu3d_|shpat_|shpua_|shpca_|shprt_|shpss_)[A-Za-z0-9._~+/=-]{4,}"
)


def redact(text: str) -> str:
    """`text` with credential values replaced by ***."""
    text = _HEADER_SECRET.sub(lambda m: m.group(1) + REDACTED, text)
    text = _QUERY_SECRET.sub(lambda m: m.group(1) + REDACTED, text)
    return _TOKEN_SECRET.sub(lambda m: m.group(1) + REDACTED, text)


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": redact(record.getMessage()),
        }
        if record.exc_info:
            payload["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(payload)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at emit time, not the object it was at configuration time.

    Background threads may log after a test harness (or a daemoniser) swapped and closed the original stream.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):  # noqa: ANN201
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:  # noqa: ANN001
        pass


def configure_logging(*, level: str = "INFO", json_lines: bool = False) -> None:
    handler = _StderrHandler()
    handler.addFilter(RequestIdFilter())
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            RedactingFormatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's own handlers would print lines without the request id; route them through ours.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
