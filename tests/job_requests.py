"""Submitting jobs straight to the core in tests (what a family does after parsing a request)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from shop_app.jobs.owners import Owner, PrincipalOwner
from shop_app.jobs.submit import Images, Labels, SubmitRequest, submit
from shop_app.models.jobs import Job

TEST_FAMILY = "test"
ANYONE = PrincipalOwner(family=TEST_FAMILY)


def images_of(inputs: dict[str, Any]) -> Images:
    return Images(
        urls=tuple(inputs.get("image_urls") or ()),
        keys=tuple(inputs.get("image_keys") or ()),
        text_prompt=inputs.get("text_prompt"),
    )


def enqueue_job(
    *,
    session: Session,
    inputs: dict[str, Any],
    owner: Owner = ANYONE,
    family: str | None = None,
    labels: Labels = Labels(),  # noqa: B008 - frozen dataclass
    **kwargs: Any,
) -> Job:
    """`submit` with the test family's shared owner unless told otherwise; other keywords are
    SubmitRequest fields (params, priority, idempotency_key, max_attempts, run_after, ...)."""
    if kwargs.get("params") is None:
        kwargs.pop("params", None)
    default_family = owner.family if isinstance(owner, PrincipalOwner) else TEST_FAMILY
    return submit(
        session,
        SubmitRequest(
            family=family or default_family, owner=owner, images=images_of(inputs), labels=labels, **kwargs
        ),
    )
