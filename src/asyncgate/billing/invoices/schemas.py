"""Invoice answers with Zuora's names: the SDK's ``InvoiceResponse`` and
``InvoiceItemsResponse``. Payments, credit memos and adjustments do not exist here, so their
amounts are zero."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import Field

from asyncgate.billing.invoices.models import Invoice, InvoiceItem
from asyncgate.billing.schemas import CommonResponse, Money, Paged, Timestamp, ZuoraOutput


class InvoiceResponse(CommonResponse):
    """``GET /v1/invoices/{invoiceKey}``."""

    id: str
    invoice_number: str = Field(alias="invoiceNumber")
    account_id: str = Field(alias="accountId")
    status: str
    currency: str
    invoice_date: date = Field(alias="invoiceDate")
    posted_date: date = Field(alias="postedDate")
    due_date: date = Field(alias="dueDate")
    target_date: date = Field(alias="targetDate")
    amount: Money
    amount_without_tax: Money = Field(alias="amountWithoutTax")
    tax_amount: Money = Field(alias="taxAmount")
    balance: Money
    payment_amount: Money = Field(Decimal(0), alias="paymentAmount")
    credit_memo_amount: Money = Field(Decimal(0), alias="creditMemoAmount")
    adjustment_amount: Money = Field(Decimal(0), alias="adjustmentAmount")
    refund_amount: Money = Field(Decimal(0), alias="refundAmount")
    includes_one_time: bool = Field(alias="includesOneTime")
    includes_recurring: bool = Field(alias="includesRecurring")
    includes_usage: bool = Field(False, alias="includesUsage")
    created_date: Timestamp = Field(alias="createdDate")
    updated_date: Timestamp = Field(alias="updatedDate")

    @classmethod
    def of(cls, invoice: Invoice) -> InvoiceResponse:
        """``invoice`` must have its items loaded."""
        types = {item.charge_type for item in invoice.items}
        return cls(
            id=invoice.id,
            invoice_number=invoice.invoice_number,
            account_id=invoice.account_id,
            status=invoice.status,
            currency=invoice.currency,
            invoice_date=invoice.invoice_date,
            posted_date=invoice.invoice_date,
            due_date=invoice.due_date,
            target_date=invoice.target_date,
            amount=invoice.amount,
            amount_without_tax=invoice.amount_without_tax,
            tax_amount=invoice.tax_amount,
            balance=invoice.balance,
            includes_one_time="OneTime" in types,
            includes_recurring="Recurring" in types,
            created_date=invoice.created_at,
            updated_date=invoice.updated_at,
        )


class InvoiceItemOut(ZuoraOutput):
    """The SDK's ``InvoiceItem``."""

    id: str
    subscription_id: str = Field(alias="subscriptionId")
    subscription_name: str = Field(alias="subscriptionName")
    charge_id: str = Field(alias="chargeId")
    charge_name: str = Field(alias="chargeName")
    charge_type: str = Field(alias="chargeType")
    processing_type: str = Field("Charge", alias="processingType")
    product_name: str = Field(alias="productName")
    sku: str
    product_rate_plan_charge_id: str = Field(alias="productRatePlanChargeId")
    service_start_date: date = Field(alias="serviceStartDate")
    service_end_date: date = Field(alias="serviceEndDate")
    quantity: Money
    unit_of_measure: str | None = Field(alias="unitOfMeasure")
    unit_price: Money = Field(alias="unitPrice")
    charge_amount: Money = Field(alias="chargeAmount")
    tax_amount: Money = Field(alias="taxAmount")
    balance: Money

    @classmethod
    def of(cls, item: InvoiceItem) -> InvoiceItemOut:
        return cls(
            id=item.id,
            subscription_id=item.subscription_id,
            subscription_name=item.subscription_number,
            charge_id=item.charge_id,
            charge_name=item.charge_name,
            charge_type=item.charge_type,
            product_name=item.product_name,
            sku=item.sku,
            product_rate_plan_charge_id=item.product_rate_plan_charge_id,
            service_start_date=item.service_start_date,
            service_end_date=item.service_end_date,
            quantity=item.quantity,
            unit_of_measure=item.uom,
            unit_price=item.unit_price,
            charge_amount=item.amount,
            tax_amount=item.tax_amount,
            balance=item.amount,
        )


class InvoiceItemsPage(Paged):
    """``GET /v1/invoices/{invoiceKey}/items``."""

    invoice_items: list[InvoiceItemOut] = Field(alias="invoiceItems")
