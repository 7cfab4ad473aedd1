"""Connections (edges, nodes, pageInfo) over a list of records, with Shopify's first/last limits."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

from graphql import GraphQLError

from devstore.search import SearchError, SortedItems, paginate

MAX_PAGE_SIZE = 250
# set while a bulk query executes (devstore.bulk): connections then return every item without first/last
BULK_EXECUTION: contextvars.ContextVar[bool] = contextvars.ContextVar("bulk_execution", default=False)


def check_page_args(first: int | None, last: int | None) -> None:
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last")
    for name, value in (("first", first), ("last", last)):
        if value is not None and value < 0:
            raise GraphQLError(f"Argument '{name}' on Field must be a non-negative integer, got {value}")
        if value is not None and value > MAX_PAGE_SIZE:
            raise GraphQLError(
                f"The '{name}' argument may not exceed {MAX_PAGE_SIZE} (got {value}).",
                extensions={"code": "BAD_USER_INPUT"},
            )


def connection(
    items: list[Any] | SortedItems,
    *,
    sort_value: Callable[[Any], Any] | None,
    item_id: Callable[[Any], int] | None,
    wrap: Callable[[Any], Any],
    args: dict[str, Any],
) -> dict[str, Any]:
    if BULK_EXECUTION.get() and args.get("first") is None and args.get("last") is None:
        size = len(items.items) if isinstance(items, SortedItems) else len(items)
        args = {**args, "first": max(1, size)}
    else:
        check_page_args(args.get("first"), args.get("last"))
    try:
        page = paginate(
            items,
            sort_value=sort_value,
            item_id=item_id,
            first=args.get("first"),
            after=args.get("after"),
            last=args.get("last"),
            before=args.get("before"),
            reverse=bool(args.get("reverse")),
        )
    except SearchError as exc:
        raise GraphQLError(str(exc), extensions={"code": "BAD_USER_INPUT"}) from exc
    nodes = [wrap(it) for it in page.items]
    return {
        "edges": [{"cursor": cur, "node": node} for cur, node in zip(page.cursors, nodes, strict=True)],
        "nodes": nodes,
        "pageInfo": {
            "hasNextPage": page.has_next_page,
            "hasPreviousPage": page.has_previous_page,
            "startCursor": page.cursors[0] if page.cursors else None,
            "endCursor": page.cursors[-1] if page.cursors else None,
        },
    }
