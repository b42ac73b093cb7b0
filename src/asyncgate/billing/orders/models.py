"""Orders and their actions. The subscription versions an order wrote point back at it
(``Subscription.order_id``), and so do the invoices its bill run created."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from asyncgate.db.base import Base, IdMixin, TenantMixin, TimestampMixin


class OrderActionType(StrEnum):
    CREATE_SUBSCRIPTION = "CreateSubscription"
    ADD_PRODUCT = "AddProduct"
    UPDATE_PRODUCT = "UpdateProduct"
    REMOVE_PRODUCT = "RemoveProduct"
    CANCEL_SUBSCRIPTION = "CancelSubscription"
    RENEW_SUBSCRIPTION = "RenewSubscription"
    TERMS_AND_CONDITIONS = "TermsAndConditions"


class Order(IdMixin, TenantMixin, TimestampMixin, Base):
    """An order, as executed: asyncgate completes every order when it is created."""

    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("tenant_id", "order_number"),)

    order_number: Mapped[str] = mapped_column(String(100))
    account_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    order_date: Mapped[date] = mapped_column(Date)
    description: Mapped[str | None] = mapped_column(String(500), default=None)
    category: Mapped[str] = mapped_column(String(20), default="NewSales")
    status: Mapped[str] = mapped_column(String(20), default="Completed")
    created_by: Mapped[str | None] = mapped_column(String(64), default=None)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actions: Mapped[list[OrderAction]] = relationship(
        back_populates="order",
        lazy="raise",
        cascade="all, delete-orphan",
        order_by="OrderAction.sequence",
    )


class OrderAction(IdMixin, TenantMixin, TimestampMixin, Base):
    """One action of an order, on one subscription, with its trigger dates. ``details`` holds
    what the action did in the shape Zuora's order answer gives it (``{"addProduct": {...}}``).
    """

    __tablename__ = "order_actions"

    order_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    sequence: Mapped[int] = mapped_column(Integer)
    subscription_sequence: Mapped[int] = mapped_column(Integer)
    subscription_number: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(30))
    contract_effective_date: Mapped[date] = mapped_column(Date)
    service_activation_date: Mapped[date] = mapped_column(Date)
    customer_acceptance_date: Mapped[date] = mapped_column(Date)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    order: Mapped[Order] = relationship(back_populates="actions", lazy="raise")
