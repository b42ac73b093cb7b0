"""orders, subscriptions in versions, and invoices

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:59:38.926133
"""

import sqlalchemy as sa
from alembic import op

import asyncgate.db.base

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("order_number", sa.String(length=100), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("order_date", sa.Date(), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("custom_fields", sa.JSON(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_orders_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_orders_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint(
            "tenant_id", "order_number", name=op.f("uq_orders_tenant_id_order_number")
        ),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_orders_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "invoices",
        sa.Column("invoice_number", sa.String(length=100), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("invoice_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("amount_without_tax", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("tax_amount", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("balance", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_invoices_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_invoices_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_invoices_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint(
            "tenant_id", "invoice_number", name=op.f("uq_invoices_tenant_id_invoice_number")
        ),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoices_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoices_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoices_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "order_actions",
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("subscription_sequence", sa.Integer(), nullable=False),
        sa.Column("subscription_number", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=30), nullable=False),
        sa.Column("contract_effective_date", sa.Date(), nullable=False),
        sa.Column("service_activation_date", sa.Date(), nullable=False),
        sa.Column("customer_acceptance_date", sa.Date(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_order_actions_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_order_actions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_actions")),
    )
    with op.batch_alter_table("order_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_actions_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_actions_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "subscriptions",
        sa.Column("subscription_number", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("is_latest", sa.Boolean(), nullable=False),
        sa.Column("account_id", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("term_type", sa.String(length=20), nullable=False),
        sa.Column("contract_effective_date", sa.Date(), nullable=False),
        sa.Column("service_activation_date", sa.Date(), nullable=False),
        sa.Column("customer_acceptance_date", sa.Date(), nullable=False),
        sa.Column("term_start_date", sa.Date(), nullable=False),
        sa.Column("term_end_date", sa.Date(), nullable=True),
        sa.Column("initial_term", sa.Integer(), nullable=True),
        sa.Column("initial_term_period_type", sa.String(length=10), nullable=False),
        sa.Column("current_term", sa.Integer(), nullable=True),
        sa.Column("current_term_period_type", sa.String(length=10), nullable=False),
        sa.Column("renewal_term", sa.Integer(), nullable=True),
        sa.Column("renewal_term_period_type", sa.String(length=10), nullable=False),
        sa.Column("renewal_setting", sa.String(length=30), nullable=False),
        sa.Column("auto_renew", sa.Boolean(), nullable=False),
        sa.Column("cancelled_date", sa.Date(), nullable=True),
        sa.Column("notes", sa.String(length=500), nullable=True),
        sa.Column("custom_fields", sa.JSON(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_subscriptions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_subscriptions_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_subscriptions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        sa.UniqueConstraint(
            "tenant_id",
            "subscription_number",
            "version",
            name=op.f("uq_subscriptions_tenant_id_subscription_number_version"),
        ),
    )
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_subscriptions_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_subscriptions_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_subscriptions_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "subscription_rate_plans",
        sa.Column("subscription_id", sa.String(length=32), nullable=False),
        sa.Column("original_rate_plan_id", sa.String(length=32), nullable=False),
        sa.Column("product_rate_plan_id", sa.String(length=32), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("last_change_type", sa.String(length=10), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_rate_plan_id"],
            ["product_rate_plans.id"],
            name=op.f("fk_subscription_rate_plans_product_rate_plan_id_product_rate_plans"),
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_subscription_rate_plans_subscription_id_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_subscription_rate_plans_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_rate_plans")),
    )
    with op.batch_alter_table("subscription_rate_plans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_subscription_rate_plans_product_rate_plan_id"),
            ["product_rate_plan_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_subscription_rate_plans_subscription_id"),
            ["subscription_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_subscription_rate_plans_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "subscription_charges",
        sa.Column("rate_plan_id", sa.String(length=32), nullable=False),
        sa.Column("charge_number", sa.String(length=50), nullable=False),
        sa.Column("segment", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("product_rate_plan_charge_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("charge_type", sa.String(length=20), nullable=False),
        sa.Column("charge_model", sa.String(length=20), nullable=False),
        sa.Column("billing_period", sa.String(length=20), nullable=True),
        sa.Column("trigger_event", sa.String(length=30), nullable=False),
        sa.Column("uom", sa.String(length=25), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("price", sa.Numeric(precision=24, scale=9), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=24, scale=9), nullable=True),
        sa.Column("effective_start_date", sa.Date(), nullable=False),
        sa.Column("effective_end_date", sa.Date(), nullable=True),
        sa.Column("charged_through_date", sa.Date(), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_rate_plan_charge_id"],
            ["product_rate_plan_charges.id"],
            name=op.f(
                "fk_subscription_charges_product_rate_plan_charge_id_product_rate_plan_charges"
            ),
        ),
        sa.ForeignKeyConstraint(
            ["rate_plan_id"],
            ["subscription_rate_plans.id"],
            name=op.f("fk_subscription_charges_rate_plan_id_subscription_rate_plans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_subscription_charges_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_charges")),
        sa.UniqueConstraint(
            "rate_plan_id",
            "charge_number",
            "segment",
            name=op.f("uq_subscription_charges_rate_plan_id_charge_number_segment"),
        ),
    )
    with op.batch_alter_table("subscription_charges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_subscription_charges_product_rate_plan_charge_id"),
            ["product_rate_plan_charge_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_subscription_charges_rate_plan_id"), ["rate_plan_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_subscription_charges_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "invoice_items",
        sa.Column("invoice_id", sa.String(length=32), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.String(length=32), nullable=False),
        sa.Column("subscription_number", sa.String(length=100), nullable=False),
        sa.Column("charge_id", sa.String(length=32), nullable=False),
        sa.Column("charge_number", sa.String(length=50), nullable=False),
        sa.Column("charge_name", sa.String(length=150), nullable=False),
        sa.Column("charge_type", sa.String(length=20), nullable=False),
        sa.Column("product_name", sa.String(length=100), nullable=False),
        sa.Column("sku", sa.String(length=50), nullable=False),
        sa.Column("product_rate_plan_charge_id", sa.String(length=32), nullable=False),
        sa.Column("uom", sa.String(length=25), nullable=True),
        sa.Column("service_start_date", sa.Date(), nullable=False),
        sa.Column("service_end_date", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=24, scale=9), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=24, scale=9), nullable=False),
        sa.Column("amount", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("tax_amount", sa.Numeric(precision=20, scale=4), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["charge_id"],
            ["subscription_charges.id"],
            name=op.f("fk_invoice_items_charge_id_subscription_charges"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoice_items_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_invoice_items_subscription_id_subscriptions"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_invoice_items_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_items")),
    )
    with op.batch_alter_table("invoice_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoice_items_charge_id"), ["charge_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_invoice_items_invoice_id"), ["invoice_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_invoice_items_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("invoice_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_items_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_invoice_items_invoice_id"))
        batch_op.drop_index(batch_op.f("ix_invoice_items_charge_id"))

    op.drop_table("invoice_items")
    with op.batch_alter_table("subscription_charges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subscription_charges_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_subscription_charges_rate_plan_id"))
        batch_op.drop_index(batch_op.f("ix_subscription_charges_product_rate_plan_charge_id"))

    op.drop_table("subscription_charges")
    with op.batch_alter_table("subscription_rate_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subscription_rate_plans_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_subscription_rate_plans_subscription_id"))
        batch_op.drop_index(batch_op.f("ix_subscription_rate_plans_product_rate_plan_id"))

    op.drop_table("subscription_rate_plans")
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subscriptions_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_subscriptions_order_id"))
        batch_op.drop_index(batch_op.f("ix_subscriptions_account_id"))

    op.drop_table("subscriptions")
    with op.batch_alter_table("order_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_actions_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_order_actions_order_id"))

    op.drop_table("order_actions")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoices_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_invoices_order_id"))
        batch_op.drop_index(batch_op.f("ix_invoices_account_id"))

    op.drop_table("invoices")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_orders_account_id"))

    op.drop_table("orders")
