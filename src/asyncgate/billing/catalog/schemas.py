"""Catalog shapes: what the services take (by Python name: the catalog is written through CRUD,
whose registry maps Zuora's PascalCase names onto these), and the catalog REST answers with
Zuora's camelCase names.

Input field names equal the column names of the catalog models.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, ClassVar, Literal, Self

from pydantic import ConfigDict, Field

from asyncgate.billing.catalog.models import (
    BillCycleType,
    BillingPeriod,
    ChargeModel,
    ChargeType,
    EndDateCondition,
    PriceChangeOption,
    Product,
    ProductCategory,
    ProductRatePlan,
    ProductRatePlanCharge,
    TriggerEvent,
    UpToPeriodsType,
)
from asyncgate.billing.invoices.charges import RestChargeModel
from asyncgate.billing.schemas import (
    Currency,
    Money,
    Paged,
    ZuoraInput,
    ZuoraOutput,
    plain_amount,
    stored_values,
)
from asyncgate.http.validation import JsonScalars

# At most nine decimal places and fifteen significant digits: what both backends store exactly.
CatalogDecimal = Annotated[Decimal, Field(ge=0, max_digits=15, decimal_places=9)]
PriceFormat = Literal["Flat Fee", "Per Unit"]

PRICE_FORMATS: dict[ChargeModel, str] = {
    ChargeModel.FLAT_FEE: "Flat Fee",
    ChargeModel.PER_UNIT: "Per Unit",
}
"""The tier ``PriceFormat`` each charge model implies."""


class ProductFields(ZuoraInput):
    """The optional product fields that creation and update share."""

    sku: str | None = Field(None, min_length=1, max_length=50)
    product_number: str | None = Field(None, min_length=1, max_length=100)
    category: ProductCategory | None = None
    description: str | None = Field(None, max_length=500)


class ProductCreate(ProductFields):
    """A new product; its SKU and number are generated when not given."""

    name: str = Field(min_length=1, max_length=100)
    effective_start_date: date
    effective_end_date: date


class ProductUpdate(ProductFields):
    not_nullable: ClassVar[frozenset[str]] = frozenset(
        {"sku", "product_number", "name", "effective_start_date", "effective_end_date"}
    )

    name: str | None = Field(None, min_length=1, max_length=100)
    effective_start_date: date | None = None
    effective_end_date: date | None = None


class RatePlanFields(ZuoraInput):
    product_rate_plan_number: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=500)
    effective_start_date: date | None = None
    effective_end_date: date | None = None


class RatePlanCreate(RatePlanFields):
    """A new rate plan of the product ``product_id``; its number is generated when not given."""

    product_id: str
    name: str = Field(min_length=1, max_length=255)


class RatePlanUpdate(RatePlanFields):
    not_nullable: ClassVar[frozenset[str]] = frozenset({"product_rate_plan_number", "name"})

    name: str | None = Field(None, min_length=1, max_length=255)


class ChargeTier(JsonScalars):
    """A charge's price in one currency: Zuora's ``ProductRatePlanChargeTier``. The charge
    models in scope have one tier per currency, starting at unit 0."""

    model_config = ConfigDict(extra="forbid")

    currency: Currency
    price: CatalogDecimal
    starting_unit: Literal[0] | None = None
    price_format: PriceFormat | None = None


class ChargeFields(ZuoraInput):
    """The optional charge fields that creation and update share.

    ``tiers`` are the charge's prices, one per currency; an update that gives them replaces
    the charge's prices with them. The end-date condition, up-to-periods type and price change
    option take only Zuora's defaults, which the SDK sends on every charge.
    """

    product_rate_plan_charge_number: str | None = Field(None, min_length=1, max_length=100)
    description: str | None = Field(None, max_length=500)
    billing_period: BillingPeriod | None = None
    bill_cycle_type: BillCycleType | None = None
    trigger_event: TriggerEvent | None = None
    uom: str | None = Field(None, min_length=1, max_length=25)
    default_quantity: CatalogDecimal | None = None
    end_date_condition: EndDateCondition | None = None
    up_to_periods_type: UpToPeriodsType | None = None
    price_change_option: PriceChangeOption | None = None
    use_discount_specific_accounting_code: bool | None = None
    exclude_item_billing_from_revenue_accounting: bool | None = None
    exclude_item_booking_from_revenue_accounting: bool | None = None
    tiers: list[ChargeTier] | None = Field(None, min_length=1)


class ChargeCreate(ChargeFields):
    """A new charge of the rate plan ``product_rate_plan_id``."""

    product_rate_plan_id: str
    name: str = Field(min_length=1, max_length=100)
    charge_type: ChargeType
    charge_model: ChargeModel
    tiers: list[ChargeTier] = Field(min_length=1)


class ChargeUpdate(ChargeFields):
    not_nullable: ClassVar[frozenset[str]] = frozenset(
        {
            "product_rate_plan_charge_number",
            "name",
            "charge_model",
            "bill_cycle_type",
            "trigger_event",
            "end_date_condition",
            "up_to_periods_type",
            "price_change_option",
            "use_discount_specific_accounting_code",
            "exclude_item_billing_from_revenue_accounting",
            "exclude_item_booking_from_revenue_accounting",
            "tiers",
        }
    )

    name: str | None = Field(None, min_length=1, max_length=100)
    charge_model: ChargeModel | None = None


# The catalog REST answers (and subscriptions) spell these values unlike CRUD.
REST_MODELS = {
    ChargeModel.FLAT_FEE: RestChargeModel.FLAT_FEE.value,
    ChargeModel.PER_UNIT: RestChargeModel.PER_UNIT.value,
}
_REST_END_DATE_CONDITIONS = {EndDateCondition.SUBSCRIPTION_END: "Subscription_End"}


class ChargePricing(ZuoraOutput):
    """One currency's price (the SDK's ``GetProductRatePlanChargePricingType``); the fields of
    other charge models are written as null, as Zuora does."""

    currency: str
    price: Money
    tiers: None = None
    included_units: None = Field(None, alias="includedUnits")
    overage_price: None = Field(None, alias="overagePrice")
    discount_percentage: None = Field(None, alias="discountPercentage")
    discount_amount: None = Field(None, alias="discountAmount")


_NOT_CHARGE_COLUMNS = frozenset(
    {"type", "model", "billing_day", "end_date_condition", "pricing", "pricing_summary"}
)
"""The fields of a catalog charge that are not columns of the charge by the same name."""


class CatalogCharge(ZuoraOutput):
    """A charge as the catalog lists it (the SDK's ``ProductRatePlanChargeRest``)."""

    id: str
    name: str
    type: str
    model: str
    description: str | None
    product_rate_plan_charge_number: str = Field(alias="productRatePlanChargeNumber")
    uom: str | None
    default_quantity: Money | None = Field(alias="defaultQuantity")
    billing_day: str = Field(alias="billingDay")
    billing_period: str | None = Field(alias="billingPeriod")
    trigger_event: str = Field(alias="triggerEvent")
    end_date_condition: str = Field(alias="endDateCondition")
    price_change_option: str = Field(alias="priceChangeOption")
    use_discount_specific_accounting_code: bool = Field(alias="useDiscountSpecificAccountingCode")
    exclude_item_billing_from_revenue_accounting: bool = Field(
        alias="excludeItemBillingFromRevenueAccounting"
    )
    exclude_item_booking_from_revenue_accounting: bool = Field(
        alias="excludeItemBookingFromRevenueAccounting"
    )
    pricing: list[ChargePricing]
    pricing_summary: list[str] = Field(alias="pricingSummary")

    @classmethod
    def of(cls, charge: ProductRatePlanCharge) -> CatalogCharge:
        """``charge`` must have its prices loaded."""
        per = f"/{charge.uom}" if charge.charge_model == ChargeModel.PER_UNIT else ""
        return cls(
            **stored_values(cls, charge, exclude=_NOT_CHARGE_COLUMNS),
            type=charge.charge_type,
            model=REST_MODELS[ChargeModel(charge.charge_model)],
            billing_day=charge.bill_cycle_type,
            end_date_condition=_REST_END_DATE_CONDITIONS[
                EndDateCondition(charge.end_date_condition)
            ],
            pricing=[
                ChargePricing(currency=row.currency, price=row.price) for row in charge.prices
            ],
            pricing_summary=[
                f"{row.currency}{plain_amount(row.price)}{per}" for row in charge.prices
            ],
            **charge.custom_fields,
        )


class CatalogRatePlan(ZuoraOutput):
    """A rate plan with its charges (the SDK's ``ProductRatePlan``)."""

    id: str
    product_rate_plan_number: str = Field(alias="productRatePlanNumber")
    name: str
    description: str | None
    effective_start_date: date | None = Field(alias="effectiveStartDate")
    effective_end_date: date | None = Field(alias="effectiveEndDate")
    status: str
    product_rate_plan_charges: list[CatalogCharge] = Field(alias="productRatePlanCharges")

    @classmethod
    def of(cls, rate_plan: ProductRatePlan, product: Product, today: date) -> CatalogRatePlan:
        """``rate_plan`` must have its charges and their prices loaded."""
        return cls(
            **stored_values(
                cls, rate_plan, exclude=frozenset({"status", "product_rate_plan_charges"})
            ),
            status=rate_plan.status_on(today, product),
            product_rate_plan_charges=[CatalogCharge.of(charge) for charge in rate_plan.charges],
            **rate_plan.custom_fields,
        )


class CatalogProduct(ZuoraOutput):
    """A product (the SDK's ``Product``). Its ``productRatePlans`` are the rate plans
    themselves, or, from ``Zuora-Version`` 230.0 on, the URL that lists them."""

    id: str
    sku: str
    product_number: str = Field(alias="productNumber")
    name: str
    category: str | None
    description: str | None
    effective_start_date: date = Field(alias="effectiveStartDate")
    effective_end_date: date = Field(alias="effectiveEndDate")
    product_rate_plans: str | list[CatalogRatePlan] = Field(alias="productRatePlans")

    @classmethod
    def of(cls, product: Product, *, rate_plans_as_url: bool, today: date) -> Self:
        """Unless ``rate_plans_as_url``, ``product`` must have its rate plans, their charges
        and the charges' prices loaded."""
        rate_plans: str | list[CatalogRatePlan] = rate_plans_url(product.id)
        if not rate_plans_as_url:
            rate_plans = [CatalogRatePlan.of(plan, product, today) for plan in product.rate_plans]
        return cls(
            **stored_values(CatalogProduct, product, exclude=frozenset({"product_rate_plans"})),
            product_rate_plans=rate_plans,
            **product.custom_fields,
        )


def rate_plans_url(product_id: str) -> str:
    return f"/v1/rateplan/{product_id}/productRatePlan"


class ProductResponse(CatalogProduct):
    """``GET /v1/catalog/product/{product-key}``."""

    success: bool = True


class ProductsPage(Paged):
    """``GET /v1/catalog/products`` (the SDK's ``GetProductsResponse``)."""

    products: list[CatalogProduct]


class RatePlansPage(Paged):
    """``GET /v1/rateplan/{product-key}/productRatePlan`` (the SDK's
    ``GetProductRatePlansByProductResponse``)."""

    product_rate_plans: list[CatalogRatePlan] = Field(alias="productRatePlans")
