"""the seed-001 generation API: accounts (scrypt password hashes) and submitted images (issue 10)

Revision ID: 0005_generation_accounts
Revises: 0004_product_cache
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import shop_app.models.base

revision: str = "0005_generation_accounts"
down_revision: str | None = "0004_product_cache"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "generation_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("created_at", shop_app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", shop_app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("generation_account", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_generation_account_email"), ["email"], unique=True)
    op.create_table(
        "generation_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("image_url", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
        sa.Column("prompt", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("created_at", shop_app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["generation_account.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["job_id"], ["job.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("generation_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_generation_request_account_id"), ["account_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("generation_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_generation_request_account_id"))
    op.drop_table("generation_request")
    with op.batch_alter_table("generation_account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_generation_account_email"))
    op.drop_table("generation_account")
