"""Every resolver the devstore registers names a real field of Shopify's schema and accepts its arguments."""

from __future__ import annotations

import inspect

from devstore.resolvers import RESOLVERS
from devstore.schema import admin_schema


def test_resolvers_match_the_schema() -> None:
    schema = admin_schema()
    problems = []
    for key, fn in RESOLVERS.items():
        type_name, field_name = key.split(".")
        owner = schema.get_type(type_name)
        fields = getattr(owner, "fields", {})
        if field_name not in fields:
            problems.append(f"{key} is not a field of Shopify's schema")
            continue
        params = inspect.signature(fn).parameters
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        missing = [a for a in fields[field_name].args if a not in params and not takes_any]
        if missing:
            problems.append(f"{key} does not accept argument(s) {missing}")
    assert problems == []
