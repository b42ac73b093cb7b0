"""Subscriptions, in versions: every order that changes a subscription writes a new version of
it (a copy of the latest with the order's changes), and the old versions stay as they were.

A version holds rate plans; a rate plan holds charges. A charge is kept in segments: a change
of quantity ends the current segment on its date and starts a new one, as Zuora does; every
segment is billed on its own. Charge numbers (``C-00000001``) and the original rate plan's ID
stay the same from version to version; row IDs are new in each version.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from asyncgate.billing.catalog.models import CATALOG_DECIMAL, ProductRatePlan
from asyncgate.billing.invoices.charges import Charge, ChargeType, RestChargeModel
from asyncgate.billing.invoices.periods import BillingPeriod
from asyncgate.db.base import Base, IdMixin, TenantMixin, TimestampMixin

if TYPE_CHECKING:
    from asyncgate.billing.accounts.models import Account
    from asyncgate.billing.orders.models import Order


class SubscriptionStatus(StrEnum):
    ACTIVE = "Active"
    CANCELLED = "Cancelled"


class TermType(StrEnum):
    TERMED = "TERMED"
    EVERGREEN = "EVERGREEN"


class RenewalSetting(StrEnum):
    RENEW_WITH_SPECIFIC_TERM = "RENEW_WITH_SPECIFIC_TERM"
    RENEW_TO_EVERGREEN = "RENEW_TO_EVERGREEN"


class ChangeType(StrEnum):
    """A rate plan's ``lastChangeType``; none for the rate plans a subscription was created with."""

    ADD = "Add"
    UPDATE = "Update"
    REMOVE = "Remove"


class Subscription(IdMixin, TenantMixin, TimestampMixin, Base):
    """One version of a subscription. The latest version of each number is ``is_latest``.

    ``term_end_date`` is exclusive, as Zuora's ``termEndDate``, and None for an evergreen
    subscription; so are the charges' ``effective_end_date``. ``cancelled_date`` is the
    effective date of a cancellation (the subscription's end).
    """

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("tenant_id", "subscription_number", "version"),)

    subscription_number: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    is_latest: Mapped[bool] = mapped_column(Boolean, default=True)
    account_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    order_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default=SubscriptionStatus.ACTIVE)
    term_type: Mapped[str] = mapped_column(String(20))
    contract_effective_date: Mapped[date] = mapped_column(Date)
    service_activation_date: Mapped[date] = mapped_column(Date)
    customer_acceptance_date: Mapped[date] = mapped_column(Date)
    term_start_date: Mapped[date] = mapped_column(Date)
    term_end_date: Mapped[date | None] = mapped_column(Date, default=None)
    initial_term: Mapped[int | None] = mapped_column(Integer, default=None)
    initial_term_period_type: Mapped[str] = mapped_column(String(10), default="Month")
    current_term: Mapped[int | None] = mapped_column(Integer, default=None)
    current_term_period_type: Mapped[str] = mapped_column(String(10), default="Month")
    renewal_term: Mapped[int | None] = mapped_column(Integer, default=None)
    renewal_term_period_type: Mapped[str] = mapped_column(String(10), default="Month")
    renewal_setting: Mapped[str] = mapped_column(
        String(30), default=RenewalSetting.RENEW_WITH_SPECIFIC_TERM
    )
    auto_renew: Mapped[bool] = mapped_column(Boolean, default=False)
    cancelled_date: Mapped[date | None] = mapped_column(Date, default=None)
    notes: Mapped[str | None] = mapped_column(String(500), default=None)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    account: Mapped[Account] = relationship(lazy="raise")
    order: Mapped[Order] = relationship(lazy="raise")
    rate_plans: Mapped[list[SubscriptionRatePlan]] = relationship(
        back_populates="subscription",
        lazy="raise",
        cascade="all, delete-orphan",
        order_by="SubscriptionRatePlan.sequence",
    )

    @property
    def subscription_end_date(self) -> date | None:
        """Zuora's ``subscriptionEndDate``: the cancellation date, else the term end."""
        return self.cancelled_date or self.term_end_date

    @property
    def charges(self) -> list[SubscriptionCharge]:
        """Every charge segment of the version, rate plan by rate plan (needs both loaded)."""
        return [charge for rate_plan in self.rate_plans for charge in rate_plan.charges]


class SubscriptionRatePlan(IdMixin, TenantMixin, TimestampMixin, Base):
    """A product rate plan as subscribed to; ``original_rate_plan_id`` is the ID its first
    version had, the same in every version."""

    __tablename__ = "subscription_rate_plans"

    subscription_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    original_rate_plan_id: Mapped[str] = mapped_column(String(32))
    product_rate_plan_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("product_rate_plans.id"), index=True
    )
    sequence: Mapped[int] = mapped_column(Integer)
    last_change_type: Mapped[str | None] = mapped_column(String(10), default=None)

    subscription: Mapped[Subscription] = relationship(back_populates="rate_plans", lazy="raise")
    product_rate_plan: Mapped[ProductRatePlan] = relationship(lazy="raise")
    charges: Mapped[list[SubscriptionCharge]] = relationship(
        back_populates="rate_plan",
        lazy="raise",
        cascade="all, delete-orphan",
        order_by="(SubscriptionCharge.sequence, SubscriptionCharge.segment)",
    )

    @property
    def removed(self) -> bool:
        return self.last_change_type == ChangeType.REMOVE


class SubscriptionCharge(IdMixin, TenantMixin, TimestampMixin, Base):
    """One segment of a subscribed charge, with its own price, quantity and dates.

    Values are copied from the catalog when subscribed, so a later catalog change does not
    reach existing subscriptions (Zuora's ``NoChange``). ``charge_type`` and ``charge_model``
    hold the REST spellings (``Recurring``, ``PerUnit``). Dates are half-open: the effective end
    date and ``charged_through_date`` (the day after the last billed day) are exclusive.
    """

    __tablename__ = "subscription_charges"
    __table_args__ = (UniqueConstraint("rate_plan_id", "charge_number", "segment"),)

    rate_plan_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("subscription_rate_plans.id", ondelete="CASCADE"), index=True
    )
    charge_number: Mapped[str] = mapped_column(String(50))
    segment: Mapped[int] = mapped_column(Integer, default=1)
    sequence: Mapped[int] = mapped_column(Integer)
    product_rate_plan_charge_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("product_rate_plan_charges.id"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    charge_type: Mapped[str] = mapped_column(String(20))
    charge_model: Mapped[str] = mapped_column(String(20))
    billing_period: Mapped[str | None] = mapped_column(String(20), default=None)
    trigger_event: Mapped[str] = mapped_column(String(30))
    uom: Mapped[str | None] = mapped_column(String(25), default=None)
    currency: Mapped[str] = mapped_column(String(3))
    price: Mapped[Decimal] = mapped_column(CATALOG_DECIMAL)
    quantity: Mapped[Decimal | None] = mapped_column(CATALOG_DECIMAL, default=None)
    effective_start_date: Mapped[date] = mapped_column(Date)
    effective_end_date: Mapped[date | None] = mapped_column(Date, default=None)
    charged_through_date: Mapped[date | None] = mapped_column(Date, default=None)

    rate_plan: Mapped[SubscriptionRatePlan] = relationship(back_populates="charges", lazy="raise")

    def to_charge(self) -> Charge:
        """The segment as billing sees it, keyed by its ID."""
        return Charge(
            key=self.id,
            charge_type=ChargeType(self.charge_type),
            model=RestChargeModel(self.charge_model),
            price=self.price,
            currency=self.currency,
            start=self.effective_start_date,
            billing_period=BillingPeriod(self.billing_period) if self.billing_period else None,
            quantity=self.quantity,
            end=self.effective_end_date,
            charged_through=self.charged_through_date,
        )
