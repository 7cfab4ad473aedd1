"""The merchant's per-shop settings: read with defaults, validated updates, and what they mean to the pipeline."""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session, select

from shop_app.errors import ValidationError
from shop_app.jobs.params import PARAM_SPECS
from shop_app.models.base import utcnow
from shop_app.models.core import Shop
from shop_app.models.settings import ShopSettings

logger = logging.getLogger(__name__)

FIELDS = ("auto_generate", "face_limit", "auto_publish", "notify_failures")
_FACE_MIN, _FACE_MAX = (int(v) for v in PARAM_SPECS["face_limit"][1:])


def get_settings(*, session: Session, shop: Shop) -> ShopSettings:
    """The shop's settings; a shop that never saved any gets the defaults (not written)."""
    row = session.get(ShopSettings, shop.id)
    return row if row is not None else ShopSettings(shop_id=shop.id)  # type: ignore[arg-type]


def as_json(row: ShopSettings) -> dict[str, Any]:
    return {name: getattr(row, name) for name in FIELDS} | {"face_limit_range": [_FACE_MIN, _FACE_MAX]}


def _validate(body: Any) -> dict[str, Any]:
    """Every problem at once, keyed by field, so the form can show each next to its input."""
    if not isinstance(body, dict):
        raise ValidationError("send the settings as a JSON object")
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name in body:
        if name not in FIELDS:
            errors[name] = f"unknown setting; known settings: {', '.join(FIELDS)}"
    for name in ("auto_generate", "auto_publish", "notify_failures"):
        if name in body:
            if isinstance(body[name], bool):
                values[name] = body[name]
            else:
                errors[name] = "must be true or false"
    if "face_limit" in body:
        value = body["face_limit"]
        if value is None:
            values["face_limit"] = None
        elif isinstance(value, bool) or not isinstance(value, int):
            errors["face_limit"] = f"must be a whole number of faces from {_FACE_MIN:,} to {_FACE_MAX:,}"
        elif not _FACE_MIN <= value <= _FACE_MAX:
            errors["face_limit"] = f"must be from {_FACE_MIN:,} to {_FACE_MAX:,} faces, got {value:,}"
        else:
            values["face_limit"] = value
    if errors:
        first = next(iter(errors))
        raise ValidationError(f"{first} {errors[first]}", details={"fields": errors})
    return values


def update_settings(*, session: Session, shop: Shop, body: Any) -> ShopSettings:
    """Apply the fields present in `body` (all validated before anything is written)."""
    values = _validate(body)
    row = session.get(ShopSettings, shop.id) or ShopSettings(shop_id=shop.id)  # type: ignore[arg-type]
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    logger.info("settings of %s: %s", shop.domain, values)
    return row


def generates_automatically(*, session: Session, shop: Shop) -> bool:
    """New and changed products get models without being asked (product sync checks this)."""
    return get_settings(session=session, shop=shop).auto_generate


def engine_params(*, session: Session, shop: Shop) -> dict[str, Any]:
    """Engine params every generation of the shop is queued with."""
    face_limit = get_settings(session=session, shop=shop).face_limit
    return {"face_limit": face_limit} if face_limit else {}


def auto_publish_shop_ids(*, session: Session) -> list[int]:
    return list(session.exec(select(ShopSettings.shop_id).where(ShopSettings.auto_publish.is_(True))).all())  # type: ignore[attr-defined]
