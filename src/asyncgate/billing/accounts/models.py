"""The customer account table."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from asyncgate.billing.contacts.models import Contact
from asyncgate.db.base import Base, IdMixin, TenantMixin, TimestampMixin

MONEY = Numeric(20, 4)


class AccountStatus(StrEnum):
    DRAFT = "Draft"
    ACTIVE = "Active"
    CANCELED = "Canceled"


class Account(IdMixin, TenantMixin, TimestampMixin, Base):
    """A customer account. Column names match the Python names of the account schemas.

    The bill-to and sold-to contacts are rows of ``contacts`` that belong to this account; the
    two tables reference each other, so the account's pointers are written after both rows exist
    (``post_update``) and their foreign keys are created after both tables (``use_alter``).
    """

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("tenant_id", "account_number"),)
    tenant_id_indexed = False  # the unique constraint's index leads with it

    account_number: Mapped[str] = mapped_column(String(70))
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20), default=AccountStatus.ACTIVE)
    currency: Mapped[str] = mapped_column(String(3))
    bill_cycle_day: Mapped[int] = mapped_column(Integer, default=1)
    payment_term: Mapped[str] = mapped_column(String(100), default="Due Upon Receipt")
    auto_pay: Mapped[bool] = mapped_column(Boolean, default=False)
    batch: Mapped[str] = mapped_column(String(50), default="Batch1")
    invoice_delivery_prefs_email: Mapped[bool] = mapped_column(Boolean, default=False)
    invoice_delivery_prefs_print: Mapped[bool] = mapped_column(Boolean, default=False)
    additional_email_addresses: Mapped[list[str]] = mapped_column(JSON, default=list)
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    crm_id: Mapped[str | None] = mapped_column(String(100), default=None)
    invoice_template_id: Mapped[str | None] = mapped_column(String(32), default=None)
    sales_rep: Mapped[str | None] = mapped_column(String(50), default=None)
    customer_service_rep_name: Mapped[str | None] = mapped_column(String(50), default=None)
    purchase_order_number: Mapped[str | None] = mapped_column(String(100), default=None)
    payment_gateway: Mapped[str | None] = mapped_column(String(40), default=None)
    # Balances in the account's currency; invoicing and payments keep them current.
    balance: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    total_invoice_balance: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    credit_balance: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    # Tenant-defined ``*__c`` fields, stored and returned exactly as sent.
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    bill_to_contact_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("contacts.id", use_alter=True), default=None
    )
    sold_to_contact_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("contacts.id", use_alter=True), default=None
    )

    bill_to_contact: Mapped[Contact | None] = relationship(
        foreign_keys=[bill_to_contact_id], lazy="raise", post_update=True
    )
    sold_to_contact: Mapped[Contact | None] = relationship(
        foreign_keys=[sold_to_contact_id], lazy="raise", post_update=True
    )


@dataclass(frozen=True, slots=True)
class CreatedAccount:
    """What creating an account returns: the new row is written without ORM objects, so this
    carries what its callers answer with."""

    id: str
    account_number: str
    status: AccountStatus
    bill_to_contact_id: str | None
    sold_to_contact_id: str | None
