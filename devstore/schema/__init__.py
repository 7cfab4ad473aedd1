"""Shopify's Admin GraphQL schema (2026-10) as introspection JSON, shipped as package data.

Origin: the @shopify/dev-mcp 1.16.0 npm package (ISC licence), file `admin_2026-10.json.gz`.
"""

from __future__ import annotations

import functools
import gzip
import json
from importlib import resources
from typing import Any

from graphql import GraphQLSchema, build_client_schema

API_VERSION = "2026-10"
SCHEMA_FILENAME = "admin_2026-10.json.gz"


def schema_path() -> str:
    """Filesystem path of the bundled schema file (for tests and tools)."""
    return str(resources.files(__name__).joinpath(SCHEMA_FILENAME))


@functools.cache
def load_introspection() -> dict[str, Any]:
    """The parsed introspection document: ``{"data": {"__schema": ...}, "offline_scopes": {...}}``."""
    with resources.files(__name__).joinpath(SCHEMA_FILENAME).open("rb") as raw, gzip.open(raw) as fh:
        return json.load(fh)


@functools.cache
def admin_schema() -> GraphQLSchema:
    """Shopify's Admin API schema as a graphql-core schema (built once per process, ~1 s).

    graphql-core 3.3 rejects Shopify's schema at validation time because some implementations deprecate
    interface fields (``ChannelDefinition.id``) that the interface does not. Shopify's own server accepts
    that, so the schema is marked as already validated instead of being rewritten.
    """
    schema = build_client_schema(load_introspection()["data"])
    schema._validation_errors = []  # noqa: SLF001 - graphql-core's documented cache of schema validation
    return schema


@functools.cache
def required_scopes() -> dict[tuple[str, str], tuple[str, ...]]:
    """Map (typeName, fieldName) of root fields to the offline scopes Shopify lists for them.

    A type-level entry is stored under (typeName, "").
    """
    out: dict[tuple[str, str], tuple[str, ...]] = {}
    for item in load_introspection().get("offline_scopes", {}).get("items", []):
        key = (item.get("typeName", ""), item.get("fieldName", "") if item.get("type") == "field" else "")
        out[key] = tuple(item.get("offlineScopes") or ())
    return out


@functools.cache
def scope_items() -> dict[tuple[str, str], dict[str, Any]]:
    """The schema's access-scope table keyed like :func:`required_scopes` (with ``requiredAccess`` text)."""
    return {
        (item.get("typeName", ""), item.get("fieldName", "") if item.get("type") == "field" else ""): item
        for item in load_introspection().get("offline_scopes", {}).get("items", [])
    }
