"""app/uninstalled: forget the tokens, stop scans and queued work; keep the data until shop/redact."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlmodel import Session, select

from shop_app.jobs import commands
from shop_app.models.base import utcnow
from shop_app.models.core import Shop
from shop_app.models.jobs import QUEUED, Job
from webhooks.delivery import WebhookDelivery
from webhooks.handling import Outcome

logger = logging.getLogger(__name__)

TOPIC = "app/uninstalled"
# Shopify's timestamps have second precision and our install time is when we first exchanged a token.
CLOCK_SLACK = timedelta(seconds=2)


def handle(session: Session, delivery: WebhookDelivery, shop: Shop | None) -> Outcome:
    if shop is None:
        return Outcome("unknown_shop")
    if (
        delivery.triggered_at
        and shop.installed_at
        and delivery.triggered_at + CLOCK_SLACK < shop.installed_at
    ):
        # A late delivery from before the current install (uninstall → reinstall → this arrives).
        return Outcome("stale")
    now = utcnow()
    shop.access_token_enc = None
    shop.access_token_expires_at = None
    shop.refresh_token_enc = None
    shop.refresh_token_expires_at = None
    shop.needs_reauth = False
    shop.uninstalled_at = shop.uninstalled_at or now
    shop.updated_at = now
    session.add(shop)
    canceled = 0
    for job in session.exec(select(Job).where(Job.shop_id == shop.id, Job.status == QUEUED)).all():
        commands.cancel(session, job)
        canceled += 1
    session.flush()
    logger.info("%s uninstalled Nu3D: tokens revoked, %d queued generations canceled", shop.domain, canceled)
    return Outcome(f"uninstalled; canceled {canceled}")
