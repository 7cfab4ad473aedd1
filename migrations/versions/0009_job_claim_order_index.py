"""Job claim index in the claim's order: (status, priority DESC, created_at, id) (issue 14)

Revision ID: 0009_job_claim_order_index
Revises: 0008_webhook_inbox
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_job_claim_order_index"
down_revision: str | None = "0008_webhook_inbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The old index was all ascending: every claim (ORDER BY priority DESC, created_at, id) sorted the queue.
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index("ix_job_claim")
        batch_op.create_index(
            "ix_job_claim", ["status", sa.text("priority DESC"), "created_at", "id"], unique=False
        )
    # PostgreSQL: wake listening workers when a job becomes claimable (a trigger, so every path that queues a
    # job — submit, retry, requeue, release, the reaper — notifies without a round trip of its own).
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION nu3d_job_queued() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_notify('nu3d_jobs', ''); RETURN NULL; END $$"
        )
        op.execute(
            "CREATE TRIGGER nu3d_job_queued AFTER INSERT OR UPDATE OF status ON job FOR EACH ROW "
            "WHEN (NEW.status = 'queued') EXECUTE FUNCTION nu3d_job_queued()"
        )
        op.execute(
            "CREATE FUNCTION nu3d_webhook_recorded() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_notify('nu3d_webhooks', ''); RETURN NULL; END $$"
        )
        op.execute(
            "CREATE TRIGGER nu3d_webhook_recorded AFTER INSERT ON webhook_event "
            "FOR EACH STATEMENT EXECUTE FUNCTION nu3d_webhook_recorded()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS nu3d_webhook_recorded ON webhook_event")
        op.execute("DROP FUNCTION IF EXISTS nu3d_webhook_recorded()")
        op.execute("DROP TRIGGER IF EXISTS nu3d_job_queued ON job")
        op.execute("DROP FUNCTION IF EXISTS nu3d_job_queued()")
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index("ix_job_claim")
        batch_op.create_index("ix_job_claim", ["status", "priority", "created_at"], unique=False)
