"""communication profiles, notification definitions with their callouts, callout settings

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 22:03:12.871251
"""

import sqlalchemy as sa
from alembic import op

import asyncgate.db.base

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "callout_settings",
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("min_interval_minutes", sa.Integer(), nullable=False),
        sa.Column("parse_response_content", sa.Boolean(), nullable=False),
        sa.Column("signing_secret_sealed", sa.Text(), nullable=True),
        sa.Column("signing_secret_created_at", asyncgate.db.base.UTCDateTime(), nullable=True),
        sa.Column("previous_signing_secret_sealed", sa.Text(), nullable=True),
        sa.Column(
            "previous_signing_secret_expires_at", asyncgate.db.base.UTCDateTime(), nullable=True
        ),
        sa.Column("created_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_callout_settings_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_callout_settings")),
    )
    op.create_table(
        "communication_profiles",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_communication_profiles_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_communication_profiles")),
        sa.UniqueConstraint(
            "tenant_id", "name", name=op.f("uq_communication_profiles_tenant_id_name")
        ),
    )
    with op.batch_alter_table("communication_profiles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_communication_profiles_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(
            "uq_communication_profiles_default",
            ["tenant_id"],
            unique=True,
            postgresql_where=sa.text("is_default"),
            sqlite_where=sa.text("is_default"),
        )

    op.create_table(
        "notification_definitions",
        sa.Column("profile_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("event_type_name", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("callout_active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("updated_by", sa.String(length=32), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["communication_profiles.id"],
            name=op.f("fk_notification_definitions_profile_id_communication_profiles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_notification_definitions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_definitions")),
        sa.UniqueConstraint(
            "profile_id", "name", name=op.f("uq_notification_definitions_profile_id_name")
        ),
    )
    with op.batch_alter_table("notification_definitions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notification_definitions_event", ["tenant_id", "event_type_name"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_notification_definitions_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "callouts",
        sa.Column("definition_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("http_method", sa.String(length=6), nullable=False),
        sa.Column("required_auth", sa.Boolean(), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=True),
        sa.Column("password_sealed", sa.Text(), nullable=True),
        sa.Column("domain", sa.String(length=255), nullable=True),
        sa.Column("preemptive", sa.Boolean(), nullable=False),
        sa.Column("retry", sa.Boolean(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["definition_id"],
            ["notification_definitions.id"],
            name=op.f("fk_callouts_definition_id_notification_definitions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("definition_id", name=op.f("pk_callouts")),
    )


def downgrade() -> None:
    op.drop_table("callouts")
    with op.batch_alter_table("notification_definitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_definitions_tenant_id"))
        batch_op.drop_index("ix_notification_definitions_event")

    op.drop_table("notification_definitions")
    with op.batch_alter_table("communication_profiles", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_communication_profiles_default",
            postgresql_where=sa.text("is_default"),
            sqlite_where=sa.text("is_default"),
        )
        batch_op.drop_index(batch_op.f("ix_communication_profiles_tenant_id"))

    op.drop_table("communication_profiles")
    op.drop_table("callout_settings")
