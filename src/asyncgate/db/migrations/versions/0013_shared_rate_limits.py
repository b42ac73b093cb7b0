"""quota_grants and concurrency_leases: each tenant's limits shared by every process

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 00:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quota_grants",
        sa.Column("tenant_id", sa.String(32), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("window_end", sa.BigInteger(), nullable=False),
        sa.Column("granted", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "seconds", name=op.f("pk_quota_grants")),
    )
    op.create_table(
        "concurrency_leases",
        sa.Column("holder", sa.String(32), nullable=False),
        sa.Column("tenant_id", sa.String(32), nullable=False),
        sa.Column("pool", sa.String(32), nullable=False),
        sa.Column("slots", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("holder", "tenant_id", "pool", name=op.f("pk_concurrency_leases")),
    )
    op.create_index("ix_concurrency_leases_pool", "concurrency_leases", ["tenant_id", "pool"])


def downgrade() -> None:
    op.drop_index("ix_concurrency_leases_pool", table_name="concurrency_leases")
    op.drop_table("concurrency_leases")
    op.drop_table("quota_grants")
