"""The Admin GraphQL endpoint: authenticate, parse, validate, cost, throttle, execute, answer.

Framework-free: :func:`handle_graphql` takes the raw request parts and returns ``(status, body, headers)``.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    execute,
    get_named_type,
    parse,
    print_ast,
    validate,
    visit,
)
from graphql.execution.values import get_variable_values

import devstore.bulk  # noqa: F401  (registers the bulk operation resolvers)
from devstore.config import DevstoreConfig
from devstore.cost import CostCalculator, LeakyBucket, ThrottleStatus
from devstore.errors import NotFound
from devstore.gql_errors import shopify_validation_errors, syntax_error
from devstore.records import Shop
from devstore.resolvers import Context, field_resolver, type_resolver
from devstore.schema import admin_schema, required_scopes, scope_items
from devstore.state import Store

logger = logging.getLogger(__name__)

INVALID_TOKEN_BODY = {
    "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
}
DEPRECATION_HEADER = "X-Shopify-API-Deprecated-Reason"
DEPRECATION_URL = "https://shopify.dev/api/usage/versioning#deprecation-practices"
THROTTLE_DOCS = "https://shopify.dev/api/usage/rate-limits"


@dataclass
class GraphQLResponse:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def _cost_ext(requested: int | None, actual: int | None, status: ThrottleStatus) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": status.as_json(),
        }
    }


def _variable_error(
    err: GraphQLError, var_types: dict[str, str], variables: dict[str, Any]
) -> dict[str, Any]:
    """graphql-ruby's form: ``Variable $id of type ID! was provided invalid value[ for a.b (explanation)]``."""
    m = re.match(r"^Variable '\$(\w+)' has invalid value(?: at ([^:]+))?: (.*)$", err.message, re.DOTALL)
    name, where, detail = (m.group(1), m.group(2), m.group(3)) if m else ("?", None, err.message)
    path = [p for p in re.split(r"[.\[\]]+", where or "") if p]
    unknown = re.search(r"Expected value of type '([^']+)' not to include unknown field '([^']+)'", detail)
    if "to be provided" in detail or "not to be None" in detail:
        explanation = "Expected value to not be null"
    elif unknown:
        path.append(unknown.group(2))
        explanation = f"Field is not defined on {unknown.group(1)}"
    else:
        explanation = detail.rstrip(".")
    suffix = f" for {'.'.join(path)} ({explanation})" if path else ""
    return {
        "message": f"Variable ${name} of type {var_types.get(name, '?')} was provided invalid value{suffix}",
        "locations": [{"line": loc.line, "column": loc.column} for loc in (err.locations or [])],
        "extensions": {
            "value": variables.get(name),
            "problems": [{"path": path, "explanation": explanation}],
        },
    }


def _uses_deprecated(doc: DocumentNode) -> list[str]:
    """Deprecated fields, arguments and enum values a document uses."""
    schema = admin_schema()
    type_info = TypeInfo(schema)
    found: list[str] = []

    class DeprecationVisitor(Visitor):
        def enter_field(self, node: FieldNode, *_: Any) -> None:
            fdef = type_info.get_field_def()
            parent = type_info.get_parent_type()
            if fdef is not None and fdef.deprecation_reason is not None and parent is not None:
                found.append(f"{parent.name}.{node.name.value}")

        def enter_argument(self, node: Any, *_: Any) -> None:
            arg = type_info.get_argument()
            if arg is not None and arg.deprecation_reason is not None:
                found.append(f"argument {node.name.value}")

        def enter_enum_value(self, node: Any, *_: Any) -> None:
            enum_type = get_named_type(type_info.get_input_type())
            values = getattr(enum_type, "values", {})
            value = values.get(node.value)
            if value is not None and value.deprecation_reason is not None:
                found.append(f"{enum_type.name}.{node.value}")

    visit(doc, TypeInfoVisitor(type_info, DeprecationVisitor()))
    return found


def _check_scopes(op: OperationDefinitionNode, granted: set[str]) -> list[dict[str, Any]]:
    """Root fields the token's scopes do not cover, as Shopify's ACCESS_DENIED errors."""
    schema = admin_schema()
    root = schema.mutation_type if op.operation.value == "mutation" else schema.query_type
    assert root is not None
    scopes = required_scopes()
    items = scope_items()
    errors = []
    for sel in op.selection_set.selections:
        if not isinstance(sel, FieldNode) or sel.name.value.startswith("__"):
            continue
        fdef = root.fields.get(sel.name.value)
        if fdef is None:
            continue
        key: tuple[str, str] = (root.name, sel.name.value)
        needed = scopes.get(key, ())
        if not needed:
            named = get_named_type(fdef.type)
            node_name = named.name.removesuffix("Connection")
            key = (node_name, "")
            needed = scopes.get(key, ())
        if not needed:
            continue
        have = set(granted) | {s.replace("write_", "read_", 1) for s in granted if s.startswith("write_")}
        if not have.intersection(needed):
            required = items.get(key, {}).get("requiredAccess") or f"`{needed[0]}` access scope."
            errors.append(
                {
                    "message": f"Access denied for {sel.name.value} field. Required access: {required}",
                    "locations": [
                        {
                            "line": sel.loc.source.get_location(sel.loc.start).line,
                            "column": sel.loc.source.get_location(sel.loc.start).column,
                        }
                    ]
                    if sel.loc
                    else [],
                    "path": [sel.alias.value if sel.alias else sel.name.value],
                    "extensions": {
                        "code": "ACCESS_DENIED",
                        "documentation": "https://shopify.dev/api/usage/access-scopes",
                        "requiredAccess": required,
                    },
                }
            )
    return errors


def _format_exec_error(err: GraphQLError) -> dict[str, Any]:
    out: dict[str, Any] = {"message": err.message}
    if err.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in err.locations]
    if err.path:
        out["path"] = list(err.path)
    if err.extensions:
        out["extensions"] = dict(err.extensions)
    if err.original_error is not None and not isinstance(err.original_error, GraphQLError):
        logger.exception("devstore resolver crashed", exc_info=err.original_error)
        out["message"] = f"Internal error: {type(err.original_error).__name__}: {err.original_error}"
        out["extensions"] = {"code": "INTERNAL_SERVER_ERROR"}
    return out


@functools.lru_cache(maxsize=512)
def prepare_document(query: str) -> tuple[DocumentNode, list[dict[str, Any]]]:
    """Parse and validate once per distinct document text (apps send the same few documents repeatedly)."""
    try:
        doc = parse(query)
    except GraphQLError as exc:
        return DocumentNode(definitions=()), [syntax_error(exc)]
    schema = admin_schema()
    errors = validate(schema, doc)
    return doc, shopify_validation_errors(errors, doc, schema) if errors else []


@functools.lru_cache(maxsize=512)
def deprecated_usage(query: str) -> tuple[str, ...]:
    doc, problems = prepare_document(query)
    return () if problems else tuple(_uses_deprecated(doc))


def rate_limit(shop: Shop, config: DevstoreConfig) -> tuple[float, float]:
    """The shop's bucket: the config's when it sets one for every shop, else the shop's (plan or control API)."""
    if config.bucket_size is not None and config.restore_rate is not None:
        return (config.bucket_size, config.restore_rate)
    return shop.api_rate_limit


def handle_graphql(
    *,
    store: Store,
    config: DevstoreConfig,
    bucket: LeakyBucket,
    shop_domain: str,
    access_token: str | None,
    raw_body: bytes,
    content_type: str,
    base_url: str,
) -> GraphQLResponse:
    try:
        shop = store.get_shop(shop_domain)
    except NotFound:
        return GraphQLResponse(404, {"errors": "Not Found"})
    now = store.now()
    with store.lock:
        token = store.access_tokens.get(access_token or "")
    if (
        token is None
        or token.shop != shop.domain
        or token.client_id not in shop.installs
        or (token.expires_at is not None and token.expires_at <= now)
    ):
        return GraphQLResponse(401, dict(INVALID_TOKEN_BODY))

    # Body: JSON {"query", "variables", "operationName"} or application/graphql (the raw document).
    if content_type.startswith("application/graphql"):
        query, variables, operation_name = raw_body.decode("utf-8", "replace"), {}, None
    else:
        try:
            payload = json.loads(raw_body or b"null")
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return GraphQLResponse(400, {"errors": {"query": "Required parameter missing or invalid"}})
        query = payload["query"]
        variables = payload.get("variables") or {}
        operation_name = payload.get("operationName")
        if isinstance(variables, str):
            try:
                variables = json.loads(variables) if variables.strip() else {}
            except ValueError:
                variables = None
        if not isinstance(variables, dict):
            return GraphQLResponse(400, {"errors": {"variables": "must be a JSON object"}})

    bucket_key = (shop.domain, token.client_id)
    limit = rate_limit(shop, config)
    idle = bucket.status(bucket_key, limit)

    def fail(errors: list[dict[str, Any]], requested: int | None = 0) -> GraphQLResponse:
        return GraphQLResponse(200, {"errors": errors, "extensions": _cost_ext(requested, None, idle)})

    doc, problems = prepare_document(query)
    if problems:
        return fail(problems)
    schema = admin_schema()

    operations = [d for d in doc.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        chosen = [o for o in operations if o.name and o.name.value == operation_name]
        if not chosen:
            return fail([{"message": f'No operation named "{operation_name}"'}])
        op = chosen[0]
    elif len(operations) == 1:
        op = operations[0]
    else:
        return fail([{"message": "An operation name is required"}])
    if op.operation.value == "subscription":
        return fail(
            [
                {
                    "message": "Subscriptions are not supported by the Admin API",
                    "extensions": {"code": "DEVSTORE_NOT_IMPLEMENTED"},
                }
            ]
        )

    var_types = {v.variable.name.value: _type_str(v.type) for v in op.variable_definitions or ()}
    coerced = get_variable_values(schema, op.variable_definitions or (), variables)
    if isinstance(coerced, list):
        return fail([_variable_error(e, var_types, variables) for e in coerced])

    fragments = {d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)}
    calculator = CostCalculator(schema, fragments, coerced)
    requested = calculator.operation_cost(op)
    if requested > config.max_query_cost:
        return fail(
            [
                {
                    "message": f"Query cost is {requested}, which exceeds the single query max cost limit "
                    f"({config.max_query_cost}).\n\nSee {THROTTLE_DOCS} for more information on how the\ncost of a query "
                    "is calculated.\n\nTo query larger amounts of data with fewer limits, bulk operations should be used "
                    "instead.\nSee https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n",
                    "extensions": {
                        "code": "MAX_COST_EXCEEDED",
                        "cost": requested,
                        "maxCost": config.max_query_cost,
                    },
                }
            ],
            requested,
        )

    access_errors = _check_scopes(op, set(token.scopes))
    if access_errors:
        return GraphQLResponse(
            200, {"errors": access_errors, "data": None, "extensions": _cost_ext(requested, None, idle)}
        )

    ok, status = bucket.take(bucket_key, requested, limit)
    if not ok:
        return GraphQLResponse(
            200,
            {
                "errors": [
                    {
                        "message": "Throttled",
                        "extensions": {"code": "THROTTLED", "documentation": THROTTLE_DOCS},
                    }
                ],
                "extensions": _cost_ext(requested, None, status),
            },
        )

    context = Context(store=store, config=config, shop=shop, token=token, base_url=base_url, now=now)
    # A single-document restriction keeps execution on one operation even if the document holds several.
    exec_doc = DocumentNode(definitions=(op, *fragments.values()))
    result = execute(
        schema,
        exec_doc,
        variable_values=variables,
        context_value=context,
        field_resolver=field_resolver,
        type_resolver=type_resolver,
    )
    if hasattr(result, "__await__"):  # pragma: no cover - resolvers are synchronous
        raise RuntimeError("devstore resolvers must be synchronous")
    data = result.data  # type: ignore[union-attr]
    actual = calculator.operation_cost(op, data if data is not None else {})
    status = bucket.refund(bucket_key, requested - actual, limit)

    for product_id in sorted(context.changed_products):
        if product_id in shop.products:
            store.emit("products/update", shop, {"product_id": product_id})

    body: dict[str, Any] = {}
    if result.errors:  # type: ignore[union-attr]
        body["errors"] = [_format_exec_error(e) for e in result.errors]  # type: ignore[union-attr]
    body["data"] = data
    extensions = _cost_ext(requested, actual, status)
    if context.search_warnings:
        extensions["search"] = context.search_warnings
    body["extensions"] = extensions
    headers = {}
    deprecated = deprecated_usage(query)
    if deprecated:
        headers[DEPRECATION_HEADER] = DEPRECATION_URL
        logger.info("deprecated Admin API usage: %s", ", ".join(deprecated))
    return GraphQLResponse(200, body, headers)


def _type_str(node: Any) -> str:
    return print_ast(node)
