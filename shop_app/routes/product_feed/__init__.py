"""The /api/nu3d family (seed 001): the product feed, and approval/caching endpoints for API clients.

Every answer uses the seed's envelope: `{"success": true, "message", "data"}` or
`{"success": false, "error", "message"}`. Reads are open in development and test as the seed documents them;
in production they need an API key unless NU3D_PRODUCT_FEED_PUBLIC opens them. Writes always need the
shop's API key (or an admin key).
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from shop_app.routes.product_feed import backfills, products, review
from shop_app.routes.product_feed.common import FAMILY, PREFIX, render_error
from shop_app.web.family import ApiFamily, family_errors

_wrap = family_errors(render_error)
IMAGE = PREFIX + "/images/{image_id:int}"

routes: list[BaseRoute] = [
    Route(PREFIX, _wrap(products.nu3d_products), methods=["GET"]),
    Route(f"{PREFIX}/backfill", _wrap(backfills.start), methods=["POST"]),
    Route(f"{PREFIX}/backfill", _wrap(backfills.latest), methods=["GET"]),
    Route(f"{IMAGE}/generations", _wrap(review.generations), methods=["GET"]),
    Route(f"{IMAGE}/approve", _wrap(review.approve), methods=["POST"]),
    Route(f"{IMAGE}/reject", _wrap(review.reject), methods=["POST"]),
    Route(f"{IMAGE}/regenerate", _wrap(review.regenerate), methods=["POST"]),
    Route(f"{IMAGE}/approval", _wrap(review.withdraw), methods=["DELETE"]),
]

family = ApiFamily(
    name=FAMILY,
    prefix=PREFIX,
    routes=routes,
    render_error=render_error,
    error_schema={
        "type": "object",
        "description": "seed 001's error body",
        "required": ["success", "error", "message"],
        "properties": {
            "success": {"type": "boolean", "enum": [False]},
            "error": {"type": "string"},
            "message": {"type": "string"},
        },
    },
)
