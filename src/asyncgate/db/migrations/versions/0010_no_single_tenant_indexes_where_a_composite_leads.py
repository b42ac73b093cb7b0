"""no tenant_id index of their own for async_requests and accounts

Their composite indexes (tenant_id, created_at) and (tenant_id, account_number) lead with the
tenant and serve every lookup by it; the single-column ones only cost each insert a B-tree
more to write.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 00:00:00.000000
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_async_requests_tenant_id", table_name="async_requests")
    op.drop_index("ix_accounts_tenant_id", table_name="accounts")


def downgrade() -> None:
    op.create_index("ix_accounts_tenant_id", "accounts", ["tenant_id"])
    op.create_index("ix_async_requests_tenant_id", "async_requests", ["tenant_id"])
