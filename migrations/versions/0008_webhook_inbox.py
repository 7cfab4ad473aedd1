"""Webhook inbox: deliveries are recorded and acknowledged, then processed by the scheduler (issue 14)

Revision ID: 0008_webhook_inbox
Revises: 0007_api_key_expires_at
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import shop_app.models.base

revision: str = "0008_webhook_inbox"
down_revision: str | None = "0007_api_key_expires_at"  # re-chained at the merge of main
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows from before the inbox were processed inline: they are "done" (server defaults fill them in).
    with op.batch_alter_table("webhook_event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False, server_default="done"
            )
        )
        batch_op.add_column(
            sa.Column(
                "order_key", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False, server_default=""
            )
        )
        batch_op.add_column(sa.Column("body", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("body_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("next_attempt_at", shop_app.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=True)
        )
        batch_op.add_column(
            sa.Column("processed_at", shop_app.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_unique_constraint(
            "uq_webhook_event_shop_body", ["shop_domain", "topic", "body_sha256"]
        )
        batch_op.create_index("ix_webhook_event_status_id", ["status", "id"], unique=False)
        batch_op.create_index("ix_webhook_event_order_key_id", ["order_key", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("webhook_event", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_event_order_key_id")
        batch_op.drop_index("ix_webhook_event_status_id")
        batch_op.drop_constraint("uq_webhook_event_shop_body", type_="unique")
        for column in (
            "processed_at",
            "last_error",
            "next_attempt_at",
            "attempts",
            "body_sha256",
            "body",
            "order_key",
            "status",
        ):
            batch_op.drop_column(column)
