"""Drop `ix_job_status`: `ix_job_claim (status, priority DESC, created_at, id)` leads with the status, so it
serves every lookup by status, and with a second index on the status alone the planner, on stale statistics,
took that one for the claim and sorted the whole queue (seen at 20k queued) instead of reading the first entry
of the claim index.

Revision ID: 0011_drop_job_status_index
Revises: 0010_shop_settings
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011_drop_job_status_index"
down_revision: str | None = "0010_shop_settings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index("ix_job_status")


def downgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.create_index("ix_job_status", ["status"], unique=False)
