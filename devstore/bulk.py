"""Bulk operations, as Shopify documents them (shopify.dev/docs/api/usage/bulk-operations/queries):

- `bulkOperationRunQuery(query:)` takes a query document with ONE top-level connection, no pagination
  arguments needed (connections return everything), at most 5 connections and 2 levels of nesting; it answers
  a `BulkOperation` in status CREATED/RUNNING at once (one query operation per shop and app at a time:
  `userErrors` "A bulk query operation for this app and shop is already in progress").
- The operation runs in the background; when it ends, `status` COMPLETED (or FAILED with `errorCode`), `url`
  points at a JSONL file, and a `bulk_operations/finish` webhook goes to the app that ran it.
- JSONL: one object per line; every node of a nested connection is its own line carrying `__parentId` (the id
  of the node it belongs to), after its parent; nested connections are left out of the parent's line.
- `currentBulkOperation(type: QUERY)` and `node(id:)` read it.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLResolveInfo,
    OperationDefinitionNode,
    execute,
    parse,
    validate,
)

from devstore.records import to_iso
from devstore.resolvers import (
    BULK_EXECUTION,
    RESOLVERS,
    Context,
    Obj,
    ctx,
    field_resolver,
    gid,
    resolves,
    type_resolver,
)
from devstore.schema import admin_schema
from devstore.state import Store

logger = logging.getLogger(__name__)
MAX_CONNECTIONS = 5
MAX_NESTING = 2


@dataclass
class BulkOperation:
    id: int
    shop: str
    client_id: str
    query: str
    status: str
    created_at: datetime
    completed_at: datetime | None = None
    error_code: str | None = None
    url: str | None = None
    object_count: int = 0
    root_object_count: int = 0
    file_size: int | None = None


def _operations(store: Store) -> dict[int, BulkOperation]:
    return store.bulk_operations


def _connections(selection: Any, depth: int, found: list[int]) -> None:
    for node in getattr(selection, "selections", None) or ():
        if isinstance(node, FieldNode) and node.selection_set is not None:
            names = {s.name.value for s in node.selection_set.selections if isinstance(s, FieldNode)}
            is_connection = bool(names & {"edges", "nodes"})
            if is_connection:
                found.append(depth)
            inner = node.selection_set
            if is_connection:
                for sub in inner.selections:
                    if (
                        isinstance(sub, FieldNode)
                        and sub.name.value in ("edges", "nodes")
                        and sub.selection_set
                    ):
                        inner = sub.selection_set
                        if sub.name.value == "edges":
                            for s2 in sub.selection_set.selections:
                                if isinstance(s2, FieldNode) and s2.name.value == "node" and s2.selection_set:
                                    inner = s2.selection_set
                _connections(inner, depth + 1, found)
            else:
                _connections(inner, depth, found)
        elif getattr(node, "selection_set", None) is not None:  # inline fragments
            _connections(node.selection_set, depth, found)


def check_query(query: str) -> tuple[Any, str | None]:
    """The parsed document, or None and the user error Shopify gives."""
    try:
        doc = parse(query)
    except GraphQLError as err:
        return None, f"Invalid bulk query: {err.message}"
    errors = validate(admin_schema(), doc)
    if errors:
        return None, f"Invalid bulk query: {errors[0].message}"
    ops = [d for d in doc.definitions if isinstance(d, OperationDefinitionNode)]
    if len(ops) != 1 or ops[0].operation.value != "query":
        return None, "Bulk queries must contain exactly one query operation"
    if ops[0].variable_definitions:
        return None, "Bulk queries cannot use variables"
    top = [s for s in ops[0].selection_set.selections if isinstance(s, FieldNode)]
    depths: list[int] = []
    _connections(ops[0].selection_set, 0, depths)
    if not depths or len(top) != 1 or 0 not in depths:
        return None, "Bulk queries must contain exactly one top-level connection field"
    if len(depths) > MAX_CONNECTIONS:
        return None, f"Bulk queries cannot contain more than {MAX_CONNECTIONS} connections"
    if max(depths) > MAX_NESTING:
        return None, f"Bulk queries cannot contain connections nested more than {MAX_NESTING} levels"
    return doc, None


def _is_connection(value: Any) -> bool:
    return isinstance(value, dict) and ("edges" in value or "nodes" in value) and "pageInfo" not in value


def _nodes(connection: dict[str, Any]) -> list[dict[str, Any]]:
    if "edges" in connection:
        return [e["node"] for e in connection["edges"] if isinstance(e, dict) and e.get("node") is not None]
    return [n for n in connection["nodes"] if n is not None]


def flatten(connection: dict[str, Any], parent_id: str | None, lines: list[dict[str, Any]]) -> int:
    """Append the connection's nodes (and their nested connections' nodes) as JSONL objects; returns roots."""
    count = 0
    for node in _nodes(connection):
        own = {k: v for k, v in node.items() if not _is_connection(v)}
        if parent_id is not None:
            own["__parentId"] = parent_id
        lines.append(own)
        count += 1
        for value in node.values():
            if _is_connection(value):
                flatten(value, node.get("id"), lines)
    return count


def run(c: Context, query: str, doc: Any) -> BulkOperation:
    store = c.store
    with store.lock:
        op = BulkOperation(
            id=store.next_id(), shop=c.shop.domain, client_id=c.token.client_id, query=query,
            status="RUNNING", created_at=c.now,
        )  # fmt: skip
        _operations(store)[op.id] = op
    token = BULK_EXECUTION.set(True)
    try:
        result = execute(
            admin_schema(), doc, context_value=c, field_resolver=field_resolver, type_resolver=type_resolver
        )
    finally:
        BULK_EXECUTION.reset(token)
    lines: list[dict[str, Any]] = []
    failed = False
    if result.errors or not result.data:  # type: ignore[union-attr]
        logger.warning("bulk operation %s failed: %s", op.id, result.errors)
        failed = True
    else:
        (top,) = result.data.values()  # type: ignore[union-attr]
        op.root_object_count = flatten(top, None, lines)
        body = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines).encode()
        blob = store.put_blob(body, "application/jsonl")
        op.object_count, op.file_size = len(lines), len(body)
        op.url = f"{store.base_url}/cdn/shop/files/{blob.key}/bulk-{op.id}.jsonl"
    delay = c.config.bulk_processing_s

    def finish() -> None:
        with store.lock:
            if op.status == "RUNNING":
                op.status, op.error_code = (
                    ("FAILED", "INTERNAL_SERVER_ERROR") if failed else ("COMPLETED", None)
                )
            op.completed_at = store.now()
        shop = store.shops.get(op.shop)
        if shop is not None and op.client_id in shop.installs:
            store.emit("bulk_operations/finish", shop, {"client_id": op.client_id, "payload": payload(op)})

    timer = threading.Timer(delay, finish)
    timer.daemon = True
    timer.start()
    return op


def bulk_json(op: BulkOperation) -> Obj:
    return Obj("BulkOperation", op)


@resolves("Mutation.bulkOperationRunQuery")
def resolve_bulk_run_query(source: Any, info: GraphQLResolveInfo, query: str, **_: Any) -> dict[str, Any]:
    del source
    c = ctx(info)
    running = [
        op
        for op in _operations(c.store).values()
        if op.shop == c.shop.domain
        and op.client_id == c.token.client_id
        and op.status in ("CREATED", "RUNNING")
    ]
    if running:
        message = f"A bulk query operation for this app and shop is already in progress: {gid('BulkOperation', running[0].id)}."
        return {
            "bulkOperation": None,
            "userErrors": [{"field": ["query"], "message": message, "code": "OPERATION_IN_PROGRESS"}],
        }
    doc, problem = check_query(query)
    if problem:
        return {
            "bulkOperation": None,
            "userErrors": [{"field": ["query"], "message": problem, "code": "INVALID"}],
        }
    return {"bulkOperation": bulk_json(run(c, query, doc)), "userErrors": []}


@resolves("QueryRoot.currentBulkOperation")
def resolve_current_bulk_operation(source: Any, info: GraphQLResolveInfo, type: str = "QUERY") -> Obj | None:  # noqa: A002
    del source
    c = ctx(info)
    if type != "QUERY":
        return None
    mine = [
        o
        for o in _operations(c.store).values()
        if o.shop == c.shop.domain and o.client_id == c.token.client_id
    ]
    return bulk_json(max(mine, key=lambda o: o.id)) if mine else None


RESOLVERS.update(
    {
        "BulkOperation.id": lambda s, i: gid("BulkOperation", s.value.id),
        "BulkOperation.status": lambda s, i: s.value.status,
        "BulkOperation.errorCode": lambda s, i: s.value.error_code,
        "BulkOperation.createdAt": lambda s, i: to_iso(s.value.created_at),
        "BulkOperation.completedAt": lambda s, i: to_iso(s.value.completed_at),
        "BulkOperation.objectCount": lambda s, i: str(s.value.object_count),
        "BulkOperation.rootObjectCount": lambda s, i: str(s.value.root_object_count),
        "BulkOperation.fileSize": lambda s, i: (
            str(s.value.file_size) if s.value.file_size is not None else None
        ),
        "BulkOperation.url": lambda s, i: s.value.url if s.value.status == "COMPLETED" else None,
        "BulkOperation.partialDataUrl": lambda s, i: None,
        "BulkOperation.query": lambda s, i: s.value.query,
        "BulkOperation.type": lambda s, i: "QUERY",
    }
)


def payload(op: BulkOperation) -> dict[str, Any]:
    """The bulk_operations/finish webhook body (snake_case REST style, as Shopify sends it)."""
    return {
        "admin_graphql_api_id": gid("BulkOperation", op.id),
        "completed_at": to_iso(op.completed_at),
        "created_at": to_iso(op.created_at),
        "error_code": op.error_code.lower() if op.error_code else None,
        "status": op.status.lower(),
        "type": "query",
    }
