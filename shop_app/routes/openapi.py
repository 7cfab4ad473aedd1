"""The OpenAPI document of the project's own API: every route, built from the routes themselves.

Each endpoint's docstring (after `---`) gives what only it knows: its summary, request body, query
parameters and documented answers. The rest is filled in from the routes, so no route can be missing:
path parameters from the path, and the error answers in the shape of the family the path belongs to
(`{"detail": {...}}`, seed 000's `{"success": false, ...}`, or an HTML page for the embedded admin's
pages), as a `default` response plus a schema on every documented 4xx/5xx that has none.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.schemas import SchemaGenerator

SCHEMA = SchemaGenerator(
    {"openapi": "3.0.3", "info": {"title": "Nu3D API", "version": "1.0.0"}},
)

API_ERROR = "ApiError"
COMPONENTS: dict[str, Any] = {
    "schemas": {
        API_ERROR: {
            "type": "object",
            "description": "The error body of /api/v1, the embedded API, webhooks and everything else JSON.",
            "required": ["detail"],
            "properties": {
                "detail": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string", "example": "VALIDATION_ERROR"},
                        "message": {"type": "string"},
                        "details": {"type": "object"},
                    },
                }
            },
        },
    },
    "securitySchemes": {
        "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        "Bearer": {"type": "http", "scheme": "bearer"},
    },
}
HTML_PAGE: dict[str, Any] = {"text/html": {"schema": {"type": "string"}}}
_PARAM = re.compile(r"{([^}:]+)(?::([^}]+))?}")
_CONVERTER_SCHEMA = {"int": {"type": "integer", "minimum": 0}, "float": {"type": "number", "minimum": 0}}


def _error_content(schema_name: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}}


def build_document(
    routes: Sequence[BaseRoute],
    *,
    owner_of: Callable[[str], Any] | None = None,
    html_prefixes: Sequence[str] = ("/app", "/auth"),
    api_key_prefixes: Sequence[str] = ("/api/v1/",),
) -> dict[str, Any]:
    """`owner_of`: the API family a path belongs to (its `error_schema`, when set, is that path's error
    body; `shop_app.web.family.path_owner`);
    `api_key_prefixes`: paths that take an API key (`X-API-Key` or `Authorization: Bearer`)."""
    doc = SCHEMA.get_schema(routes=list(routes))
    components = {"schemas": dict(COMPONENTS["schemas"]), "securitySchemes": COMPONENTS["securitySchemes"]}
    doc["components"] = components
    paths: dict[str, Any] = doc.setdefault("paths", {})
    route_converters = _converters(routes)
    for endpoint in SCHEMA.get_endpoints(list(routes)):
        path = _PARAM.sub(r"{\1}", endpoint.path)
        converters = route_converters.get(path, {})
        op = paths.setdefault(path, {}).setdefault(endpoint.http_method, {})
        first_line = (endpoint.func.__doc__ or "").strip().splitlines()
        op.setdefault("summary", first_line[0] if first_line else f"{endpoint.http_method.upper()} {path}")
        _add_path_parameters(op, path, converters)
        body = op.get("requestBody")
        if isinstance(body, dict) and "content" not in body:  # a docstring that only describes its body
            body["content"] = {"application/json": {"schema": {"type": "object"}}}
        if any(path.startswith(p) for p in api_key_prefixes):
            op.setdefault("security", [{"ApiKey": []}, {"Bearer": []}])
        page = path == "/" or any(path.startswith(p) for p in html_prefixes)
        if path.startswith("/app/api/") or not page:
            # A concrete path ("0" for every parameter), which int and str converters alike match.
            family = owner_of(_PARAM.sub("0", endpoint.path)) if owner_of is not None else None
            shape = API_ERROR
            if family is not None and family.error_schema is not None:
                shape = f"{family.name.title().replace('_', '')}Error"
                components["schemas"][shape] = dict(family.error_schema)
            error: dict[str, Any] = {
                "description": "an error, in this API's error shape",
                "content": _error_content(shape),
            }
        else:
            # A page's errors are pages; a path no page matches gets the JSON 404 of every other route.
            error = {"description": "an error page", "content": {**HTML_PAGE, **_error_content(API_ERROR)}}
        responses = op.setdefault("responses", {})
        for code, response in list(responses.items()):
            responses[code] = response = (
                response if isinstance(response, dict) else {"description": str(response)}
            )
            if str(code)[0] in "45" and "content" not in response:
                response["content"] = error["content"]
        responses.setdefault("default", error)
    return doc


def _converters(routes: Sequence[BaseRoute], prefix: str = "") -> dict[str, dict[str, str]]:
    """{documented path: {parameter: converter}} (SchemaGenerator's paths have the converters removed)."""
    found: dict[str, dict[str, str]] = {}
    for route in routes:
        if isinstance(route, Mount):
            found.update(_converters(route.routes, prefix + route.path))
        elif isinstance(route, Route):
            full = prefix + route.path
            found[_PARAM.sub(r"{\1}", full)] = {name: conv for name, conv in _PARAM.findall(full) if conv}
    return found


def _add_path_parameters(op: dict[str, Any], path: str, converters: dict[str, str]) -> None:
    params = op.setdefault("parameters", [])
    declared = {p.get("name"): p for p in params if p.get("in") == "path"}
    for name, _ in _PARAM.findall(path):
        schema = _CONVERTER_SCHEMA.get(converters.get(name, ""), {"type": "string"})
        if name not in declared:
            params.append({"name": name, "in": "path", "required": True, "schema": dict(schema)})
        elif converters.get(name) in _CONVERTER_SCHEMA:  # the route only matches what its converter reads
            declared[name]["schema"] = dict(schema)


async def openapi(request: Request) -> JSONResponse:
    """The OpenAPI document for this server."""
    return JSONResponse(request.app.state.openapi_document)


routes: list[BaseRoute] = [Route("/openapi.json", openapi, methods=["GET"])]
