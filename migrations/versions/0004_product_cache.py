"""GET /api/nu3d: product details, the product-level model cache, backfills (issue 10)

Revision ID: 0004_product_cache
Revises: 0004_job_owner_family
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import shop_app.models.base

revision: str = "0004_product_cache"
down_revision: str | None = "0004_job_owner_family"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("product", schema=None) as batch_op:
        # existing rows get an empty object; the next webhook or scan fills it
        batch_op.add_column(sa.Column("details", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.alter_column("details", server_default=None)

    op.create_table(
        "product_model_cache",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", shop_app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["shop_id"], ["shop.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("shop_id", "product_id", name="uq_product_model_cache_shop_product"),
    )
    with op.batch_alter_table("product_model_cache", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_model_cache_product_id"), ["product_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_product_model_cache_shop_id"), ["shop_id"], unique=False)

    op.create_table(
        "backfill",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("mode", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("collection_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("cursor", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=True),
        sa.Column("bulk_operation_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("products_seen", sa.Integer(), nullable=False),
        sa.Column("images_queued", sa.Integer(), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=True),
        sa.Column("requested_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("started_at", shop_app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", shop_app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["shop_id"], ["shop.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("backfill", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_backfill_shop_id"), ["shop_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_backfill_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("backfill", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backfill_status"))
        batch_op.drop_index(batch_op.f("ix_backfill_shop_id"))
    op.drop_table("backfill")
    with op.batch_alter_table("product_model_cache", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_model_cache_shop_id"))
        batch_op.drop_index(batch_op.f("ix_product_model_cache_product_id"))
    op.drop_table("product_model_cache")
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_column("details")
