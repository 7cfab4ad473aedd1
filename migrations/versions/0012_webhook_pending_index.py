"""Webhook inbox claim: a partial index of the pending rows by id replaces the (order_key, id) index.

The claim used to be one statement with a NOT EXISTS anti-join on older pending rows of the same key, served by
`ix_webhook_event_order_key_id`; on an unanalysed PostgreSQL table after a burst of deliveries it was planned
as a hash anti-join over the whole table (1.3 s per claim, a 760 s drain). It now walks the pending rows in
id order (`webhooks.inbox_claim.first_runnable`), which only this partial index serves exactly; the (order_key, id)
index has no reader left and only cost every acknowledgement an index write.

Revision ID: 0012_webhook_pending_index
Revises: 0011_drop_job_status_index
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_webhook_pending_index"
down_revision: str | None = "0011_drop_job_status_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    with op.batch_alter_table("webhook_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_event_pending", ["id"], unique=False, postgresql_where=PENDING, sqlite_where=PENDING
        )
        batch_op.drop_index("ix_webhook_event_order_key_id")


def downgrade() -> None:
    with op.batch_alter_table("webhook_event", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_event_order_key_id", ["order_key", "id"], unique=False)
        batch_op.drop_index("ix_webhook_event_pending")
