"""JSON endpoints of the embedded UI, authenticated by App Bridge session tokens (see session_auth).

Every handler takes the shop from the verified token and passes it to the data functions, which filter
by it: another shop's product or image answers 404, exactly like one that does not exist.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from shop_app.db import session_scope, write_scope
from shop_app.errors import NotFound, ValidationError
from shop_app.jobs import commands
from shop_app.models.jobs import Job
from shop_app.models.shopify import ProductImage
from shop_app.shopify import backfill, catalog, photo_groups, review
from shop_app.web.json_body import strict_loads
from shop_app.web.session_auth import Endpoint, ShopSession, session_token_required

logger = logging.getLogger(__name__)


def _signer(request: Request) -> catalog.SignUrl:
    """Signed, expiring storage URLs for the browser (the model viewer fetches the GLB with them)."""
    return request.state.storage.url


def _int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        raise ValidationError(f"{name} must be an integer from {lo} to {hi}", details={"field": name})
    return int(raw)


async def _json_or_404(
    work: Callable[[], dict[str, Any] | None], missing: str, status_code: int = 200
) -> Response:
    """Run a blocking DB unit of work off the event loop; None means the shop has no such thing (404)."""
    body = await asyncio.to_thread(work)
    if body is None:
        raise NotFound(missing)
    return JSONResponse(body, status_code=status_code)


ImageWork = Callable[[Session, ProductImage], dict[str, Any] | None]


async def _on_image(
    request: Request,
    auth: ShopSession,
    work: ImageWork,
    *,
    write: bool = False,
    status_code: int = 200,
    missing: str = "no image {image_id} in this shop",
) -> Response:
    """Run `work` on the path's image in one unit of work (a write one when `write`) off the event loop; an
    image the shop does not have, or `work` answering None, is a 404 saying `missing`."""
    image_id = request.path_params["image_id"]

    def run() -> dict[str, Any] | None:
        with (write_scope if write else session_scope)(request.state.db) as session:
            image = catalog.get_image(session=session, shop=auth.shop, image_id=image_id)
            return None if image is None else work(session, image)

    return await _json_or_404(run, missing.format(image_id=image_id), status_code)


@session_token_required
async def list_products(request: Request, auth: ShopSession) -> Response:
    """The shop's products with their photos and generation status.
    ---
    parameters:
      - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 250}}
      - {name: offset, in: query, schema: {type: integer, minimum: 0}}
    responses:
      200: {description: '{"products": [...], "total": N}'}
      401: {description: 'invalid session token (X-Shopify-Retry-Invalid-Session-Request: 1)'}
    """
    sign = _signer(request)
    limit = _int_param(request, "limit", 50, 1, 250)
    offset = _int_param(request, "offset", 0, 0, 10**9)

    def load() -> dict[str, Any]:
        with session_scope(request.state.db) as session:
            views = catalog.list_products(session=session, shop=auth.shop, limit=limit, offset=offset)
            total = catalog.count_products(session=session, shop=auth.shop)
            return {"shop": auth.shop.domain, "products": [v.as_json(sign) for v in views], "total": total}

    return JSONResponse(await asyncio.to_thread(load))


@session_token_required
async def get_product(request: Request, auth: ShopSession) -> Response:
    """One product of the shop.
    ---
    responses:
      200: {description: 'the product with images and generation status'}
      404: {description: 'no such product in this shop'}
    """
    sign = _signer(request)
    product_id = request.path_params["product_id"]

    def load() -> dict[str, Any] | None:
        with session_scope(request.state.db) as session:
            view = catalog.get_product_view(session=session, shop=auth.shop, product_id=product_id)
            return view.as_json(sign) if view else None

    return await _json_or_404(load, f"no product {product_id} in this shop")


@session_token_required
async def get_image(request: Request, auth: ShopSession) -> Response:
    """One product photo of the shop, its generation, and the photo group it is generated with.
    ---
    responses:
      200: {description: 'the image, its generation and `group` (lead_image_id, image_ids)'}
      404: {description: 'no such image in this shop'}
    """
    sign = _signer(request)
    image_id = request.path_params["image_id"]

    def load() -> dict[str, Any] | None:
        with session_scope(request.state.db) as session:
            view = catalog.get_image_view(session=session, shop=auth.shop, image_id=image_id)
            if view is None:
                return None
            # the photos generated with this one; the group's decision is the lead's `approval`
            group = photo_groups.group_of(session=session, shop=auth.shop, image=view.image)
            return {
                **view.as_json(sign),
                "group": {"lead_image_id": group[0].id, "image_ids": [i.id for i in group]},
            }

    return await _json_or_404(load, f"no image {image_id} in this shop")


@session_token_required
async def regenerate_image(request: Request, auth: ShopSession) -> Response:
    """Queue a NEW model for a photo (a new variation; the previous model stays until the new one is approved).
    ---
    responses:
      202: {description: 'the image with its new generation'}
      404: {description: 'no such image in this shop'}
      409: {description: 'the photo was removed from the product'}
    """
    sign = _signer(request)
    image_id = request.path_params["image_id"]

    def run(session: Session, image: ProductImage) -> dict[str, Any] | None:
        job = review.regenerate(session=session, shop=auth.shop, image=image, user_id=auth.token.user_id)
        logger.info(
            "merchant %s requeued %s of %s as %s", auth.token.user_id, image.gid, auth.shop.domain, job.id
        )
        view = catalog.get_image_view(session=session, shop=auth.shop, image_id=image_id)
        return view.as_json(sign) if view else None

    return await _on_image(request, auth, run, write=True, status_code=202)


@session_token_required
async def image_generations(request: Request, auth: ShopSession) -> Response:
    """Every generation of the photo (or its multi-view group), newest first.
    ---
    responses:
      200: {description: '{"generations": [{job_id, status, created_at, finished_at, preview_url, model_glb_url, gaussian_splat_url, faces, approved, current}]}'}
      404: {description: 'no such image in this shop'}
    """
    sign = _signer(request)

    def load(session: Session, image: ProductImage) -> dict[str, Any]:
        return {
            "generations": review.generations_json(session=session, shop=auth.shop, image=image, sign=sign)
        }

    return await _on_image(request, auth, load)


@session_token_required
async def cancel_generation(request: Request, auth: ShopSession) -> Response:
    """Cancel the photo's queued or running generation.
    ---
    responses:
      200: {description: '{"image": {...}, "result": "canceled|cancellation_requested|already_completed"}'}
      404: {description: 'no such image in this shop, or it has no generation'}
    """
    sign = _signer(request)
    image_id = request.path_params["image_id"]

    def run(session: Session, image: ProductImage) -> dict[str, Any] | None:
        job = session.get(Job, image.job_id) if image.job_id else None
        if job is None or job.shop_id != auth.shop.id:
            return None
        result = commands.cancel(session, job)
        view = catalog.get_image_view(session=session, shop=auth.shop, image_id=image_id)
        return {"result": result, "image": view.as_json(sign) if view else None}

    return await _on_image(
        request, auth, run, write=True, missing="no generation for image {image_id} in this shop"
    )


async def approve_body(request: Request) -> str | None:
    """The optional `{"job_id": "..."}` of an approve request (which generation to approve)."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        body = strict_loads(raw)
    except ValueError:
        raise ValidationError('the body must be JSON: {"job_id": "..."} or empty') from None
    if not isinstance(body, dict) or not isinstance(body.get("job_id", ""), str | None):
        raise ValidationError("job_id must be a string", details={"field": "job_id"})
    return body.get("job_id") or None


@session_token_required
async def start_backfill(request: Request, auth: ShopSession) -> Response:
    """Ask for models of all active products (collection_id null) or of one collection's.
    ---
    requestBody: {description: '{"collection_id": "gid://shopify/Collection/…" | null}'}
    responses:
      202: {description: '{"backfill": {id, status, collection_id, products_seen, images_queued, started_at, finished_at, error}}'}
      400: {description: 'malformed body or collection id'}
      404: {description: 'the shop has no such collection'}
    """
    raw = await request.body()
    try:
        body = strict_loads(raw) if raw.strip() else {}
    except ValueError:
        raise ValidationError(
            'the body must be JSON: {"collection_id": "gid://shopify/Collection/…" | null}'
        ) from None
    if not isinstance(body, dict):
        raise ValidationError('the body must be a JSON object: {"collection_id": ...}')
    collection_id = backfill.parse_collection_id(body.get("collection_id"))
    row = await backfill.request_backfill(
        services=request.state.shopify,
        shop=auth.shop,
        collection_id=collection_id,
        requested_by=auth.token.user_id,
    )
    return JSONResponse({"backfill": backfill.as_json(row)}, status_code=202)


@session_token_required
async def get_backfill(request: Request, auth: ShopSession) -> Response:
    """The shop's latest backfill, or null.
    ---
    responses:
      200: {description: '{"backfill": {...} | null}'}
    """
    latest = await asyncio.to_thread(backfill.latest_json, engine=request.state.db, shop=auth.shop)
    return JSONResponse({"backfill": latest})


def _decide(action: str) -> Endpoint:
    async def endpoint(request: Request, auth: ShopSession) -> Response:
        sign = _signer(request)
        job_id = await approve_body(request) if action == "approve" else None

        def run(session: Session, image: ProductImage) -> dict[str, Any] | None:
            # a multi-view group has one model and one decision, kept on the group's lead photo
            lead = photo_groups.group_of(session=session, shop=auth.shop, image=image)[0]
            result = review.decide(
                session=session,
                shop=auth.shop,
                image=lead,
                action=action,
                user_id=auth.token.user_id,
                job_id=job_id,
            )
            session.flush()
            view = catalog.get_image_view(session=session, shop=auth.shop, image_id=lead.id)  # type: ignore[arg-type]
            logger.info("merchant %s: %s %s of %s", auth.token.user_id, action, lead.gid, auth.shop.domain)
            return {"result": result, "image": view.as_json(sign) if view else None}

        return await _on_image(request, auth, run, write=True)

    endpoint.__name__ = f"{action}_image"
    endpoint.__doc__ = {
        "approve": """Approve the photo's finished 3D model; the scheduler publishes it to the product.
    ---
    responses:
      200: {description: 'the image with its approval (publish_status pending)'}
      404: {description: 'no such image in this shop'}
      409: {description: 'no finished model yet (body {"job_id"} picks a generation; default the latest)'}
    """,
        "reject": """Reject the photo's 3D model (a published one is taken off the product).
    ---
    responses:
      200: {description: 'the image with its approval'}
      404: {description: 'no such image in this shop'}
    """,
        "withdraw": """Withdraw the decision (a published model is detached from the product first).
    ---
    responses:
      200: {description: 'withdrawn, or unpublishing'}
      404: {description: 'no such image or approval in this shop'}
    """,
    }[action]
    return session_token_required(endpoint)


approve_image = _decide("approve")
reject_image = _decide("reject")
withdraw_approval = _decide("withdraw")

routes: list[BaseRoute] = [
    Route("/app/api/backfill", start_backfill, methods=["POST"]),
    Route("/app/api/backfill", get_backfill, methods=["GET"]),
    Route("/app/api/products", list_products, methods=["GET"]),
    Route("/app/api/products/{product_id:int}", get_product, methods=["GET"]),
    Route("/app/api/images/{image_id:int}", get_image, methods=["GET"]),
    Route("/app/api/images/{image_id:int}/generations", image_generations, methods=["GET"]),
    Route("/app/api/images/{image_id:int}/regenerate", regenerate_image, methods=["POST"]),
    Route("/app/api/images/{image_id:int}/cancel", cancel_generation, methods=["POST"]),
    Route("/app/api/images/{image_id:int}/approve", approve_image, methods=["POST"]),
    Route("/app/api/images/{image_id:int}/reject", reject_image, methods=["POST"]),
    Route("/app/api/images/{image_id:int}/approval", withdraw_approval, methods=["DELETE"]),
]
