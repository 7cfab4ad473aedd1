"""generation jobs, results and batches (issue 6)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Placeholder in the chain so capabilities built in parallel keep a linear history; its capability fills it in.
"""

from collections.abc import Sequence

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
