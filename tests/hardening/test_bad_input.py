"""Bad input gets a documented 400 in the family's error shape, never a 500; nothing is stored."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from shop_app.settings import Settings
from tests.hardening.conftest import job_count, left_behind
from tests.jobs.conftest import files_for, make_key

DEEP = "[" * 100_000 + "]" * 100_000
JSON = {"content-type": "application/json"}
URL = '"image_urls": ["https://cdn.example.com/a.png"]'


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _seed_error(resp: Any) -> str:
    body = resp.json()
    assert set(body) == {"success", "error", "type", "details"} and body["success"] is False, body
    assert body["type"] == "INVALID_DATA"
    return str(body["error"])


def _api_error(resp: Any) -> str:
    detail = resp.json()["detail"]
    assert detail["code"] == "VALIDATION_ERROR", detail
    return str(detail["message"])


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('{"status": {}}', "status must be one of"),
        ('{"status": ["cancelled"]}', "status must be one of"),
        (DEEP, "nested too deeply"),
        ('{"metadata": {"x": 1e400}}', "too large for a number"),
        ('{"metadata": {"x": NaN}}', "NaN is not a JSON number"),
        ('{"status": "cancelled"', "not valid JSON"),
    ],
)
def test_seed_admin_update_refuses_bad_json(client: Any, db: Any, body: str, says: str) -> None:
    admin = {"X-API-Key": make_key(db, "admin"), **JSON}
    resp = client.post("/store/threed-jobs/0", content=body, headers=admin)
    assert resp.status_code == 400, resp.text
    assert says in _seed_error(resp)
    assert client.get("/health").status_code == 200


def test_seed_admin_update_checks_the_key_before_reading_the_body(client: Any) -> None:
    resp = client.post("/store/threed-jobs/0", content=DEEP, headers=JSON)
    assert resp.status_code == 401 and resp.json()["type"] == "UNAUTHORIZED"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("{" + URL + ', "priority": 1e400}', "too large for a number"),
        ("{" + URL + ', "priority": Infinity}', "Infinity is not a JSON number"),
        ("{" + URL + ', "priority": 1.5}', "priority must be an integer"),
        ("{" + URL + ', "params": {"steps": 1e400}}', "too large for a number"),
        ("{" + URL + ', "params": {"steps": -Infinity}}', "is not a JSON number"),
        ("{" + URL + ', "params": {"guidance_scale": NaN}}', "NaN is not a JSON number"),
        (DEEP, "nested too deeply"),
        ("[" * 33 + "]" * 33, "nested too deeply"),
    ],
)
def test_job_api_refuses_bad_json(
    client: Any, api_settings: Settings, db: Any, auth: dict[str, str], body: str, says: str
) -> None:
    resp = client.post("/api/v1/jobs", content=body, headers={**auth, **JSON})
    assert resp.status_code == 400, resp.text
    assert says in _api_error(resp)
    assert job_count(db) == 0 and left_behind(api_settings) == []


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e400"])
@pytest.mark.parametrize("field", ["steps", "guidance_scale", "priority"])
def test_multipart_numbers_that_are_not_finite(
    client: Any, api_settings: Settings, db: Any, auth: dict[str, str], field: str, value: str
) -> None:
    resp = client.post("/api/v1/jobs", files=files_for(1), data={field: value}, headers=auth)
    assert resp.status_code == 400, resp.text
    assert field in _api_error(resp)
    if field != "priority":  # the seed routes take no priority
        seed = client.post("/store/threed-jobs", files=files_for(1, 2, 3, 4), data={field: value})
        assert seed.status_code == 400, seed.text
        assert field.split("_")[0] in _seed_error(seed)
    assert job_count(db) == 0 and left_behind(api_settings) == []


def test_rename_checks_the_key_before_reading_the_body(client: Any, auth: dict[str, str]) -> None:
    assert client.patch("/api/v1/jobs/job_x", content=DEEP, headers=JSON).status_code == 401
    resp = client.patch("/api/v1/jobs/job_x", content=DEEP, headers={**auth, **JSON})
    assert resp.status_code == 400 and "nested too deeply" in _api_error(resp)


@pytest.mark.parametrize(
    "cursor",
    [
        _cursor("2026-01-01T00:00:00|job_x"),  # a time without a zone: we never hand one out
        _cursor("2026-01-01T00:00:00+00:00|"),
        _cursor("99999-01-01|job_x"),
        "not base64 at all!",
    ],
)
def test_bad_cursors(client: Any, auth: dict[str, str], cursor: str) -> None:
    resp = client.get("/api/v1/jobs", params={"cursor": cursor}, headers=auth)
    assert resp.status_code == 400, resp.text
    assert "cursor is not valid" in _api_error(resp)
