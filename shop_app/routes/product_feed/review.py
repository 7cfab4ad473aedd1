"""Approval and caching endpoints for API clients: the embedded UI's rules (shop_app.shopify.review) behind
the shop's API key, in seed 001's envelope.

    GET    /api/nu3d/images/{image_id}/generations?shop=   the photo's (group's) models, newest first
    POST   /api/nu3d/images/{image_id}/approve?shop=       body {"job_id": "..."} optional (default: latest)
    POST   /api/nu3d/images/{image_id}/reject?shop=
    POST   /api/nu3d/images/{image_id}/regenerate?shop=    a NEW model; the previous stays until approved over
    DELETE /api/nu3d/images/{image_id}/approval?shop=      withdraw

`image_id` is the number GET /api/nu3d answers as `image_id`. Every change drops the product's cached answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from shop_app.db import session_scope, write_scope
from shop_app.models.core import Shop
from shop_app.models.shopify import ProductImage
from shop_app.routes.product_feed.common import FeedError, installed_shop, ok
from shop_app.shopify import catalog, review
from shop_app.web.json_body import strict_loads
from shop_app.web.state import app_state

logger = logging.getLogger(__name__)


async def job_id_body(request: Request) -> str | None:
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        body = strict_loads(raw)
    except ValueError:
        raise FeedError('The body must be JSON: {"job_id": "..."} or empty', status_code=400) from None
    if not isinstance(body, dict) or not isinstance(body.get("job_id", ""), str | None):
        raise FeedError("job_id must be a string", status_code=400)
    return body.get("job_id") or None


def _image(session: Session, shop: Shop, image_id: int) -> ProductImage:
    image = catalog.get_image(session=session, shop=shop, image_id=image_id)
    if image is None:
        raise FeedError(f"No image {image_id} in this shop", status_code=404)
    return image


def _image_json(request: Request, session: Session, shop: Shop, image_id: int) -> dict[str, Any] | None:
    view = catalog.get_image_view(session=session, shop=shop, image_id=image_id)
    return view.as_json(request.state.storage.url) if view else None


async def _write(
    request: Request, work: Callable[[Session, Shop, ProductImage], dict[str, Any]]
) -> dict[str, Any]:
    image_id = request.path_params["image_id"]

    def run() -> dict[str, Any]:
        with write_scope(request.state.db) as session:
            shop = installed_shop(request, session, writes=True)
            return work(session, shop, _image(session, shop, image_id))

    answer = await asyncio.to_thread(run)
    app_state(request).feed_pages.clear()  # this process's remembered feed pages predate the change
    return answer


def _decision(action: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        job_id = await job_id_body(request) if action == "approve" else None

        def work(session: Session, shop: Shop, image: ProductImage) -> dict[str, Any]:
            lead, _ = review.lead_of(session=session, shop=shop, image=image)
            result = review.decide(
                session=session, shop=shop, image=lead, action=action, user_id="api", job_id=job_id
            )
            session.flush()
            logger.info("api client: %s %s of %s", action, lead.gid, shop.domain)
            return {"result": result, "image": _image_json(request, session, shop, lead.id)}  # type: ignore[arg-type]

        return ok(f"{action} recorded", await _write(request, work))

    endpoint.__name__ = f"api_{action}_image"
    endpoint.__doc__ = f"""{action.capitalize()} the photo's 3D model (same rules as the embedded UI).
    ---
    responses:
      200: {{description: '{{"success": true, "data": {{"result", "image"}}}}'}}
      401: {{description: 'no or unknown API key'}}
      404: {{description: 'no such image in this shop'}}
      409: {{description: 'no finished model to approve'}}
    """
    return endpoint


approve = _decision("approve")
reject = _decision("reject")
withdraw = _decision("withdraw")


async def regenerate(request: Request) -> Response:
    """Queue a NEW model of the photo (a new seed); the previous one stays until the new one is approved.
    ---
    responses:
      202: {description: '{"success": true, "data": {"job_id", "image"}}'}
      404: {description: 'no such image in this shop'}
      409: {description: 'the photo or product was removed in Shopify'}
    """

    def work(session: Session, shop: Shop, image: ProductImage) -> dict[str, Any]:
        job = review.regenerate(session=session, shop=shop, image=image, user_id="api")
        return {"job_id": job.id, "image": _image_json(request, session, shop, image.id)}  # type: ignore[arg-type]

    return ok("regeneration queued", await _write(request, work), status_code=202)


async def generations(request: Request) -> Response:
    """The photo's (or its multi-view group's) models, newest first.
    ---
    responses:
      200: {description: '{"success": true, "data": {"generations": [...]}}'}
      404: {description: 'no such image in this shop'}
    """
    image_id = request.path_params["image_id"]

    def load() -> dict[str, Any]:
        with session_scope(request.state.db) as session:
            shop = installed_shop(request, session)
            image = _image(session, shop, image_id)
            sign = request.state.storage.url
            return {
                "generations": review.generations_json(session=session, shop=shop, image=image, sign=sign)
            }

    return ok("generations retrieved", await asyncio.to_thread(load))
