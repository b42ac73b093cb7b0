"""Subscription answers with Zuora's names: the SDK's ``GetSubscriptionResponse``,
``SubscriptionRatePlan`` and ``GetSubscriptionRatePlanChargesWithAllSegments``.

A charge is shown by its last segment, as Zuora's default ``charge-detail=last-segment``
does; its ``mrr`` and ``tcv`` are those of the whole charge (see the service).
"""

from __future__ import annotations

from datetime import date
from typing import Self

from pydantic import Field

from asyncgate.billing.schemas import Money, Paged, ZuoraOutput, plain_amount
from asyncgate.billing.subscriptions.models import (
    Subscription,
    SubscriptionCharge,
    SubscriptionRatePlan,
    TermType,
)
from asyncgate.billing.subscriptions.service import ChargeView, RatePlanView, SubscriptionView

BILLING_DAY = "DefaultFromCustomer"
BILLING_TIMING = "IN_ADVANCE"
BILLING_PERIOD_ALIGNMENT = "AlignToCharge"
END_DATE_CONDITION = "Subscription_End"
LIST_PRICE_BASE = "Per_Billing_Period"
PRICE_CHANGE_OPTION = "NoChange"


class SubscriptionChargeOut(ZuoraOutput):
    id: str
    number: str
    name: str
    type: str
    model: str
    billing_period: str | None = Field(alias="billingPeriod")
    billing_day: str = Field(BILLING_DAY, alias="billingDay")
    billing_timing: str | None = Field(alias="billingTiming")
    billing_period_alignment: str | None = Field(alias="billingPeriodAlignment")
    list_price_base: str | None = Field(alias="listPriceBase")
    end_date_condition: str = Field(END_DATE_CONDITION, alias="endDateCondition")
    price_change_option: str = Field(PRICE_CHANGE_OPTION, alias="priceChangeOption")
    trigger_event: str = Field(alias="triggerEvent")
    currency: str
    price: Money
    quantity: Money | None
    uom: str | None
    pricing_summary: str = Field(alias="pricingSummary")
    segment: int
    is_last_segment: bool = Field(True, alias="isLastSegment")
    effective_start_date: date = Field(alias="effectiveStartDate")
    effective_end_date: date | None = Field(alias="effectiveEndDate")
    charged_through_date: date | None = Field(alias="chargedThroughDate")
    processed_through_date: date | None = Field(alias="processedThroughDate")
    product_rate_plan_charge_id: str = Field(alias="productRatePlanChargeId")
    mrr: Money
    tcv: Money | None

    @classmethod
    def of(cls, view: ChargeView) -> SubscriptionChargeOut:
        charge: SubscriptionCharge = view.last
        recurring = charge.billing_period is not None
        per = f"/{charge.uom}" if charge.quantity is not None else ""
        return cls(
            id=charge.id,
            number=charge.charge_number,
            name=charge.name,
            type=charge.charge_type,
            model=charge.charge_model,
            billing_period=charge.billing_period,
            billing_timing=BILLING_TIMING if recurring else None,
            billing_period_alignment=BILLING_PERIOD_ALIGNMENT if recurring else None,
            list_price_base=LIST_PRICE_BASE if recurring else None,
            trigger_event=charge.trigger_event,
            currency=charge.currency,
            price=charge.price,
            quantity=charge.quantity,
            uom=charge.uom,
            pricing_summary=f"{charge.currency}{plain_amount(charge.price)}{per}",
            segment=charge.segment,
            effective_start_date=charge.effective_start_date,
            effective_end_date=charge.effective_end_date,
            charged_through_date=charge.charged_through_date,
            processed_through_date=charge.charged_through_date,
            product_rate_plan_charge_id=charge.product_rate_plan_charge_id,
            mrr=view.mrr,
            tcv=view.tcv,
        )


class SubscriptionRatePlanOut(ZuoraOutput):
    id: str
    original_rate_plan_id: str = Field(alias="originalRatePlanId")
    last_change_type: str | None = Field(alias="lastChangeType")
    product_id: str = Field(alias="productId")
    product_name: str = Field(alias="productName")
    product_sku: str = Field(alias="productSku")
    product_rate_plan_id: str = Field(alias="productRatePlanId")
    product_rate_plan_number: str = Field(alias="productRatePlanNumber")
    rate_plan_name: str = Field(alias="ratePlanName")
    contracted_mrr: Money = Field(alias="contractedMrr")
    rate_plan_charges: list[SubscriptionChargeOut] = Field(alias="ratePlanCharges")

    @classmethod
    def of(cls, view: RatePlanView) -> SubscriptionRatePlanOut:
        rate_plan: SubscriptionRatePlan = view.rate_plan
        catalog = rate_plan.product_rate_plan
        return cls(
            id=rate_plan.id,
            original_rate_plan_id=rate_plan.original_rate_plan_id,
            last_change_type=rate_plan.last_change_type,
            product_id=catalog.product.id,
            product_name=catalog.product.name,
            product_sku=catalog.product.sku,
            product_rate_plan_id=catalog.id,
            product_rate_plan_number=catalog.product_rate_plan_number,
            rate_plan_name=catalog.name,
            contracted_mrr=view.mrr,
            rate_plan_charges=[SubscriptionChargeOut.of(charge) for charge in view.charges],
        )


class SubscriptionOut(ZuoraOutput):
    """One version of a subscription; its custom fields ride along."""

    id: str
    subscription_number: str = Field(alias="subscriptionNumber")
    version: int
    is_latest_version: bool = Field(alias="isLatestVersion")
    account_id: str = Field(alias="accountId")
    account_name: str = Field(alias="accountName")
    account_number: str = Field(alias="accountNumber")
    invoice_owner_account_id: str = Field(alias="invoiceOwnerAccountId")
    invoice_owner_account_name: str = Field(alias="invoiceOwnerAccountName")
    invoice_owner_account_number: str = Field(alias="invoiceOwnerAccountNumber")
    order_number: str = Field(alias="orderNumber")
    status: str
    term_type: str = Field(alias="termType")
    contract_effective_date: date = Field(alias="contractEffectiveDate")
    service_activation_date: date = Field(alias="serviceActivationDate")
    customer_acceptance_date: date = Field(alias="customerAcceptanceDate")
    subscription_start_date: date = Field(alias="subscriptionStartDate")
    subscription_end_date: date | None = Field(alias="subscriptionEndDate")
    term_start_date: date = Field(alias="termStartDate")
    term_end_date: date | None = Field(alias="termEndDate")
    initial_term: int | None = Field(alias="initialTerm")
    initial_term_period_type: str = Field(alias="initialTermPeriodType")
    current_term: int | None = Field(alias="currentTerm")
    current_term_period_type: str = Field(alias="currentTermPeriodType")
    renewal_term: int | None = Field(alias="renewalTerm")
    renewal_term_period_type: str = Field(alias="renewalTermPeriodType")
    renewal_setting: str = Field(alias="renewalSetting")
    auto_renew: bool = Field(alias="autoRenew")
    invoice_separately: bool = Field(False, alias="invoiceSeparately")
    cancel_reason: str | None = Field(None, alias="cancelReason")
    notes: str | None
    currency: str
    contracted_mrr: Money = Field(alias="contractedMrr")
    total_contracted_value: Money | None = Field(alias="totalContractedValue")
    rate_plans: list[SubscriptionRatePlanOut] = Field(alias="ratePlans")

    @classmethod
    def of(cls, view: SubscriptionView) -> Self:
        subscription: Subscription = view.subscription
        account = subscription.account
        termed = subscription.term_type == TermType.TERMED
        return cls(
            id=subscription.id,
            subscription_number=subscription.subscription_number,
            version=subscription.version,
            is_latest_version=subscription.is_latest,
            account_id=account.id,
            account_name=account.name,
            account_number=account.account_number,
            invoice_owner_account_id=account.id,
            invoice_owner_account_name=account.name,
            invoice_owner_account_number=account.account_number,
            order_number=subscription.order.order_number,
            status=subscription.status,
            term_type=subscription.term_type,
            contract_effective_date=subscription.contract_effective_date,
            service_activation_date=subscription.service_activation_date,
            customer_acceptance_date=subscription.customer_acceptance_date,
            subscription_start_date=subscription.contract_effective_date,
            subscription_end_date=subscription.subscription_end_date,
            term_start_date=subscription.term_start_date,
            term_end_date=subscription.term_end_date,
            initial_term=subscription.initial_term if termed else None,
            initial_term_period_type=subscription.initial_term_period_type,
            current_term=subscription.current_term if termed else None,
            current_term_period_type=subscription.current_term_period_type,
            renewal_term=subscription.renewal_term,
            renewal_term_period_type=subscription.renewal_term_period_type,
            renewal_setting=subscription.renewal_setting,
            auto_renew=subscription.auto_renew,
            notes=subscription.notes,
            currency=account.currency,
            contracted_mrr=view.mrr,
            total_contracted_value=view.tcv,
            rate_plans=[SubscriptionRatePlanOut.of(rate_plan) for rate_plan in view.rate_plans],
            **subscription.custom_fields,
        )


class SubscriptionResponse(SubscriptionOut):
    """``GET /v1/subscriptions/{subscription-key}``."""

    success: bool = True


class SubscriptionsPage(Paged):
    """``GET /v1/subscriptions/accounts/{account-key}`` (the SDK's ``GetSubscriptionsResponse``)."""

    subscriptions: list[SubscriptionOut]
