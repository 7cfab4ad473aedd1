"""Per-shop settings of the embedded app (which products get models, face limit, publishing, failure notices)

Revision ID: 0010_shop_settings
Revises: 0009_job_claim_order_index
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shop_app.models.base

revision: str = "0010_shop_settings"
down_revision: str | None = "0009_job_claim_order_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shop_settings",
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("auto_generate", sa.Boolean(), nullable=False),
        sa.Column("face_limit", sa.Integer(), nullable=True),
        sa.Column("auto_publish", sa.Boolean(), nullable=False),
        sa.Column("notify_failures", sa.Boolean(), nullable=False),
        sa.Column("updated_at", shop_app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shop.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("shop_id"),
    )


def downgrade() -> None:
    op.drop_table("shop_settings")
