"""callout deliveries and the log of their attempts (the callout history)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:23:48.187510
"""

import sqlalchemy as sa
from alembic import op

import asyncgate.db.base

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "callout_deliveries",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("definition_id", sa.String(length=32), nullable=True),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_expires_at", asyncgate.db.base.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.Column("completed_at", asyncgate.db.base.UTCDateTime(), nullable=True),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["definition_id"],
            ["notification_definitions.id"],
            name=op.f("fk_callout_deliveries_definition_id_notification_definitions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["outbox_events.id"],
            name=op.f("fk_callout_deliveries_event_id_outbox_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_callout_deliveries_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callout_deliveries")),
        sa.UniqueConstraint(
            "event_id", "definition_id", name=op.f("uq_callout_deliveries_event_id_definition_id")
        ),
    )
    with op.batch_alter_table("callout_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_callout_deliveries_due",
            ["next_attempt_at"],
            unique=False,
            postgresql_where=sa.text("state = 'pending'"),
            sqlite_where=sa.text("state = 'pending'"),
        )
        batch_op.create_index(
            "ix_callout_deliveries_leases",
            ["lease_expires_at"],
            unique=False,
            postgresql_where=sa.text("state = 'delivering'"),
            sqlite_where=sa.text("state = 'delivering'"),
        )
        batch_op.create_index(
            "ix_callout_deliveries_object", ["tenant_id", "object_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_callout_deliveries_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "callout_attempts",
        sa.Column("delivery_id", sa.String(length=32), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("notification_name", sa.String(length=255), nullable=False),
        sa.Column("request_method", sa.String(length=6), nullable=False),
        sa.Column("request_url", sa.Text(), nullable=False),
        sa.Column("started_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.Column("completed_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("response_code", sa.Integer(), nullable=True),
        sa.Column("response_content", sa.Text(), nullable=True),
        sa.Column("error_class", sa.String(length=40), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["callout_deliveries.id"],
            name=op.f("fk_callout_attempts_delivery_id_callout_deliveries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_callout_attempts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callout_attempts")),
    )
    with op.batch_alter_table("callout_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_callout_attempts_delivery_id"), ["delivery_id"], unique=False
        )
        batch_op.create_index(
            "ix_callout_attempts_tenant_completed", ["tenant_id", "completed_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_callout_attempts_tenant_id"), ["tenant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("callout_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_callout_attempts_tenant_id"))
        batch_op.drop_index("ix_callout_attempts_tenant_completed")
        batch_op.drop_index(batch_op.f("ix_callout_attempts_delivery_id"))

    op.drop_table("callout_attempts")
    with op.batch_alter_table("callout_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_callout_deliveries_tenant_id"))
        batch_op.drop_index("ix_callout_deliveries_object")
        batch_op.drop_index(
            "ix_callout_deliveries_leases",
            postgresql_where=sa.text("state = 'delivering'"),
            sqlite_where=sa.text("state = 'delivering'"),
        )
        batch_op.drop_index(
            "ix_callout_deliveries_due",
            postgresql_where=sa.text("state = 'pending'"),
            sqlite_where=sa.text("state = 'pending'"),
        )

    op.drop_table("callout_deliveries")
