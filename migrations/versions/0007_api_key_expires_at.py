"""API keys can expire (nu3d apikey create --expires)

Revision ID: 0007_api_key_expires_at
Revises: 0006_platform_render
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shop_app.models.base

revision: str = "0007_api_key_expires_at"
down_revision: str | None = "0006_platform_render"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", shop_app.models.base.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
