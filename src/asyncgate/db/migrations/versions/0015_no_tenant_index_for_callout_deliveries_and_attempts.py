"""no tenant_id index of their own for callout_deliveries and callout_attempts

Their composite indexes (tenant_id, object_id) and (tenant_id, completed_at) lead with the
tenant and serve every lookup by it. Every callout writes a delivery and an attempt, so each
single-column index cost every callout another B-tree to write.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 00:00:00.000000
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_callout_deliveries_tenant_id", table_name="callout_deliveries")
    op.drop_index("ix_callout_attempts_tenant_id", table_name="callout_attempts")


def downgrade() -> None:
    op.create_index("ix_callout_attempts_tenant_id", "callout_attempts", ["tenant_id"])
    op.create_index("ix_callout_deliveries_tenant_id", "callout_deliveries", ["tenant_id"])
