"""Translate graphql-core validation errors into the shape Shopify (graphql-ruby) answers with.

Shopify answers an invalid document with HTTP 200 and ``{"errors": [{"message", "locations", "path",
"extensions": {"code", ...}}]}``; for example a misspelled field gives
``Field 'titel' doesn't exist on type 'Product'`` with ``extensions.code == "undefinedField"``. The path
starts with the operation (``"query"``, ``"query Name"``, ``"mutation Name"`` or ``"fragment F"``) and then
names each field, inline fragment (``"... on Type"``) and argument down to the offending node.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    VariableDefinitionNode,
    get_named_type,
    is_enum_type,
    print_ast,
)


def _children(node: Node) -> Iterator[Node]:
    for key in node.keys:
        value = getattr(node, key, None)
        if isinstance(value, Node):
            yield value
        elif isinstance(value, list | tuple):
            for item in value:
                if isinstance(item, Node):
                    yield item


class DocumentIndex:
    """Parent links for every node of a document, to rebuild Shopify-style paths."""

    def __init__(self, doc: DocumentNode) -> None:
        self.parent: dict[int, Node] = {}
        self.doc = doc
        stack: list[Node] = [doc]
        while stack:
            node = stack.pop()
            for child in _children(node):
                self.parent[id(child)] = node
                stack.append(child)

    def ancestors(self, node: Node) -> list[Node]:
        chain = [node]
        while id(chain[-1]) in self.parent:
            chain.append(self.parent[id(chain[-1])])
        return list(reversed(chain))

    def path(self, node: Node | None) -> list[str]:
        if node is None:
            return []
        out: list[str] = []
        for n in self.ancestors(node):
            if isinstance(n, OperationDefinitionNode):
                op = n.operation.value
                out.append(f"{op} {n.name.value}" if n.name else op)
            elif isinstance(n, FragmentDefinitionNode):
                out.append(f"fragment {n.name.value}")
            elif isinstance(n, FieldNode):
                out.append(n.alias.value if n.alias else n.name.value)
            elif isinstance(n, InlineFragmentNode):
                out.append(f"... on {n.type_condition.name.value}" if n.type_condition else "...")
            elif isinstance(n, ArgumentNode):
                out.append(n.name.value)
        return out

    def enclosing(self, node: Node, kind: type) -> Any:
        for n in reversed(self.ancestors(node)):
            if isinstance(n, kind):
                return n
        return None

    def operation_label(self, name: str | None) -> str:
        return name if name else "anonymous query"


Rule = tuple[
    re.Pattern[str], Callable[[re.Match[str], GraphQLError, DocumentIndex, GraphQLSchema], dict[str, Any]]
]


def _r(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.DOTALL)


def _undefined_field(
    m: re.Match[str], e: GraphQLError, idx: DocumentIndex, s: GraphQLSchema
) -> dict[str, Any]:
    del e, idx, s
    return {
        "message": f"Field '{m['f']}' doesn't exist on type '{m['t']}'",
        "extensions": {"code": "undefinedField", "typeName": m["t"], "fieldName": m["f"]},
    }


def _unknown_argument(
    m: re.Match[str], e: GraphQLError, idx: DocumentIndex, s: GraphQLSchema
) -> dict[str, Any]:
    del e, idx, s
    return {
        "message": f"Field '{m['f']}' doesn't accept argument '{m['a']}'",
        "extensions": {
            "code": "argumentNotAccepted",
            "name": m["f"],
            "typeName": "Field",
            "argumentName": m["a"],
        },
    }


def _missing_argument(
    m: re.Match[str], e: GraphQLError, idx: DocumentIndex, s: GraphQLSchema
) -> dict[str, Any]:
    del e, idx, s
    return {
        "message": f"Field '{m['f']}' is missing required arguments: {m['a']}",
        "extensions": {
            "code": "missingRequiredArguments",
            "className": "Field",
            "name": m["f"],
            "arguments": m["a"],
        },
    }


def _no_selection(m: re.Match[str], e: GraphQLError, idx: DocumentIndex, s: GraphQLSchema) -> dict[str, Any]:
    del e, idx, s
    f, ty = m["f"], m["ty"]
    return {
        "message": f"Field must have selections (field '{f}' returns {ty} but has no selections. "
        f"Did you mean '{f} {{ ... }}'?)",
        "extensions": {"code": "selectionMismatch", "nodeName": f"field '{f}'", "typeName": ty.strip("[]!")},
    }


def _leaf_selection(
    m: re.Match[str], e: GraphQLError, idx: DocumentIndex, s: GraphQLSchema
) -> dict[str, Any]:
    del idx
    f, ty = m["f"], m["ty"]
    names: list[str] = []
    node = e.nodes[0] if e.nodes else None
    selection_set = node.selection_set if isinstance(node, FieldNode) else node
    if selection_set is not None and hasattr(selection_set, "selections"):
        names = [sel.name.value for sel in selection_set.selections if isinstance(sel, FieldNode)]
    named = s.get_type(ty.strip("[]!"))
    kind = "enums" if named is not None and is_enum_type(get_named_type(named)) else "scalars"
    return {
        "message": f"Selections can't be made on {kind} (field '{f}' returns {ty.strip('[]!')} but has selections "
        f"[{', '.join(names)}])",
        "extensions": {"code": "selectionMismatch", "nodeName": f"field '{f}'", "typeName": ty.strip("[]!")},
    }


def _var_unused(m: re.Match[str], e: GraphQLError, idx: DocumentIndex, s: GraphQLSchema) -> dict[str, Any]:
    del e, s
    return {
        "message": f"Variable ${m['v']} is declared by {idx.operation_label(m['o'])} but not used",
        "extensions": {"code": "variableNotUsed", "variableName": m["v"]},
    }


def _var_undefined(m: re.Match[str], e: GraphQLError, idx: DocumentIndex, s: GraphQLSchema) -> dict[str, Any]:
    del e, s
    return {
        "message": f"Variable ${m['v']} is used by {idx.operation_label(m['o'])} but not declared",
        "extensions": {"code": "variableNotDefined", "variableName": m["v"]},
    }


def _unknown_type(m: re.Match[str], e: GraphQLError, idx: DocumentIndex, s: GraphQLSchema) -> dict[str, Any]:
    del s
    node = e.nodes[0] if e.nodes else None
    var_def = idx.enclosing(node, VariableDefinitionNode) if node is not None else None
    if var_def is not None:
        return {
            "message": f"{m['t']} isn't a defined input type (on ${var_def.variable.name.value})",
            "extensions": {
                "code": "variableRequiresValidType",
                "typeName": m["t"],
                "variableName": var_def.variable.name.value,
            },
        }
    return {
        "message": f"No such type {m['t']}, so it can't be a fragment condition",
        "extensions": {"code": "undefinedType", "typeName": m["t"]},
    }


def _bad_literal(m: re.Match[str], e: GraphQLError, idx: DocumentIndex, s: GraphQLSchema) -> dict[str, Any]:
    del m, s
    node = e.nodes[0] if e.nodes else None
    arg = idx.enclosing(node, ArgumentNode) if node is not None else None
    fld = idx.enclosing(node, FieldNode) if node is not None else None
    if arg is None or fld is None:
        return {"message": e.message, "extensions": {"code": "argumentLiteralsIncompatible"}}
    return {
        "message": f"Argument '{arg.name.value}' on Field '{fld.name.value}' has an invalid value "
        f"({print_ast(arg.value)}). Expected type '{_expected_type(e.message)}'.",
        "extensions": {
            "code": "argumentLiteralsIncompatible",
            "typeName": "Field",
            "argumentName": arg.name.value,
        },
    }


def _expected_type(message: str) -> str:
    m = re.match(r"^(?:Expected value of type '([^']+)'|(\w+) cannot represent)", message)
    if m:
        return m.group(1) or m.group(2)
    m = re.search(r"type '([^']+)'", message)
    return m.group(1) if m else "unknown"


def _bad_spread(m: re.Match[str], e: GraphQLError, idx: DocumentIndex, s: GraphQLSchema) -> dict[str, Any]:
    del e, idx, s
    frag = m["frag"] or "unknown"
    return {
        "message": f"Fragment {frag + ' ' if m['frag'] else ''}on {m['b']} can't be spread inside {m['a']}",
        "extensions": {
            "code": "cannotSpreadFragment",
            "typeName": m["b"],
            "fragmentName": frag,
            "parentName": m["a"],
        },
    }


def _unknown_fragment(
    m: re.Match[str], e: GraphQLError, idx: DocumentIndex, s: GraphQLSchema
) -> dict[str, Any]:
    del e, idx, s
    return {
        "message": f"Fragment {m['f']} was used, but not defined",
        "extensions": {"code": "useAndDefineFragment", "fragmentName": m["f"]},
    }


def _dup_operation(m: re.Match[str], e: GraphQLError, idx: DocumentIndex, s: GraphQLSchema) -> dict[str, Any]:
    del e, idx, s
    return {
        "message": f'Operation name "{m["o"]}" must be unique',
        "extensions": {"code": "operationNotUnique", "operationName": m["o"]},
    }


def _conflict(m: re.Match[str], e: GraphQLError, idx: DocumentIndex, s: GraphQLSchema) -> dict[str, Any]:
    del e, idx, s
    names = re.search(r"because '([^']+)' and '([^']+)' are different fields", m.string)
    conflicts = f"{names.group(1)} or {names.group(2)}" if names else "different arguments"
    return {
        "message": f"Field '{m['f']}' has a field conflict: {conflicts}?",
        "extensions": {"code": "fieldConflict", "fieldName": m["f"], "conflicts": conflicts},
    }


def _var_mismatch(m: re.Match[str], e: GraphQLError, idx: DocumentIndex, s: GraphQLSchema) -> dict[str, Any]:
    del s
    usage = e.nodes[-1] if e.nodes else None
    arg = idx.enclosing(usage, ArgumentNode) if usage is not None else None
    arg_name = arg.name.value if arg is not None else "unknown"
    have, want = m["have"], m["want"]
    kind = "Nullability mismatch" if have.rstrip("!") == want.rstrip("!") else "Type mismatch"
    return {
        "message": f"{kind} on variable ${m['v']} and argument {arg_name} ({have} / {want})",
        "extensions": {
            "code": "variableMismatch",
            "variableName": m["v"],
            "typeName": have,
            "argumentName": arg_name,
            "errorMessage": kind,
        },
    }


def _unknown_directive(
    m: re.Match[str], e: GraphQLError, idx: DocumentIndex, s: GraphQLSchema
) -> dict[str, Any]:
    del e, idx, s
    return {
        "message": f"Directive @{m['d']} is not defined",
        "extensions": {"code": "undefinedDirective", "directiveName": m["d"]},
    }


def _non_input(m: re.Match[str], e: GraphQLError, idx: DocumentIndex, s: GraphQLSchema) -> dict[str, Any]:
    del e, idx, s
    return {
        "message": f"{m['t']} isn't a valid input type (on ${m['v']})",
        "extensions": {"code": "variableRequiresValidType", "typeName": m["t"], "variableName": m["v"]},
    }


RULES: list[Rule] = [
    (_r(r"^Cannot query field '(?P<f>[^']+)' on type '(?P<t>[^']+)'\."), _undefined_field),
    (_r(r"^Unknown argument '(?P<a>[^']+)' on field '(?P<t>[^'.]+)\.(?P<f>[^']+)'\."), _unknown_argument),
    (
        _r(r"^Argument '(?P<t>[^'.]+)\.(?P<f>[^'(]+)\((?P<a>[^:]+):\)' of type '[^']+' is required"),
        _missing_argument,
    ),
    (_r(r"^Field '(?P<f>[^']+)' of type '(?P<ty>[^']+)' must have a selection of subfields"), _no_selection),
    (
        _r(r"^Field '(?P<f>[^']+)' must not have a selection since type '(?P<ty>[^']+)' has no subfields"),
        _leaf_selection,
    ),
    (_r(r"^Variable '\$(?P<v>\w+)' is never used(?: in operation '(?P<o>[^']+)')?\."), _var_unused),
    (_r(r"^Variable '\$(?P<v>\w+)' is not defined(?: by operation '(?P<o>[^']+)')?\."), _var_undefined),
    (_r(r"^Unknown type '(?P<t>[^']+)'\."), _unknown_type),
    (
        _r(
            r"^(?:\w+ cannot represent|Expected value of type|Enum '[^']+' cannot represent|Field '[^']+' of required "
            r"type|Field '[^']+' is not defined by type)"
        ),
        _bad_literal,
    ),
    (
        _r(
            r"^Fragment (?:'(?P<frag>[^']+)' )?cannot be spread here as objects of type '(?P<a>[^']+)' can never be "
            r"of type '(?P<b>[^']+)'\."
        ),
        _bad_spread,
    ),
    (_r(r"^Unknown fragment '(?P<f>[^']+)'\."), _unknown_fragment),
    (_r(r"^There can be only one operation named '(?P<o>[^']+)'\."), _dup_operation),
    (_r(r"^Fields '(?P<f>[^']+)' conflict"), _conflict),
    (
        _r(
            r"^Variable '\$(?P<v>\w+)' of type '(?P<have>[^']+)' used in position expecting type '(?P<want>[^']+)'\."
        ),
        _var_mismatch,
    ),
    (_r(r"^Unknown directive '@(?P<d>\w+)'\."), _unknown_directive),
    (_r(r"^Variable '\$(?P<v>\w+)' cannot be non-input type '(?P<t>[^']+)'\."), _non_input),
]


def shopify_validation_errors(
    errors: list[GraphQLError], doc: DocumentNode, schema: GraphQLSchema
) -> list[dict[str, Any]]:
    idx = DocumentIndex(doc)
    out: list[dict[str, Any]] = []
    merged_missing: dict[tuple[int, int], dict[str, Any]] = {}
    for err in errors:
        body: dict[str, Any] | None = None
        for pattern, build in RULES:
            m = pattern.match(err.message)
            if m:
                body = build(m, err, idx, schema)
                break
        if body is None:
            body = {"message": err.message, "extensions": {"code": "validationError"}}
        node = err.nodes[0] if err.nodes else None
        locations = [{"line": loc.line, "column": loc.column} for loc in (err.locations or [])]
        result = {
            "message": body["message"],
            "locations": locations[:1] or locations,
            "path": idx.path(node),
            "extensions": body["extensions"],
        }
        if body["extensions"].get("code") == "missingRequiredArguments" and locations:
            key = (locations[0]["line"], locations[0]["column"])
            if key in merged_missing:
                # graphql-ruby reports all missing arguments of one field in one error
                prev = merged_missing[key]
                prev["extensions"]["arguments"] += ", " + result["extensions"]["arguments"]
                prev["message"] = (
                    f"Field '{prev['extensions']['name']}' is missing required arguments: "
                    f"{prev['extensions']['arguments']}"
                )
                continue
            merged_missing[key] = result
        out.append(result)
    return out


def syntax_error(err: GraphQLError) -> dict[str, Any]:
    loc = err.locations[0] if err.locations else None
    detail = err.message.removeprefix("Syntax Error: ").rstrip(".")
    where = f" at [{loc.line}, {loc.column}]" if loc else ""
    return {
        "message": f"Parse error: {detail}{where}",
        "locations": [{"line": loc.line, "column": loc.column}] if loc else [],
        "extensions": {"code": "parseError"},
    }
