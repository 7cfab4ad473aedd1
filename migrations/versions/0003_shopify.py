"""Shopify mirror: products, images, approvals, webhook events, scan state (issue 4)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

Placeholder in the chain so capabilities built in parallel keep a linear history; its capability fills it in.
"""

from collections.abc import Sequence

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
