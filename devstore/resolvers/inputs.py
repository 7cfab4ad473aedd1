"""Helpers for mutation and argument inputs: which input fields a client set, and user errors."""

from __future__ import annotations

import functools
from typing import Any

from graphql import parse_value, value_from_ast


@functools.cache
def _input_defaults(type_name: str) -> dict[str, Any]:
    """Default values of an input type's fields, from the introspection data (coercion fills these in)."""
    from devstore.schema import admin_schema, load_introspection

    input_type = admin_schema().get_type(type_name)
    out: dict[str, Any] = {}
    for t in load_introspection()["data"]["__schema"]["types"]:
        if t["name"] == type_name:
            for f in t.get("inputFields") or []:
                if f.get("defaultValue") is not None:
                    out[f["name"]] = value_from_ast(
                        parse_value(f["defaultValue"]), input_type.fields[f["name"]].type
                    )
    return out


def given_fields(type_name: str, value: dict[str, Any]) -> set[str]:
    """Input fields the client set (values equal to the schema default do not count)."""
    defaults = _input_defaults(type_name)
    return {
        name for name, v in value.items() if v is not None and (name not in defaults or v != defaults[name])
    }


def user_error(field_path: list[str] | None, message: str, code: str | None = None) -> dict[str, Any]:
    err: dict[str, Any] = {"field": field_path, "message": message}
    if code is not None:
        err["code"] = code
    return err
