"""All table models. Importing this package registers every table on SQLModel.metadata (Alembic reads it)."""

from shop_app.models import generation_api, jobs, product_models, renders, shopify  # noqa: F401  (register their tables)
from shop_app.models.base import UTCDateTime, utcnow
from shop_app.models.core import ApiKey, Shop

__all__ = ["ApiKey", "Shop", "UTCDateTime", "utcnow"]
