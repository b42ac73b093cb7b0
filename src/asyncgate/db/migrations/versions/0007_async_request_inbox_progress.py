"""how far the queue has taken in the SQLite inbox of accepted requests

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 00:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "async_request_inbox_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("taken_in_through", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_async_request_inbox_progress")),
    )


def downgrade() -> None:
    op.drop_table("async_request_inbox_progress")
