"""the product catalog: products, rate plans, charges and their prices

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 00:03:41.132443
"""

import sqlalchemy as sa
from alembic import op

import asyncgate.db.base

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("sku", sa.String(length=50), nullable=False),
        sa.Column("product_number", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=True),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("effective_start_date", sa.Date(), nullable=False),
        sa.Column("effective_end_date", sa.Date(), nullable=False),
        sa.Column("custom_fields", sa.JSON(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_products_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_products_tenant_id_name")),
        sa.UniqueConstraint(
            "tenant_id", "product_number", name=op.f("uq_products_tenant_id_product_number")
        ),
        sa.UniqueConstraint("tenant_id", "sku", name=op.f("uq_products_tenant_id_sku")),
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_products_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "product_rate_plans",
        sa.Column("product_id", sa.String(length=32), nullable=False),
        sa.Column("product_rate_plan_number", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("effective_start_date", sa.Date(), nullable=True),
        sa.Column("effective_end_date", sa.Date(), nullable=True),
        sa.Column("custom_fields", sa.JSON(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_product_rate_plans_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_product_rate_plans_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_rate_plans")),
        sa.UniqueConstraint(
            "product_id", "name", name=op.f("uq_product_rate_plans_product_id_name")
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "product_rate_plan_number",
            name=op.f("uq_product_rate_plans_tenant_id_product_rate_plan_number"),
        ),
    )
    with op.batch_alter_table("product_rate_plans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_product_rate_plans_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "product_rate_plan_charges",
        sa.Column("product_rate_plan_id", sa.String(length=32), nullable=False),
        sa.Column("product_rate_plan_charge_number", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("charge_type", sa.String(length=20), nullable=False),
        sa.Column("charge_model", sa.String(length=40), nullable=False),
        sa.Column("billing_period", sa.String(length=20), nullable=True),
        sa.Column("bill_cycle_type", sa.String(length=30), nullable=False),
        sa.Column("trigger_event", sa.String(length=30), nullable=False),
        sa.Column("uom", sa.String(length=25), nullable=True),
        sa.Column("default_quantity", sa.Numeric(precision=24, scale=9), nullable=True),
        sa.Column("end_date_condition", sa.String(length=20), nullable=False),
        sa.Column("up_to_periods_type", sa.String(length=20), nullable=False),
        sa.Column("price_change_option", sa.String(length=40), nullable=False),
        sa.Column("use_discount_specific_accounting_code", sa.Boolean(), nullable=False),
        sa.Column("exclude_item_billing_from_revenue_accounting", sa.Boolean(), nullable=False),
        sa.Column("exclude_item_booking_from_revenue_accounting", sa.Boolean(), nullable=False),
        sa.Column("custom_fields", sa.JSON(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_rate_plan_id"],
            ["product_rate_plans.id"],
            name=op.f("fk_product_rate_plan_charges_product_rate_plan_id_product_rate_plans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_product_rate_plan_charges_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_rate_plan_charges")),
        sa.UniqueConstraint(
            "product_rate_plan_id",
            "name",
            name=op.f("uq_product_rate_plan_charges_product_rate_plan_id_name"),
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "product_rate_plan_charge_number",
            name=op.f("uq_product_rate_plan_charges_tenant_id_product_rate_plan_charge_number"),
        ),
    )
    with op.batch_alter_table("product_rate_plan_charges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_product_rate_plan_charges_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "product_rate_plan_charge_prices",
        sa.Column("product_rate_plan_charge_id", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("price", sa.Numeric(precision=24, scale=9), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.Column("updated_at", asyncgate.db.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_rate_plan_charge_id"],
            ["product_rate_plan_charges.id"],
            name=op.f(
                "fk_product_rate_plan_charge_prices_product_rate_plan_charge_id_product_rate_plan_charges"
            ),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_product_rate_plan_charge_prices_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_rate_plan_charge_prices")),
        sa.UniqueConstraint(
            "product_rate_plan_charge_id",
            "currency",
            name=op.f("uq_product_rate_plan_charge_prices_product_rate_plan_charge_id_currency"),
        ),
    )
    with op.batch_alter_table("product_rate_plan_charge_prices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_product_rate_plan_charge_prices_tenant_id"), ["tenant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("product_rate_plan_charge_prices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_rate_plan_charge_prices_tenant_id"))

    op.drop_table("product_rate_plan_charge_prices")
    with op.batch_alter_table("product_rate_plan_charges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_rate_plan_charges_tenant_id"))

    op.drop_table("product_rate_plan_charges")
    with op.batch_alter_table("product_rate_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_rate_plans_tenant_id"))

    op.drop_table("product_rate_plans")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_products_tenant_id"))

    op.drop_table("products")
