"""no tenant_id index for contacts and outbox_events

Contacts are read by ID and by account, outbox events by ID, by request and pending first;
nothing looks either up by tenant alone. Each index cost every account creation, sync or
async, another B-tree to write: 4-5 pages per commit of a batch of executions.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 00:00:00.000000
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_contacts_tenant_id", table_name="contacts")
    op.drop_index("ix_outbox_events_tenant_id", table_name="outbox_events")


def downgrade() -> None:
    op.create_index("ix_outbox_events_tenant_id", "outbox_events", ["tenant_id"])
    op.create_index("ix_contacts_tenant_id", "contacts", ["tenant_id"])
