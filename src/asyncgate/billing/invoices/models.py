"""Stored invoices: what a bill run (``processingOptions.runBilling``) created, item by item.

Amounts are rounded to the currency when computed (see ``rating``) and stored as they are.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from asyncgate.billing.accounts.models import MONEY
from asyncgate.billing.catalog.models import CATALOG_DECIMAL
from asyncgate.db.base import Base, IdMixin, TenantMixin, TimestampMixin


class Invoice(IdMixin, TenantMixin, TimestampMixin, Base):
    """A posted invoice of an account; ``order_id`` names the order whose bill run made it."""

    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("tenant_id", "invoice_number"),)

    invoice_number: Mapped[str] = mapped_column(String(100))
    account_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    order_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("orders.id", ondelete="CASCADE"), index=True, default=None
    )
    status: Mapped[str] = mapped_column(String(20), default="Posted")
    invoice_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    target_date: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    amount_without_tax: Mapped[Decimal] = mapped_column(MONEY)
    tax_amount: Mapped[Decimal] = mapped_column(MONEY)
    balance: Mapped[Decimal] = mapped_column(MONEY)

    items: Mapped[list[InvoiceItem]] = relationship(
        back_populates="invoice",
        lazy="raise",
        cascade="all, delete-orphan",
        order_by="InvoiceItem.sequence",
    )


class InvoiceItem(IdMixin, TenantMixin, TimestampMixin, Base):
    """One line of an invoice: a charge segment over a service period (``service_end_date``
    is the last day served). Names are copied when billed, as an invoice never changes."""

    __tablename__ = "invoice_items"

    invoice_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    sequence: Mapped[int] = mapped_column(Integer)
    subscription_id: Mapped[str] = mapped_column(String(32), ForeignKey("subscriptions.id"))
    subscription_number: Mapped[str] = mapped_column(String(100))
    charge_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("subscription_charges.id"), index=True
    )
    charge_number: Mapped[str] = mapped_column(String(50))
    charge_name: Mapped[str] = mapped_column(String(150))
    charge_type: Mapped[str] = mapped_column(String(20))
    product_name: Mapped[str] = mapped_column(String(100))
    sku: Mapped[str] = mapped_column(String(50))
    product_rate_plan_charge_id: Mapped[str] = mapped_column(String(32))
    uom: Mapped[str | None] = mapped_column(String(25), default=None)
    service_start_date: Mapped[date] = mapped_column(Date)
    service_end_date: Mapped[date] = mapped_column(Date)
    quantity: Mapped[Decimal] = mapped_column(CATALOG_DECIMAL)
    unit_price: Mapped[Decimal] = mapped_column(CATALOG_DECIMAL)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    tax_amount: Mapped[Decimal] = mapped_column(MONEY)

    invoice: Mapped[Invoice] = relationship(back_populates="items", lazy="raise")
