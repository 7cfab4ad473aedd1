"""The OpenAPI document covers every route, and a bounded schemathesis run over every operation of every
route family (against `nu3d serve` on loopback, with an admin key) finds no server error and no answer
that the document does not describe."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.routing import Mount, Route

from shop_app import migrate
from shop_app.apikeys import create_api_key
from shop_app.db import make_engine, session_scope
from shop_app.settings import DatabaseSettings
from tests.hardening.conftest import served

EXAMPLES_PER_OPERATION = 20  # bounded: the whole run stays well under two minutes on 2 cores
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """`nu3d serve` on a database of its own (the fuzzer's jobs must not leak into other tests)."""
    tmp = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{tmp / 'fuzz.db'}"
    migrate.upgrade(DatabaseSettings(database_url=url))
    engine = make_engine(DatabaseSettings(database_url=url))
    with session_scope(engine) as session:
        _, key = create_api_key(session=session, name="fuzz", scopes=["admin"])
    engine.dispose()
    with served(tmp, url, NU3D_RATE_LIMIT_STORE="", NU3D_RATE_LIMIT_API="") as (base, _log):
        yield base, key


def _app_paths() -> set[str]:
    from shop_app.app import create_app
    from shop_app.settings import load_settings
    from tests.conftest import TEST_FERNET_KEY

    app = create_app(
        load_settings(
            {
                "NU3D_SECRET_KEY": "x" * 32,
                "NU3D_TOKEN_ENCRYPTION_KEY": TEST_FERNET_KEY,
                "SHOPIFY_API_KEY": "id",
                "SHOPIFY_API_SECRET": "y" * 32,
            }
        )
    )
    found: set[str] = set()

    def walk(routes: Any, prefix: str = "") -> None:
        for route in routes:
            if isinstance(route, Mount) and route.routes:
                walk(route.routes, prefix + route.path)
            elif isinstance(route, Route) and route.include_in_schema:
                found.add(re.sub(r"{(\w+):\w+}", r"{\1}", prefix + route.path))

    walk(app.routes)
    return found


def test_every_route_is_documented_with_its_parameters_and_error_shape(server: tuple[str, str]) -> None:
    base, _ = server
    doc = httpx.get(f"{base}/openapi.json", timeout=10).json()
    assert _app_paths() <= set(doc["paths"]), _app_paths() - set(doc["paths"])
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            names = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert names == {seg[1:-1] for seg in path.split("/") if seg.startswith("{")}, (method, path)
            assert "default" in op["responses"], (method, path)
    assert "requestBody" in doc["paths"]["/api/v1/jobs"]["post"]
    assert "multipart/form-data" in doc["paths"]["/store/threed-jobs"]["post"]["requestBody"]["content"]
    store_error = doc["paths"]["/store/threed-jobs"]["get"]["responses"]["default"]["content"]
    assert store_error["application/json"]["schema"]["$ref"].endswith("/StoreError")


def test_fuzzing_every_operation_finds_no_server_error_and_no_undocumented_answer(
    server: tuple[str, str],
) -> None:
    base, key = server
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        if not hasattr(result, "ok"):  # the document itself is broken for this operation
            failures.append(f"unusable operation: {result.err()}")
            continue
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,  # the same cases every run: a failure here is reproducible, never flaky
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            case.call_and_validate(headers={"X-API-Key": key}, checks=CHECKS, timeout=30)

        try:
            check()
        except (Exception, BaseExceptionGroup) as err:  # noqa: BLE001 - collected, reported together below
            failures.append(f"{operation.label}: {str(err)[:1500]}")
    assert operations >= 35
    assert failures == [], "\n\n".join(failures)
    assert httpx.get(f"{base}/health/ready", timeout=10).status_code == 200
