"""accounts and contacts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 16:11:02.089190
"""

import sqlalchemy as sa
from alembic import op

import asyncgate.db.base

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("account_number", sa.String(length=70), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("bill_cycle_day", sa.Integer(), nullable=False),
        sa.Column("payment_term", sa.String(length=100), nullable=False),
        sa.Column("auto_pay", sa.Boolean(), nullable=False),
        sa.Column("batch", sa.String(length=50), nullable=False),
        sa.Column("invoice_delivery_prefs_email", sa.Boolean(), nullable=False),
        sa.Column("invoice_delivery_prefs_print", sa.Boolean(), nullable=False),
        sa.Column("additional_email_addresses", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("crm_id", sa.String(length=100), nullable=True),
        sa.Column("invoice_template_id", sa.String(length=32), nullable=True),
        sa.Column("sales_rep", sa.String(length=50), nullable=True),
        sa.Column("customer_service_rep_name", sa.String(length=50), nullable=True),
        sa.Column("purchase_order_number", sa.String(length=100), nullable=True),
        sa.Column("payment_gateway", sa.String(length=40), nullable=True),
        sa.Column("balance", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("total_invoice_balance", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("credit_balance", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("custom_fields", sa.JSON(), nullable=False),
        sa.Column("bill_to_contact_id", sa.String(length=32), nullable=True),
        sa.Column("sold_to_contact_id", sa.String(length=32), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bill_to_contact_id"],
            ["contacts.id"],
            name=op.f("fk_accounts_bill_to_contact_id_contacts"),
            use_alter=True,
        ),
        sa.ForeignKeyConstraint(
            ["sold_to_contact_id"],
            ["contacts.id"],
            name=op.f("fk_accounts_sold_to_contact_id_contacts"),
            use_alter=True,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_accounts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint(
            "tenant_id", "account_number", name=op.f("uq_accounts_tenant_id_account_number")
        ),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_accounts_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "contacts",
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("nickname", sa.String(length=100), nullable=True),
        sa.Column("contact_description", sa.String(length=100), nullable=True),
        sa.Column("address1", sa.String(length=255), nullable=True),
        sa.Column("address2", sa.String(length=255), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("county", sa.String(length=100), nullable=True),
        sa.Column("state", sa.String(length=100), nullable=True),
        sa.Column("country", sa.String(length=64), nullable=True),
        sa.Column("zip_code", sa.String(length=20), nullable=True),
        sa.Column("tax_region", sa.String(length=100), nullable=True),
        sa.Column("work_email", sa.String(length=80), nullable=True),
        sa.Column("personal_email", sa.String(length=80), nullable=True),
        sa.Column("work_phone", sa.String(length=40), nullable=True),
        sa.Column("home_phone", sa.String(length=40), nullable=True),
        sa.Column("mobile_phone", sa.String(length=100), nullable=True),
        sa.Column("other_phone", sa.String(length=40), nullable=True),
        sa.Column("other_phone_type", sa.String(length=20), nullable=True),
        sa.Column("fax", sa.String(length=40), nullable=True),
        sa.Column("custom_fields", sa.JSON(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_contacts_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_contacts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contacts_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_contacts_tenant_id"), ["tenant_id"], unique=False)

    # The account -> contact keys form a cycle with contacts.account_id. SQLite keeps them from
    # create_table above; PostgreSQL needs them added once both tables exist.
    if op.get_bind().dialect.name != "sqlite":
        for role in ("bill_to", "sold_to"):
            op.create_foreign_key(
                op.f(f"fk_accounts_{role}_contact_id_contacts"),
                "accounts",
                "contacts",
                [f"{role}_contact_id"],
                ["id"],
            )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        for role in ("bill_to", "sold_to"):
            op.drop_constraint(
                op.f(f"fk_accounts_{role}_contact_id_contacts"), "accounts", type_="foreignkey"
            )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_contacts_account_id"))

    op.drop_table("contacts")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_tenant_id"))

    op.drop_table("accounts")
