"""job owners: `source` (API family or Shopify image gid) becomes `family`, `principal` and `image_gid`

Revision ID: 0004_job_owner_family
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0004_job_owner_family"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("family", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("principal", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True)
        )
        batch_op.add_column(
            sa.Column("image_gid", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_job_family"), ["family"], unique=False)
        batch_op.create_index(batch_op.f("ix_job_principal"), ["principal"], unique=False)
    # What `source` held: "store" (seed 000's routes), "api" / "batch" (/api/v1), a Shopify image gid.
    op.execute("UPDATE job SET family = 'store' WHERE source = 'store'")
    op.execute("UPDATE job SET family = 'v1' WHERE source IN ('api', 'batch')")
    op.execute("UPDATE job SET family = 'shop', image_gid = source WHERE source LIKE 'gid://%'")
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_source"))
        batch_op.drop_column("source")


def downgrade() -> None:
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
        batch_op.create_index(batch_op.f("ix_job_source"), ["source"], unique=False)
    op.execute("UPDATE job SET source = 'store' WHERE family = 'store'")
    op.execute(
        "UPDATE job SET source = CASE WHEN batch_id IS NULL THEN 'api' ELSE 'batch' END WHERE family = 'v1'"
    )
    op.execute("UPDATE job SET source = image_gid WHERE family = 'shop'")
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_principal"))
        batch_op.drop_index(batch_op.f("ix_job_family"))
        batch_op.drop_column("image_gid")
        batch_op.drop_column("principal")
        batch_op.drop_column("family")
