"""Shopify search syntax (the subset the devstore implements) and cursor pagination.

Search: terms joined by ``AND`` (or whitespace, which Shopify also reads as AND). A term is ``field:value``
or ``field:<op>value`` with ``op`` one of ``> >= < <=``; values may be quoted with ``'`` or ``"``.
Implemented fields for products: ``status`` (comma list), ``created_at``, ``updated_at``, ``published_at``
(time values: ISO timestamps, ISO dates, years, or ``now``), ``id`` (number comparisons), ``title``,
``vendor``, ``product_type``, ``handle`` (comma lists), ``tag``, ``tag_not`` and bare words (a
case-insensitive search of title, vendor, product type and tags). A field Shopify documents but the
devstore does not implement raises :class:`SearchNotImplemented`; a field Shopify does not know is ignored
with a search warning, as Shopify does.

Cursors are base64 of ``{"last_id": ..., "last_value": ...}``, the shape Shopify's own cursors decode to.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

TOKEN_RE = re.compile(
    r"""\s*(?:
        (?P<conn>AND|OR|NOT)(?=\s|$)
      | (?P<field>[A-Za-z_][\w.]*):(?P<op>>=|<=|>|<)?(?P<value>'[^']*'|"[^"]*"|[^\s]*)
      | (?P<word>'[^']*'|"[^"]*"|[^\s:]+)
    )""",
    re.VERBOSE,
)

# Every filter Shopify's products(query:) documents in 2026-10 (from the schema's description table).
SHOPIFY_PRODUCT_FIELDS = frozenset(
    """barcode bundles category_id collection_id combined_listing_role created_at delivery_profile_id
    error_feedback gift_card handle has_only_composites has_only_default_variant has_variant_with_components
    id inventory_total is_price_reduced out_of_stock_somewhere price product_configuration_owner
    product_publication_status product_type publication_ids publishable_status published_at
    published_status sku status tag tag_not title updated_at variant_id variant_title vendor""".split()
)
IMPLEMENTED_FIELDS = frozenset(
    "status created_at updated_at published_at id title vendor product_type handle tag tag_not".split()
)
TIME_FIELDS = ("created_at", "updated_at", "published_at")


class SearchError(ValueError):
    """A search string the devstore cannot evaluate; the message names the problem."""


class SearchNotImplemented(SearchError):
    pass


@dataclass(frozen=True)
class Term:
    field: str | None
    op: str  # "=", ">", ">=", "<", "<="
    value: str


@dataclass
class ParsedQuery:
    terms: list[Term] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)

    def has_field(self, name: str) -> bool:
        return any(t.field == name for t in self.terms)


SHOPIFY_FILE_FIELDS = frozenset(
    "created_at filename id ids media_type original_upload_size product_id status updated_at used_in".split()
)
IMPLEMENTED_FILE_FIELDS = frozenset("created_at updated_at filename id media_type product_id status".split())


def parse_query(
    query: str | None,
    *,
    known: frozenset[str] = SHOPIFY_PRODUCT_FIELDS,
    implemented: frozenset[str] = IMPLEMENTED_FIELDS,
) -> ParsedQuery:
    parsed = ParsedQuery()
    if not query or not query.strip():
        return parsed
    pos = 0
    while pos < len(query):
        if query[pos:].strip() == "":
            break
        m = TOKEN_RE.match(query, pos)
        if not m or m.end() == pos:
            raise SearchError(f"cannot parse search query {query!r} at position {pos}")
        pos = m.end()
        if m.group("conn"):
            if m.group("conn") != "AND":
                raise SearchNotImplemented(
                    f"the devstore implements only AND between search terms, not {m.group('conn')} "
                    f"(query {query!r})"
                )
            continue
        if m.group("field"):
            name = m.group("field").lower()
            value = _unquote(m.group("value"))
            if name not in known and not name.startswith("metafields."):
                parsed.warnings.append({"field": name, "message": "Invalid search field for this query."})
                continue
            if name not in implemented:
                raise SearchNotImplemented(
                    f"search filter '{name}' is valid in Shopify but not implemented by the devstore "
                    f"(implemented: {', '.join(sorted(implemented))})"
                )
            parsed.terms.append(Term(name, m.group("op") or "=", value))
        else:
            word = _unquote(m.group("word"))
            if word.startswith("-"):
                raise SearchNotImplemented(f"negated terms ({word!r}) are not implemented by the devstore")
            parsed.terms.append(Term(None, "=", word))
    return parsed


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def time_interval(value: str, zone: ZoneInfo, now: datetime) -> tuple[datetime, datetime]:
    """The half-open UTC interval a time value denotes: a timestamp is one second wide, a date a day, a year
    a year. Values without an offset are read in the shop's timezone, as Shopify does."""
    v = value.strip()
    if v.lower() == "now":
        start = now.replace(microsecond=0)
        return start, start + timedelta(seconds=1)
    try:
        if re.fullmatch(r"\d{4}", v):
            start = datetime(int(v), 1, 1, tzinfo=zone)
            return start.astimezone(UTC), datetime(int(v) + 1, 1, 1, tzinfo=zone).astimezone(UTC)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
            day = datetime.fromisoformat(v).replace(tzinfo=zone)
            nxt = (day.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=zone)
            return day.astimezone(UTC), nxt.astimezone(UTC)
        dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError as exc:
        raise SearchError(
            f"invalid time value {value!r}: use an ISO 8601 timestamp, a date, a year or now"
        ) from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone)
    dt = dt.astimezone(UTC)
    if dt.microsecond:
        return dt, dt + timedelta(microseconds=1)
    return dt, dt + timedelta(seconds=1)


def compare_interval(actual: datetime | None, op: str, interval: tuple[datetime, datetime]) -> bool:
    if actual is None:
        return False
    start, end = interval
    if op == ">":
        return actual >= end
    if op == ">=":
        return actual >= start
    if op == "<":
        return actual < start
    if op == "<=":
        return actual < end
    return start <= actual < end


def compare_number(actual: int, op: str, value: str) -> bool:
    try:
        wanted = int(value.rsplit("/", 1)[-1])
    except ValueError as exc:
        raise SearchError(f"invalid id value {value!r}: expected a number") from exc
    return {
        "=": actual == wanted,
        ">": actual > wanted,
        ">=": actual >= wanted,
        "<": actual < wanted,
        "<=": actual <= wanted,
    }[op]


# ---- cursors and pages ---------------------------------------------------------------------------


def encode_cursor(last_id: int, last_value: Any) -> str:
    raw = json.dumps({"last_id": last_id, "last_value": last_value}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[Any, int]:
    """Return ``(last_value, last_id)``; raise :class:`SearchError` for anything that is not our cursor."""
    try:
        raw = json.loads(base64.b64decode(cursor.encode(), validate=True))
        return raw["last_value"], int(raw["last_id"])
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise SearchError(f"Invalid cursor for current pagination sort: {cursor!r}") from exc


@dataclass
class Page:
    items: list[Any]
    cursors: list[str]
    has_next_page: bool
    has_previous_page: bool


@dataclass
class SortedItems:
    """Items in ascending ``(has value, value, id)`` order with their keys, reusable across requests."""

    keys: list[tuple[Any, ...]]
    items: list[Any]
    values: list[Any]
    ids: list[int]


def _key(value: Any, ident: int) -> tuple[Any, ...]:
    return (value is not None, value if value is not None else 0, ident)


def sort_items(
    items: Sequence[Any], *, sort_value: Callable[[Any], Any], item_id: Callable[[Any], int]
) -> SortedItems:
    """Sort once; ``sort_value`` must return JSON-serializable, mutually comparable values (None sorts first)."""
    decorated = sorted(
        ((_key(sort_value(it), item_id(it)), sort_value(it), item_id(it), it) for it in items),
        key=lambda d: d[0],
    )
    return SortedItems(
        keys=[d[0] for d in decorated],
        values=[d[1] for d in decorated],
        ids=[d[2] for d in decorated],
        items=[d[3] for d in decorated],
    )


def paginate(
    items: Sequence[Any] | SortedItems,
    *,
    sort_value: Callable[[Any], Any] | None = None,
    item_id: Callable[[Any], int] | None = None,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    reverse: bool = False,
) -> Page:
    """Relay-style paging over items ordered by ``(sort_value, id)``, reversed when ``reverse``."""
    if not isinstance(items, SortedItems):
        assert sort_value is not None and item_id is not None
        items = sort_items(items, sort_value=sort_value, item_id=item_id)
    keys = items.keys
    n = len(keys)
    order = list(range(n - 1, -1, -1)) if reverse else range(n)

    def position(cursor: str, *, strictly_after: bool) -> int:
        """Index in the effective order of the first item after (or not before) the cursor position."""
        value, ident = decode_cursor(cursor)
        k = _key(value, ident)
        try:
            if not reverse:
                return bisect.bisect_right(keys, k) if strictly_after else bisect.bisect_left(keys, k)
            return n - bisect.bisect_left(keys, k) if strictly_after else n - bisect.bisect_right(keys, k)
        except TypeError as exc:
            raise SearchError(f"Invalid cursor for current pagination sort: {cursor!r}") from exc

    lo = position(after, strictly_after=True) if after else 0
    hi = position(before, strictly_after=False) if before else n
    hi = max(lo, hi)
    if first is not None and hi - lo > first:
        hi = lo + first
    if last is not None and hi - lo > last:
        lo = hi - last
    picked = [order[i] for i in range(lo, hi)]
    window = [items.items[i] for i in picked]
    cursors = [encode_cursor(items.ids[i], items.values[i]) for i in picked]
    return Page(items=window, cursors=cursors, has_next_page=hi < n, has_previous_page=lo > 0)
