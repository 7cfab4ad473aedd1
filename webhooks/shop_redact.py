"""shop/redact (48 h after uninstall): delete every row of the shop and the files no other shop uses."""

from __future__ import annotations

import logging

from sqlalchemy import delete
from sqlmodel import Session, select

from shop_app.jobs import commands
from shop_app.models.core import Shop
from shop_app.models.jobs import RUNNING, Job
from shop_app.models.shopify import WebhookEvent
from webhooks.app_uninstalled import CLOCK_SLACK
from webhooks.delivery import WebhookDelivery
from webhooks.handling import Outcome

logger = logging.getLogger(__name__)

TOPIC = "shop/redact"


def handle(session: Session, delivery: WebhookDelivery, shop: Shop | None) -> Outcome:
    # Our record of past deliveries names the shop too; keep only this redaction's own row as the audit trail.
    session.execute(
        delete(WebhookEvent).where(
            WebhookEvent.shop_domain == delivery.shop_domain,  # type: ignore[arg-type]
            WebhookEvent.event_id != delivery.event_id,  # type: ignore[arg-type]
        )
    )
    if shop is None:
        return Outcome("nothing_stored")
    if (
        shop.uninstalled_at is None
        and delivery.triggered_at
        and shop.installed_at
        and shop.installed_at > delivery.triggered_at + CLOCK_SLACK
    ):
        return Outcome("stale; shop reinstalled")
    orphaned: list[str] = []
    jobs = session.exec(select(Job).where(Job.shop_id == shop.id)).all()
    for job in jobs:
        if job.status == RUNNING:
            commands.cancel(session, job)  # the worker's lease check fails once the row is gone
            session.delete(job)
            session.flush()
        else:
            orphaned += commands.delete(session, job)
    domain = shop.domain
    session.delete(shop)  # products, images, scan state, API keys: ON DELETE CASCADE
    session.flush()
    logger.info("redacted %s: %d jobs, %d files", domain, len(jobs), len(orphaned))
    return Outcome(f"redacted; {len(jobs)} jobs", orphaned_keys=orphaned)
