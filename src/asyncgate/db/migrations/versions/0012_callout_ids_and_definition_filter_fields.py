"""callouts get IDs of their own; definitions store filterRule, filterRuleParams,
emailTemplateId and associatedAccount

A callout was keyed by its definition's ID. It now has its own ID (the one answers show), who
made it and when it was made and last changed; its definition ID stays unique, since a
definition has at most one callout. Existing callouts get a new ID, and their definition's
creator and times (the best that is known of them).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-09 00:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import asyncgate.db.base

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

CALLOUTS = sa.table(
    "callouts",
    sa.column("id", sa.String(32)),
    sa.column("definition_id", sa.String(32)),
    sa.column("created_by", sa.String(32)),
    sa.column("created_at", asyncgate.db.base.UTCDateTime()),
    sa.column("updated_at", asyncgate.db.base.UTCDateTime()),
)
DEFINITIONS = sa.table(
    "notification_definitions",
    sa.column("id", sa.String(32)),
    sa.column("created_by", sa.String(32)),
    sa.column("created_at", asyncgate.db.base.UTCDateTime()),
    sa.column("updated_at", asyncgate.db.base.UTCDateTime()),
)


def upgrade() -> None:
    with op.batch_alter_table("notification_definitions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("filter_rule", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("filter_rule_params", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("email_template_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("associated_account", sa.String(length=255), nullable=True))

    with op.batch_alter_table("callouts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("created_by", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("created_at", asyncgate.db.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("updated_at", asyncgate.db.base.UTCDateTime(), nullable=True))

    connection = op.get_bind()
    existing = connection.execute(sa.select(CALLOUTS.c.definition_id)).scalars().all()
    for definition_id in existing:
        connection.execute(
            sa.update(CALLOUTS)
            .where(CALLOUTS.c.definition_id == definition_id)
            .values(id=asyncgate.db.base.new_id())
        )

    def of_definition(column: str) -> sa.ScalarSelect:
        return (
            sa.select(DEFINITIONS.c[column])
            .where(DEFINITIONS.c.id == CALLOUTS.c.definition_id)
            .scalar_subquery()
        )

    connection.execute(
        sa.update(CALLOUTS).values(
            created_by=of_definition("created_by"),
            created_at=of_definition("created_at"),
            updated_at=of_definition("updated_at"),
        )
    )

    with op.batch_alter_table("callouts", schema=None) as batch_op:
        batch_op.alter_column("id", existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column(
            "created_at", existing_type=asyncgate.db.base.UTCDateTime(), nullable=False
        )
        batch_op.alter_column(
            "updated_at", existing_type=asyncgate.db.base.UTCDateTime(), nullable=False
        )
        batch_op.drop_constraint("pk_callouts", type_="primary")
        batch_op.create_primary_key("pk_callouts", ["id"])
        batch_op.create_unique_constraint(
            batch_op.f("uq_callouts_definition_id"), ["definition_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("callouts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_callouts_definition_id"), type_="unique")
        batch_op.drop_constraint("pk_callouts", type_="primary")
        batch_op.create_primary_key("pk_callouts", ["definition_id"])
        batch_op.drop_column("updated_at")
        batch_op.drop_column("created_at")
        batch_op.drop_column("created_by")
        batch_op.drop_column("id")

    with op.batch_alter_table("notification_definitions", schema=None) as batch_op:
        batch_op.drop_column("associated_account")
        batch_op.drop_column("email_template_id")
        batch_op.drop_column("filter_rule_params")
        batch_op.drop_column("filter_rule")
