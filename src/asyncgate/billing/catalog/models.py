"""The product catalog: products, their rate plans, the rate plans' charges and their prices.

Column names match the Python names of the catalog's input schemas, so services copy validated
values onto rows by name. Enumerated columns hold Zuora's CRUD spellings; the catalog REST
answers spell some of them differently (see the schemas).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from asyncgate.db.base import Base, IdMixin, TenantMixin, TimestampMixin

# Nine decimal places, as Zuora keeps prices and quantities; inputs are limited to digits
# that both backends store exactly (SQLite keeps numbers as doubles).
CATALOG_DECIMAL = Numeric(24, 9)


class ProductCategory(StrEnum):
    BASE_PRODUCTS = "Base Products"
    ADD_ON_SERVICES = "Add On Services"
    MISCELLANEOUS_PRODUCTS = "Miscellaneous Products"


class ChargeType(StrEnum):
    ONE_TIME = "OneTime"
    RECURRING = "Recurring"


class ChargeModel(StrEnum):
    """As the object API (CRUD) writes it and the catalog stores it; the REST answers spell it
    as ``RestChargeModel`` does (``FlatFee``)."""

    FLAT_FEE = "Flat Fee Pricing"
    PER_UNIT = "Per Unit Pricing"


class BillingPeriod(StrEnum):
    MONTH = "Month"
    QUARTER = "Quarter"
    ANNUAL = "Annual"


class BillCycleType(StrEnum):
    DEFAULT_FROM_CUSTOMER = "DefaultFromCustomer"
    SUBSCRIPTION_START_DAY = "SubscriptionStartDay"
    CHARGE_TRIGGER_DAY = "ChargeTriggerDay"


class TriggerEvent(StrEnum):
    CONTRACT_EFFECTIVE = "ContractEffective"
    SERVICE_ACTIVATION = "ServiceActivation"
    CUSTOMER_ACCEPTANCE = "CustomerAcceptance"


class EndDateCondition(StrEnum):
    SUBSCRIPTION_END = "SubscriptionEnd"


class UpToPeriodsType(StrEnum):
    BILLING_PERIODS = "Billing Periods"


class PriceChangeOption(StrEnum):
    NO_CHANGE = "NoChange"


class RatePlanStatus(StrEnum):
    ACTIVE = "Active"
    EXPIRED = "Expired"
    NOT_STARTED = "NotStarted"


class Product(IdMixin, TenantMixin, TimestampMixin, Base):
    """A product of the catalog. Its SKU, number and name are each unique in the tenant."""

    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sku"),
        UniqueConstraint("tenant_id", "product_number"),
        UniqueConstraint("tenant_id", "name"),
    )

    sku: Mapped[str] = mapped_column(String(50))
    product_number: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    category: Mapped[str | None] = mapped_column(String(30), default=None)
    description: Mapped[str | None] = mapped_column(String(500), default=None)
    effective_start_date: Mapped[date] = mapped_column(Date)
    effective_end_date: Mapped[date] = mapped_column(Date)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    rate_plans: Mapped[list[ProductRatePlan]] = relationship(
        back_populates="product",
        lazy="raise",
        order_by="(ProductRatePlan.created_at, ProductRatePlan.id)",
    )


class ProductRatePlan(IdMixin, TenantMixin, TimestampMixin, Base):
    """A rate plan of a product; its name is unique within the product. Without effective
    dates of its own it is available whenever its product is."""

    __tablename__ = "product_rate_plans"
    __table_args__ = (
        UniqueConstraint("tenant_id", "product_rate_plan_number"),
        UniqueConstraint("product_id", "name"),
    )

    product_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("products.id", ondelete="CASCADE")
    )
    product_rate_plan_number: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(500), default=None)
    effective_start_date: Mapped[date | None] = mapped_column(Date, default=None)
    effective_end_date: Mapped[date | None] = mapped_column(Date, default=None)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    product: Mapped[Product] = relationship(back_populates="rate_plans", lazy="raise")
    charges: Mapped[list[ProductRatePlanCharge]] = relationship(
        back_populates="rate_plan",
        lazy="raise",
        order_by="(ProductRatePlanCharge.created_at, ProductRatePlanCharge.id)",
    )

    def status_on(self, day: date, product: Product) -> RatePlanStatus:
        """Whether the rate plan can be subscribed to on ``day``: its own effective dates, or
        its product's where it has none; both ends are days it is active."""
        start = self.effective_start_date or product.effective_start_date
        end = self.effective_end_date or product.effective_end_date
        if day < start:
            return RatePlanStatus.NOT_STARTED
        if day > end:
            return RatePlanStatus.EXPIRED
        return RatePlanStatus.ACTIVE


class ProductRatePlanCharge(IdMixin, TenantMixin, TimestampMixin, Base):
    """A charge of a rate plan; its name is unique within the rate plan.

    ``billing_period`` is set exactly for recurring charges; ``default_quantity`` exactly for
    per-unit charges, which also name their unit of measure (``uom``).
    """

    __tablename__ = "product_rate_plan_charges"
    __table_args__ = (
        UniqueConstraint("tenant_id", "product_rate_plan_charge_number"),
        UniqueConstraint("product_rate_plan_id", "name"),
    )

    product_rate_plan_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("product_rate_plans.id", ondelete="CASCADE")
    )
    product_rate_plan_charge_number: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(500), default=None)
    charge_type: Mapped[str] = mapped_column(String(20))
    charge_model: Mapped[str] = mapped_column(String(40))
    billing_period: Mapped[str | None] = mapped_column(String(20), default=None)
    bill_cycle_type: Mapped[str] = mapped_column(
        String(30), default=BillCycleType.DEFAULT_FROM_CUSTOMER
    )
    trigger_event: Mapped[str] = mapped_column(String(30), default=TriggerEvent.CONTRACT_EFFECTIVE)
    uom: Mapped[str | None] = mapped_column(String(25), default=None)
    default_quantity: Mapped[Decimal | None] = mapped_column(CATALOG_DECIMAL, default=None)
    end_date_condition: Mapped[str] = mapped_column(
        String(20), default=EndDateCondition.SUBSCRIPTION_END
    )
    up_to_periods_type: Mapped[str] = mapped_column(
        String(20), default=UpToPeriodsType.BILLING_PERIODS
    )
    price_change_option: Mapped[str] = mapped_column(
        String(40), default=PriceChangeOption.NO_CHANGE
    )
    use_discount_specific_accounting_code: Mapped[bool] = mapped_column(Boolean, default=False)
    exclude_item_billing_from_revenue_accounting: Mapped[bool] = mapped_column(
        Boolean, default=False
    )
    exclude_item_booking_from_revenue_accounting: Mapped[bool] = mapped_column(
        Boolean, default=False
    )
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    rate_plan: Mapped[ProductRatePlan] = relationship(back_populates="charges", lazy="raise")
    prices: Mapped[list[ProductRatePlanChargePrice]] = relationship(
        back_populates="charge",
        lazy="raise",
        cascade="all, delete-orphan",
        order_by="ProductRatePlanChargePrice.currency",
    )

    def price_in(self, currency: str) -> Decimal | None:
        """The charge's price in ``currency`` (None: not sold in it). Needs ``prices`` loaded."""
        return next((row.price for row in self.prices if row.currency == currency), None)


class ProductRatePlanChargePrice(IdMixin, TenantMixin, TimestampMixin, Base):
    """A charge's price in one currency (Zuora's flat-fee or per-unit tier of that currency)."""

    __tablename__ = "product_rate_plan_charge_prices"
    __table_args__ = (UniqueConstraint("product_rate_plan_charge_id", "currency"),)

    product_rate_plan_charge_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("product_rate_plan_charges.id", ondelete="CASCADE")
    )
    currency: Mapped[str] = mapped_column(String(3))
    price: Mapped[Decimal] = mapped_column(CATALOG_DECIMAL)

    charge: Mapped[ProductRatePlanCharge] = relationship(back_populates="prices", lazy="raise")
