"""Every GraphQL document in the app's code validates against Shopify's real Admin 2026-10 schema.

Documents are found two ways: the named operations registry, and every string literal in the app's
packages that parses as a GraphQL operation (so a document added anywhere is checked too).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from graphql import GraphQLError, OperationDefinitionNode, parse, validate

from devstore.schema import admin_schema
from shop_app.shopify.operations import ALL_OPERATIONS

ROOT = Path(__file__).resolve().parents[2]
APP_PACKAGES = ("shop_app", "scheduler", "webhooks", "generation")


def _graphql_literals() -> dict[str, str]:
    found: dict[str, str] = {}
    for package in APP_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                    continue
                text = node.value.strip()
                if not text.startswith(("query", "mutation", "subscription", "{")) or "{" not in text:
                    continue
                try:
                    document = parse(text)
                except GraphQLError:
                    continue
                if any(isinstance(d, OperationDefinitionNode) for d in document.definitions):
                    found[f"{path.relative_to(ROOT)}:{node.lineno}"] = text
    return found


DOCUMENTS = _graphql_literals()


def test_the_scan_finds_the_registered_operations() -> None:
    texts = {text for text in DOCUMENTS.values()}
    for operation in ALL_OPERATIONS:
        assert operation.document.strip() in texts, operation.name


@pytest.mark.parametrize("where", sorted(DOCUMENTS))
def test_document_is_valid_for_admin_2026_10(where: str) -> None:
    errors = validate(admin_schema(), parse(DOCUMENTS[where]))
    assert errors == [], f"{where}: {[e.message for e in errors]}"


@pytest.mark.parametrize("operation", ALL_OPERATIONS, ids=lambda op: op.name)
def test_operation_names_match_their_documents(operation) -> None:  # noqa: ANN001
    [definition] = [
        d for d in parse(operation.document).definitions if isinstance(d, OperationDefinitionNode)
    ]
    assert definition.name is not None and definition.name.value == operation.name


def test_invalid_documents_are_caught() -> None:
    errors = validate(admin_schema(), parse("query Q { product(id: 1) { titel } }"))
    assert any("titel" in e.message for e in errors)


def test_the_bulk_backfill_query_is_a_valid_bulk_query() -> None:
    """The document the backfill hands to bulkOperationRunQuery: valid against the schema, one top-level
    connection, nesting within Shopify's bulk limits."""
    from devstore.bulk import check_query
    from shop_app.shopify.operations import BULK_PRODUCTS_DOCUMENT

    doc, problem = check_query(BULK_PRODUCTS_DOCUMENT)
    assert problem is None and doc is not None
