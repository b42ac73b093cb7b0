"""The contact table: people and addresses that belong to one customer account."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from asyncgate.db.base import Base, IdMixin, TenantMixin, TimestampMixin

if TYPE_CHECKING:
    from asyncgate.billing.accounts.models import Account


class Contact(IdMixin, TenantMixin, TimestampMixin, Base):
    """A contact of an account. Column names match the Python names of the contact schemas, so a
    validated payload maps onto a row field by field."""

    __tablename__ = "contacts"
    # Reached by ID or by account, never by tenant alone: an index of the tenant would only
    # cost every insert a B-tree more to write.
    tenant_id_indexed = False

    account_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    nickname: Mapped[str | None] = mapped_column(String(100), default=None)
    contact_description: Mapped[str | None] = mapped_column(String(100), default=None)
    address1: Mapped[str | None] = mapped_column(String(255), default=None)
    address2: Mapped[str | None] = mapped_column(String(255), default=None)
    city: Mapped[str | None] = mapped_column(String(100), default=None)
    county: Mapped[str | None] = mapped_column(String(100), default=None)
    state: Mapped[str | None] = mapped_column(String(100), default=None)
    country: Mapped[str | None] = mapped_column(String(64), default=None)
    zip_code: Mapped[str | None] = mapped_column(String(20), default=None)
    tax_region: Mapped[str | None] = mapped_column(String(100), default=None)
    work_email: Mapped[str | None] = mapped_column(String(80), default=None)
    personal_email: Mapped[str | None] = mapped_column(String(80), default=None)
    work_phone: Mapped[str | None] = mapped_column(String(40), default=None)
    home_phone: Mapped[str | None] = mapped_column(String(40), default=None)
    mobile_phone: Mapped[str | None] = mapped_column(String(100), default=None)
    other_phone: Mapped[str | None] = mapped_column(String(40), default=None)
    other_phone_type: Mapped[str | None] = mapped_column(String(20), default=None)
    fax: Mapped[str | None] = mapped_column(String(40), default=None)
    # Tenant-defined ``*__c`` fields, stored and returned exactly as sent.
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    account: Mapped[Account] = relationship(foreign_keys=[account_id], lazy="raise")
