"""OpenAPI description of the project's own API, built from the endpoints' docstrings."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.schemas import SchemaGenerator

SCHEMA = SchemaGenerator(
    {"openapi": "3.0.3", "info": {"title": "Nu3D API", "version": "1.0.0"}},
)


async def openapi(request: Request) -> JSONResponse:
    """The OpenAPI document for this server.
    ---
    responses:
      200: {description: OpenAPI 3 JSON}
    """
    return JSONResponse(SCHEMA.get_schema(routes=request.app.routes))


routes: list[BaseRoute] = [Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False)]
