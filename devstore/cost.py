"""Query cost as Shopify documents it, and the per-app, per-shop leaky bucket.

Requested cost is computed from the document before execution: scalars and enums cost 0, objects 1, a
connection 2 plus ``first``/``last`` times the cost of one node, a list field taking ``ids`` costs one
child per id, and a mutation's root field 10. For an abstract type the most expensive fragment counts.
Actual cost is the same walk over the data that came back, with each connection's real size.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
    value_from_ast,
)

MUTATION_COST = 10
CONNECTION_BASE_COST = 2


def _is_connection(named: GraphQLNamedType) -> bool:
    return named.name.endswith("Connection") and isinstance(named, GraphQLObjectType)


class CostCalculator:
    """Computes requested (``data is None``) or actual (``data`` given) cost of one operation."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: Any,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        # graphql-core 3.3 returns VariableValues (values under `.coerced`); 3.2 returns a plain dict.
        # value_from_ast needs the dict, or every `first: $first` prices as 0 nodes.
        self.variables: dict[str, Any] = getattr(variables, "coerced", variables)

    def operation_cost(self, op: OperationDefinitionNode, data: Any = None) -> int:
        root = self.schema.mutation_type if op.operation.value == "mutation" else self.schema.query_type
        assert root is not None
        total = 0
        for fnode, parent in self._fields(op.selection_set, root):
            sub = data.get(_key(fnode)) if isinstance(data, dict) else None
            if data is not None and sub is None:
                # an errored or null root field costs nothing beyond the mutation base
                total += MUTATION_COST if op.operation.value == "mutation" else 0
                continue
            cost = self._field_cost(fnode, parent, sub, data is not None)
            if op.operation.value == "mutation":
                cost += MUTATION_COST - (1 if cost else 0)
            total += cost
        return total

    def _fields(self, sel: SelectionSetNode | None, parent: GraphQLNamedType) -> list[tuple[FieldNode, Any]]:
        """Direct fields of ``sel`` plus, for fragments, the costliest fragment's fields (flattened)."""
        out: list[tuple[FieldNode, Any]] = []
        if sel is None:
            return out
        for node in sel.selections:
            if isinstance(node, FieldNode):
                out.append((node, parent))
            elif isinstance(node, InlineFragmentNode | FragmentSpreadNode):
                if isinstance(node, FragmentSpreadNode):
                    frag = self.fragments.get(node.name.value)
                    if frag is None:
                        continue
                    cond_name, inner = frag.type_condition.name.value, frag.selection_set
                else:
                    cond_name = node.type_condition.name.value if node.type_condition else parent.name
                    inner = node.selection_set
                cond = self.schema.get_type(cond_name) or parent
                out.extend(self._fields(inner, cond))
        return out

    def _selection_cost(
        self, sel: SelectionSetNode | None, parent: GraphQLNamedType, data: Any, actual: bool
    ) -> int:
        if sel is None:
            return 0
        if actual and data is None:
            return 0
        if is_abstract_type(parent) and not actual:
            # max over the possible types' selections
            best = 0
            for possible in self.schema.get_possible_types(parent):  # type: ignore[arg-type]
                fields = [(f, p) for f, p in self._fields(sel, parent) if p is parent or p is possible]
                best = max(best, sum(self._field_cost(f, possible, None, False) for f, _ in fields))
            return best
        total = 0
        seen: set[str] = set()
        for fnode, ptype in self._fields(sel, parent):
            key = _key(fnode)
            if actual:
                # the result holds exactly the fields that applied to the concrete type; count each key once
                if not isinstance(data, dict) or key not in data or key in seen:
                    continue
                seen.add(key)
                owner = ptype if not is_abstract_type(ptype) else parent
                fdef_owner = owner if fnode.name.value in getattr(owner, "fields", {}) else None
                if fdef_owner is None:
                    for possible in (
                        self.schema.get_possible_types(parent) if is_abstract_type(parent) else ()
                    ):
                        if fnode.name.value in possible.fields:
                            fdef_owner = possible
                            break
                total += self._field_cost(fnode, fdef_owner or ptype, data.get(key), True)
            else:
                total += self._field_cost(fnode, ptype, None, False)
        return total

    def _field_cost(self, fnode: FieldNode, parent: Any, data: Any, actual: bool) -> int:
        name = fnode.name.value
        if name.startswith("__"):
            return 0
        fdef = getattr(parent, "fields", {}).get(name) if hasattr(parent, "fields") else None
        if fdef is None:
            return 0
        named = get_named_type(fdef.type)
        if is_leaf_type(named):
            return 0
        args = self._args(fnode, fdef)
        if _is_connection(named):
            size = args.get("first") or args.get("last") or 0
            node_type = self._connection_node_type(named)
            if actual:
                items = []
                if isinstance(data, dict):
                    items = data.get("nodes") or [e.get("node") for e in data.get("edges") or [] if e]
                    # a connection that selected both edges and nodes is charged once per node
                per_node = max(
                    (self._node_cost(fnode.selection_set, named, node_type, item) for item in items),
                    default=0,
                )
                return CONNECTION_BASE_COST + len(items) * per_node
            return CONNECTION_BASE_COST + int(size) * self._node_cost(
                fnode.selection_set, named, node_type, None
            )
        list_type = _unwrap_nonnull(fdef.type)
        if isinstance(list_type, GraphQLList):
            if actual:
                items = data if isinstance(data, list) else []
                return sum(
                    1 + self._selection_cost(fnode.selection_set, named, it, True) for it in items if it
                )
            count = len(args["ids"]) if isinstance(args.get("ids"), list) else 1
            return count * (1 + self._selection_cost(fnode.selection_set, named, None, False))
        if actual and data is None:
            return 0
        return 1 + self._selection_cost(fnode.selection_set, named, data, actual)

    def _connection_node_type(self, conn: GraphQLNamedType) -> GraphQLNamedType | None:
        nodes = getattr(conn, "fields", {}).get("nodes")
        return get_named_type(nodes.type) if nodes is not None else None

    def _node_cost(
        self, sel: SelectionSetNode | None, conn: GraphQLNamedType, node_type: Any, item: Any
    ) -> int:
        """Cost of one node: the object itself (1) plus its selections, under ``nodes`` or ``edges.node``."""
        if node_type is None:
            return 1
        best = 0
        for fnode, _ in self._fields(sel, conn):
            if fnode.name.value == "nodes":
                best = max(
                    best, 1 + self._selection_cost(fnode.selection_set, node_type, item, item is not None)
                )
            elif fnode.name.value == "edges":
                edge_type = get_named_type(conn.fields["edges"].type)  # type: ignore[attr-defined]
                for efield, _ in self._fields(fnode.selection_set, edge_type):
                    if efield.name.value == "node":
                        best = max(
                            best,
                            1 + self._selection_cost(efield.selection_set, node_type, item, item is not None),
                        )
        return best or 1

    def _args(self, fnode: FieldNode, fdef: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for arg in fnode.arguments or ():
            adef = fdef.args.get(arg.name.value)
            if adef is None:
                continue
            try:
                out[arg.name.value] = value_from_ast(arg.value, adef.type, self.variables)
            except Exception:  # noqa: BLE001 - invalid values are reported by validation, not by cost
                continue
        return out


def _unwrap_nonnull(t: Any) -> Any:
    return t.of_type if isinstance(t, GraphQLNonNull) else t


def _key(fnode: FieldNode) -> str:
    return fnode.alias.value if fnode.alias else fnode.name.value


@dataclass
class ThrottleStatus:
    maximum_available: float
    currently_available: float
    restore_rate: float

    def as_json(self) -> dict[str, float]:
        return {
            "maximumAvailable": float(self.maximum_available),
            "currentlyAvailable": int(self.currently_available),
            "restoreRate": float(self.restore_rate),
        }


class LeakyBucket:
    """One bucket per (shop, app). ``take`` charges the requested cost up front; ``refund`` returns the
    difference between requested and actual cost after execution, as Shopify does. Each call names the
    bucket's ``limit`` (size, restore rate): Shopify sizes them by the shop's plan; without one, the
    bucket's own defaults apply."""

    def __init__(self, size: float, restore_rate: float, clock: Any = time.monotonic) -> None:
        self.size = size
        self.restore_rate = restore_rate
        self.clock = clock
        self._available: dict[tuple[str, str], tuple[float, float]] = {}
        self._lock = threading.Lock()

    def _limit(self, limit: tuple[float, float] | None) -> tuple[float, float]:
        return limit if limit is not None else (self.size, self.restore_rate)

    def _level(self, key: tuple[str, str], now: float, size: float, rate: float) -> float:
        level, at = self._available.get(key, (size, now))
        return min(size, level + (now - at) * rate)

    def take(
        self, key: tuple[str, str], cost: float, limit: tuple[float, float] | None = None
    ) -> tuple[bool, ThrottleStatus]:
        size, rate = self._limit(limit)
        with self._lock:
            now = self.clock()
            level = self._level(key, now, size, rate)
            ok = cost <= level
            if ok:
                level -= cost
            self._available[key] = (level, now)
            return ok, ThrottleStatus(size, level, rate)

    def refund(
        self, key: tuple[str, str], points: float, limit: tuple[float, float] | None = None
    ) -> ThrottleStatus:
        """Return unused points. The level is reported as of the request's start (``take``), so the answer
        does not depend on how long execution took; restoration since then still accrues for the next call."""
        size, rate = self._limit(limit)
        with self._lock:
            now = self.clock()
            level, at = self._available.get(key, (size, now))
            level = min(size, level + max(0.0, points))
            self._available[key] = (level, at)
            return ThrottleStatus(size, level, rate)

    def status(self, key: tuple[str, str], limit: tuple[float, float] | None = None) -> ThrottleStatus:
        """The bucket's current level, restoration included, without charging anything."""
        size, rate = self._limit(limit)
        with self._lock:
            return ThrottleStatus(size, self._level(key, self.clock(), size, rate), rate)

    def reset(self) -> None:
        with self._lock:
            self._available.clear()
