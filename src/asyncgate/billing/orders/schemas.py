"""Order shapes with Zuora's names, from the SDK's ``CreateOrderRequest``,
``PreviewOrderRequest`` and their parts, and the answers ``CreateOrderResponse``,
``GetOrderResponse`` and ``PreviewOrderResponse``.

Requests take the supported subset only: any other field is refused as unknown rather than
dropped. The fields zuora-sdk sends on every request whatever the caller sets (``category``,
``allowPaymentFailure``, ``priceChangeOption``, the ``clearingExisting...`` flags,
``isBillable``, ``validateScheduledOrders``) are accepted with their default values.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from asyncgate.billing.accounts.schemas import AccountCreate, AccountFields
from asyncgate.billing.catalog.schemas import CatalogDecimal
from asyncgate.billing.contacts.schemas import ContactFields
from asyncgate.billing.invoices.models import Invoice, InvoiceItem
from asyncgate.billing.invoices.periods import FIRST_BILLING_DAY, LAST_BILLING_DAY
from asyncgate.billing.orders import models
from asyncgate.billing.orders.models import OrderActionType
from asyncgate.billing.schemas import (
    CommonResponse,
    Currency,
    Money,
    Timestamp,
    ZuoraOutput,
    check_custom_values,
    is_custom_field_name,
)
from asyncgate.billing.subscriptions.models import RenewalSetting, TermType
from asyncgate.http.validation import MAX_INT32, JsonScalars

if TYPE_CHECKING:
    from asyncgate.billing.orders.service import (
        OrderRecord,
        PlacedOrder,
        PreviewedCharge,
        PreviewedOrder,
    )

Key = Annotated[str, StringConstraints(min_length=1, max_length=100)]
"""The ID or number that names an object (IDs are 32 characters, numbers at most 100)."""
Periods = Annotated[int, Field(ge=1, le=MAX_INT32)]
"""A count of periods (a term's, a preview's): Zuora's integers are 32-bit."""
Day = Annotated[date, Field(ge=FIRST_BILLING_DAY, le=LAST_BILLING_DAY)]
"""A date an order bills from or to: one whose billing periods, a year long at most, stay
within the calendar."""
PeriodType = Literal["Month", "Year", "Day", "Week"]
TriggerName = Literal["ContractEffective", "ServiceActivation", "CustomerAcceptance"]
BillCycleDay = Annotated[int, Field(ge=0, le=31)]
"""An order's account bill cycle day; 0 sets it from the order's charges (Zuora's AutoSet)."""
NoChange = Literal["NoChange"]
NotSet = Literal[False]
"""A flag zuora-sdk always sends as false; true asks for what is not supported."""


class OrderInput(JsonScalars):
    """A part of an order request: Zuora's names only, every other field refused."""

    model_config = ConfigDict(extra="forbid", validate_by_alias=True, validate_by_name=False)


def _custom_field_names(fields: dict[str, Any]) -> dict[str, Any]:
    for name in fields:
        if not is_custom_field_name(name):
            raise PydanticCustomError(
                "custom_field", "custom fields are named <name>__c, not {name}", {"name": name}
            )
    check_custom_values(fields)
    return fields


CustomFieldValues = Annotated[dict[str, Any], AfterValidator(_custom_field_names)]


class CustomFields(OrderInput):
    custom_fields: CustomFieldValues = Field(default_factory=dict, alias="customFields")


class TriggerDate(OrderInput):
    name: TriggerName
    trigger_date: Day = Field(alias="triggerDate")


# The account


class OrderContact(ContactFields):
    """A contact of a new account (the SDK's ``OrderCreateAccountContact``): its postal code is
    ``postalCode``."""

    zip_code: str | None = Field(None, max_length=20, alias="postalCode")


class OrderNewAccount(AccountFields):
    """``newAccount``: the account fields asyncgate keeps, Zuora's order spellings for the rest
    (a comma-separated ``additionalEmailAddresses``, ``customFields``)."""

    not_nullable: ClassVar[frozenset[str]] = AccountFields.not_nullable

    name: str = Field(min_length=1, max_length=255)
    currency: Currency
    account_number: str | None = Field(None, min_length=1, max_length=70, alias="accountNumber")
    bill_cycle_day: BillCycleDay = Field(alias="billCycleDay")
    bill_to_contact: OrderContact = Field(alias="billToContact")
    sold_to_contact: OrderContact | None = Field(None, alias="soldToContact")
    sold_to_same_as_bill_to: bool | None = Field(None, alias="soldToSameAsBillTo")
    order_custom_fields: CustomFieldValues = Field(default_factory=dict, alias="customFields")

    @field_validator("additional_email_addresses", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """An order sends the addresses as one string, an account's own requests as a list."""
        if value is None:
            return None  # refused as null, like any not-nullable field
        if not isinstance(value, str):
            raise PydanticCustomError("string_type", "Input should be a valid string")
        return [address.strip() for address in value.split(",")] if value else []

    @model_validator(mode="after")
    def _one_sold_to(self) -> OrderNewAccount:
        if self.sold_to_same_as_bill_to and self.sold_to_contact is not None:
            raise PydanticCustomError(
                "sold_to", "give soldToContact or soldToSameAsBillTo, not both"
            )
        return self

    def account_create(self) -> AccountCreate:
        """The account to create. A bill cycle day of 0 is left to the order to set."""
        own = frozenset({"bill_cycle_day", "sold_to_same_as_bill_to", "order_custom_fields"})
        values = self.given_values(exclude=own)
        if self.bill_cycle_day:
            values["bill_cycle_day"] = self.bill_cycle_day
        return AccountCreate.model_validate(
            {**values, **self.custom_fields, **self.order_custom_fields}, by_name=True
        )


class PreviewAccountInfo(OrderInput):
    """A preview's account that does not exist (yet)."""

    bill_cycle_day: BillCycleDay = Field(alias="billCycleDay")
    currency: Currency


# Rate plans and charges


class PriceOverride(OrderInput):
    list_price: CatalogDecimal | None = Field(None, alias="listPrice")
    price_change_option: NoChange | None = Field(None, alias="priceChangeOption")


class UnitPriceOverride(PriceOverride):
    quantity: CatalogDecimal | None = None


class PricingOverride(OrderInput):
    """One of these, matching the charge's type and model."""

    recurring_flat_fee: PriceOverride | None = Field(None, alias="recurringFlatFee")
    recurring_per_unit: UnitPriceOverride | None = Field(None, alias="recurringPerUnit")
    one_time_flat_fee: PriceOverride | None = Field(None, alias="oneTimeFlatFee")
    one_time_per_unit: UnitPriceOverride | None = Field(None, alias="oneTimePerUnit")


class ChargeOverride(OrderInput):
    """A subscribed charge's own price or quantity."""

    product_rate_plan_charge_id: Key = Field(alias="productRatePlanChargeId")
    pricing: PricingOverride | None = None
    is_billable: Literal[True] | None = Field(None, alias="isBillable")


class RatePlanSubscription(OrderInput):
    """A product rate plan to subscribe to (``subscribeToRatePlans``, ``addProduct``), by ID
    or number."""

    product_rate_plan_id: Key | None = Field(None, alias="productRatePlanId")
    product_rate_plan_number: Key | None = Field(None, alias="productRatePlanNumber")
    charge_overrides: list[ChargeOverride] = Field(default_factory=list, alias="chargeOverrides")

    @model_validator(mode="after")
    def _named(self) -> RatePlanSubscription:
        if self.product_rate_plan_id is None and self.product_rate_plan_number is None:
            raise PydanticCustomError(
                "missing", "{fields} is required", {"fields": "productRatePlanId or -Number"}
            )
        return self


class RatePlanReference(OrderInput):
    """A rate plan of the subscription: by ``ratePlanId`` (of any version), or by its product
    rate plan when the subscription has it once."""

    rate_plan_id: Key | None = Field(None, alias="ratePlanId")
    product_rate_plan_id: Key | None = Field(None, alias="productRatePlanId")
    product_rate_plan_number: Key | None = Field(None, alias="productRatePlanNumber")

    @model_validator(mode="after")
    def _named(self) -> RatePlanReference:
        if not (self.rate_plan_id or self.product_rate_plan_id or self.product_rate_plan_number):
            raise PydanticCustomError(
                "missing",
                "{fields} is required",
                {"fields": "ratePlanId, productRatePlanId or productRatePlanNumber"},
            )
        return self


class QuantityUpdate(OrderInput):
    quantity: CatalogDecimal
    price_change_option: NoChange | None = Field(None, alias="priceChangeOption")


class PricingUpdate(OrderInput):
    recurring_per_unit: QuantityUpdate = Field(alias="recurringPerUnit")


class ChargeUpdate(OrderInput):
    """A new quantity for a per-unit charge, by charge number or product rate plan charge."""

    charge_number: Key | None = Field(None, alias="chargeNumber")
    product_rate_plan_charge_id: Key | None = Field(None, alias="productRatePlanChargeId")
    pricing: PricingUpdate

    @model_validator(mode="after")
    def _named(self) -> ChargeUpdate:
        if self.charge_number is None and self.product_rate_plan_charge_id is None:
            raise PydanticCustomError(
                "missing",
                "{fields} is required",
                {"fields": "chargeNumber or productRatePlanChargeId"},
            )
        return self


class UpdateProduct(RatePlanReference):
    charge_updates: list[ChargeUpdate] = Field(alias="chargeUpdates", min_length=1)


class RemoveProduct(RatePlanReference):
    pass


# Terms


class InitialTerm(OrderInput):
    term_type: TermType = Field(alias="termType")
    period: Periods | None = None
    period_type: PeriodType = Field("Month", alias="periodType")
    start_date: Day | None = Field(None, alias="startDate")


class LastTerm(OrderInput):
    """The current term, as ``termsAndConditions`` changes it."""

    term_type: TermType = Field(alias="termType")
    period: Periods | None = None
    period_type: PeriodType | None = Field(None, alias="periodType")
    start_date: Day | None = Field(None, alias="startDate")


class RenewalTerm(OrderInput):
    period: Periods
    period_type: PeriodType = Field("Month", alias="periodType")


class SubscriptionTerms(OrderInput):
    initial_term: InitialTerm = Field(alias="initialTerm")
    renewal_terms: list[RenewalTerm] = Field(
        default_factory=list, alias="renewalTerms", max_length=1
    )
    auto_renew: bool = Field(False, alias="autoRenew")
    renewal_setting: RenewalSetting = Field(
        RenewalSetting.RENEW_WITH_SPECIFIC_TERM, alias="renewalSetting"
    )


class CreateSubscription(OrderInput):
    subscription_number: Key | None = Field(None, alias="subscriptionNumber")
    subscribe_to_rate_plans: list[RatePlanSubscription] = Field(
        alias="subscribeToRatePlans", min_length=1
    )
    terms: SubscriptionTerms
    notes: str | None = Field(None, max_length=500)


class ClearingFlags(OrderInput):
    """The ``clearingExisting...`` flags zuora-sdk sends as false on renewals and terms
    changes; clearing contacts, templates or payment terms is not supported."""

    clearing_existing_bill_to_contact: NotSet | None = Field(
        None, alias="clearingExistingBillToContact"
    )
    clearing_existing_invoice_group_number: NotSet | None = Field(
        None, alias="clearingExistingInvoiceGroupNumber"
    )
    clearing_existing_invoice_template: NotSet | None = Field(
        None, alias="clearingExistingInvoiceTemplate"
    )
    clearing_existing_payment_term: NotSet | None = Field(None, alias="clearingExistingPaymentTerm")
    clearing_existing_sequence_set: NotSet | None = Field(None, alias="clearingExistingSequenceSet")
    clearing_existing_sold_to_contact: NotSet | None = Field(
        None, alias="clearingExistingSoldToContact"
    )


class RenewSubscription(ClearingFlags):
    pass


class TermsAndConditions(ClearingFlags):
    auto_renew: bool | None = Field(None, alias="autoRenew")
    renewal_setting: RenewalSetting | None = Field(None, alias="renewalSetting")
    renewal_terms: list[RenewalTerm] | None = Field(None, alias="renewalTerms", max_length=1)
    last_term: LastTerm | None = Field(None, alias="lastTerm")


class CancelSubscription(OrderInput):
    cancellation_policy: Literal["EndOfCurrentTerm", "SpecificDate"] = Field(
        alias="cancellationPolicy"
    )
    cancellation_effective_date: Day | None = Field(None, alias="cancellationEffectiveDate")

    @model_validator(mode="after")
    def _dated(self) -> CancelSubscription:
        specific = self.cancellation_policy == "SpecificDate"
        if specific and self.cancellation_effective_date is None:
            raise PydanticCustomError(
                "missing", "SpecificDate needs {field}", {"field": "cancellationEffectiveDate"}
            )
        if not specific and self.cancellation_effective_date is not None:
            raise PydanticCustomError(
                "cancellation_date", "cancellationEffectiveDate goes with SpecificDate only"
            )
        return self


# Actions

ACTION_FIELDS: dict[OrderActionType, str] = {
    OrderActionType.CREATE_SUBSCRIPTION: "create_subscription",
    OrderActionType.ADD_PRODUCT: "add_product",
    OrderActionType.UPDATE_PRODUCT: "update_product",
    OrderActionType.REMOVE_PRODUCT: "remove_product",
    OrderActionType.CANCEL_SUBSCRIPTION: "cancel_subscription",
    OrderActionType.RENEW_SUBSCRIPTION: "renew_subscription",
    OrderActionType.TERMS_AND_CONDITIONS: "terms_and_conditions",
}
"""The field that holds each action type's details."""


class OrderActionCreate(OrderInput):
    """One action as an order request sends it (to place or preview the order): its ``type``
    names the one details field it carries."""

    type: OrderActionType
    trigger_dates: list[TriggerDate] = Field(default_factory=list, alias="triggerDates")
    create_subscription: CreateSubscription | None = Field(None, alias="createSubscription")
    add_product: RatePlanSubscription | None = Field(None, alias="addProduct")
    update_product: UpdateProduct | None = Field(None, alias="updateProduct")
    remove_product: RemoveProduct | None = Field(None, alias="removeProduct")
    cancel_subscription: CancelSubscription | None = Field(None, alias="cancelSubscription")
    renew_subscription: RenewSubscription | None = Field(None, alias="renewSubscription")
    terms_and_conditions: TermsAndConditions | None = Field(None, alias="termsAndConditions")

    @model_validator(mode="after")
    def _details_match_type(self) -> OrderActionCreate:
        wanted = ACTION_FIELDS[self.type]
        names = {"type": self.type.value, "field": _alias(wanted)}
        if getattr(self, wanted) is None and self.type != OrderActionType.RENEW_SUBSCRIPTION:
            raise PydanticCustomError("missing", "{type} actions need {field}", names)
        for field in ACTION_FIELDS.values():
            if field != wanted and getattr(self, field) is not None:
                raise PydanticCustomError(
                    "action_details",
                    "{type} actions take {field}, not {other}",
                    {**names, "other": _alias(field)},
                )
        return self

    def trigger_date(self, name: TriggerName) -> date | None:
        return next((t.trigger_date for t in self.trigger_dates if t.name == name), None)


def _alias(field: str) -> str:
    return OrderActionCreate.model_fields[field].alias or field


class OrderSubscription(CustomFields):
    """The actions on one subscription: a new one (no ``subscriptionNumber``, the first action
    a ``CreateSubscription``) or an existing one."""

    subscription_number: Key | None = Field(None, alias="subscriptionNumber")
    order_actions: list[OrderActionCreate] = Field(alias="orderActions", min_length=1)


class BillingOptions(OrderInput):
    target_date: Day | None = Field(None, alias="targetDate")
    document_date: Day | None = Field(None, alias="documentDate")
    generate_draft_invoice: NotSet | None = Field(None, alias="generateDraftInvoice")


class ProcessingOptions(OrderInput):
    run_billing: bool = Field(False, alias="runBilling")
    billing_options: BillingOptions | None = Field(None, alias="billingOptions")
    collect_payment: NotSet | None = Field(None, alias="collectPayment")
    allow_payment_failure: bool | None = Field(None, alias="allowPaymentFailure")


class OrderFields(CustomFields):
    """What creating and previewing an order share. The account is an existing one, or the
    one that ``other_account`` (a field) describes."""

    other_account: ClassVar[str]

    order_date: Day = Field(alias="orderDate")
    order_number: Key | None = Field(None, alias="orderNumber")
    description: str | None = Field(None, max_length=500)
    category: Literal["NewSales"] = "NewSales"
    existing_account_number: Key | None = Field(None, alias="existingAccountNumber")
    subscriptions: list[OrderSubscription] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _one_account(self) -> OrderFields:
        other = getattr(self, self.other_account)
        if (self.existing_account_number is None) == (other is None):
            raise PydanticCustomError(
                "account",
                "give existingAccountNumber or {other}, exactly one",
                {"other": type(self).model_fields[self.other_account].alias},
            )
        return self


class OrderCreate(OrderFields):
    """``POST /v1/orders``: for an existing account, or a new one."""

    other_account: ClassVar[str] = "new_account"

    new_account: OrderNewAccount | None = Field(None, alias="newAccount")
    processing_options: ProcessingOptions | None = Field(None, alias="processingOptions")


PreviewType = Literal["BillingDocs", "ChargeMetrics"]
PreviewThruType = Literal["SpecificDate", "NumberOfPeriods", "TermEnd"]


class PreviewOptions(OrderInput):
    preview_types: list[PreviewType] = Field(alias="previewTypes", min_length=1)
    preview_thru_type: PreviewThruType | None = Field(None, alias="previewThruType")
    specific_preview_thru_date: Day | None = Field(None, alias="specificPreviewThruDate")
    preview_number_of_periods: Periods | None = Field(None, alias="previewNumberOfPeriods")
    validate_scheduled_orders: bool | None = Field(None, alias="validateScheduledOrders")

    @model_validator(mode="after")
    def _horizon(self) -> PreviewOptions:
        needs = {"SpecificDate": "specific_preview_thru_date"}
        needs["NumberOfPeriods"] = "preview_number_of_periods"
        if "BillingDocs" in self.preview_types and self.preview_thru_type is None:
            raise PydanticCustomError(
                "missing", "BillingDocs previews need {field}", {"field": "previewThruType"}
            )
        wanted = needs.get(self.preview_thru_type or "")
        if wanted and getattr(self, wanted) is None:
            alias = type(self).model_fields[wanted].alias
            raise PydanticCustomError(
                "missing", "{type} needs {field}", {"type": self.preview_thru_type, "field": alias}
            )
        return self


class OrderPreview(OrderFields):
    """``POST /v1/orders/preview``: for an existing account, or an account described by
    ``previewAccountInfo``."""

    other_account: ClassVar[str] = "preview_account_info"

    preview_account_info: PreviewAccountInfo | None = Field(None, alias="previewAccountInfo")
    preview_options: PreviewOptions = Field(alias="previewOptions")


# Answers


def _omitted(value: Any) -> bool:
    return value is None


class SubscriptionOutcome(ZuoraOutput):
    subscription_number: str = Field(alias="subscriptionNumber")
    status: str
    subscription_id: str | None = Field(None, alias="subscriptionId", exclude_if=_omitted)


class CreateOrderResponse(CommonResponse):
    """The SDK's ``CreateOrderResponse``. ``subscriptions`` (Zuora-Version 223.0 and later) or
    ``subscriptionNumbers`` (before); ``invoiceNumbers`` after a bill run; IDs only with
    ``returnIds``."""

    order_number: str = Field(alias="orderNumber")
    account_number: str = Field(alias="accountNumber")
    status: str
    subscription_numbers: list[str] | None = Field(
        None, alias="subscriptionNumbers", exclude_if=_omitted
    )
    subscriptions: list[SubscriptionOutcome] | None = Field(None, exclude_if=_omitted)
    invoice_numbers: list[str] | None = Field(None, alias="invoiceNumbers", exclude_if=_omitted)
    order_id: str | None = Field(None, alias="orderId", exclude_if=_omitted)
    account_id: str | None = Field(None, alias="accountId", exclude_if=_omitted)
    subscription_ids: list[str] | None = Field(None, alias="subscriptionIds", exclude_if=_omitted)
    invoice_ids: list[str] | None = Field(None, alias="invoiceIds", exclude_if=_omitted)

    @classmethod
    def of(
        cls, placed: PlacedOrder, *, by_subscription: bool, return_ids: bool
    ) -> CreateOrderResponse:
        subscriptions = [change.subscription for change in placed.changes]
        invoices = [placed.invoice] if placed.invoice else []
        billed = placed.billed
        answer = cls(
            order_number=placed.order.order_number,
            account_number=placed.account.account_number,
            status=placed.order.status,
            invoice_numbers=[invoice.invoice_number for invoice in invoices] if billed else None,
        )
        if by_subscription:
            answer.subscriptions = [
                SubscriptionOutcome(
                    subscription_number=subscription.subscription_number,
                    status=subscription.status,
                    subscription_id=subscription.id if return_ids else None,
                )
                for subscription in subscriptions
            ]
        else:
            answer.subscription_numbers = [s.subscription_number for s in subscriptions]
        if return_ids:
            answer.order_id = placed.order.id
            answer.account_id = placed.account.id
            answer.subscription_ids = [subscription.id for subscription in subscriptions]
            answer.invoice_ids = [invoice.id for invoice in invoices] if billed else None
        return answer


class OrderTriggerDate(ZuoraOutput):
    name: str
    trigger_date: date = Field(alias="triggerDate")


class OrderActionOut(ZuoraOutput):
    """An action with its details (``createSubscription`` and the rest) as extras."""

    id: str
    type: str
    sequence: int
    trigger_dates: list[OrderTriggerDate] = Field(alias="triggerDates")
    custom_fields: dict[str, Any] = Field(default_factory=dict, alias="customFields")

    @classmethod
    def of(cls, action: models.OrderAction) -> OrderActionOut:
        dates = (
            ("ContractEffective", action.contract_effective_date),
            ("ServiceActivation", action.service_activation_date),
            ("CustomerAcceptance", action.customer_acceptance_date),
        )
        return cls(
            id=action.id,
            type=action.type,
            sequence=action.sequence,
            trigger_dates=[OrderTriggerDate(name=name, trigger_date=day) for name, day in dates],
            **action.details,
        )


class OrderSubscriptionOut(ZuoraOutput):
    subscription_number: str = Field(alias="subscriptionNumber")
    sequence: int
    base_version: int | None = Field(alias="baseVersion")
    new_version: int = Field(alias="newVersion")
    custom_fields: dict[str, Any] = Field(alias="customFields")
    order_actions: list[OrderActionOut] = Field(alias="orderActions")


class OrderOut(ZuoraOutput):
    """The SDK's ``Order``."""

    order_number: str = Field(alias="orderNumber")
    order_date: date = Field(alias="orderDate")
    description: str | None
    category: str
    status: str
    state: str = "Complete"
    currency: str
    existing_account_number: str = Field(alias="existingAccountNumber")
    created_by: str | None = Field(alias="createdBy")
    created_date: Timestamp = Field(alias="createdDate")
    updated_by: str | None = Field(alias="updatedBy")
    updated_date: Timestamp = Field(alias="updatedDate")
    custom_fields: dict[str, Any] = Field(alias="customFields")
    subscriptions: list[OrderSubscriptionOut]

    @classmethod
    def of(cls, record: OrderRecord) -> OrderOut:
        order = record.order
        by_subscription: dict[int, list[models.OrderAction]] = {}
        for action in order.actions:
            by_subscription.setdefault(action.subscription_sequence, []).append(action)
        subscriptions = []
        for sequence, actions in sorted(by_subscription.items()):
            number = actions[0].subscription_number
            version = record.versions[number]
            new_version = version.version
            created = actions[0].type == OrderActionType.CREATE_SUBSCRIPTION
            subscriptions.append(
                OrderSubscriptionOut(
                    subscription_number=number,
                    sequence=sequence,
                    base_version=None if created else new_version - 1,
                    new_version=new_version,
                    custom_fields=version.custom_fields,
                    order_actions=[OrderActionOut.of(action) for action in actions],
                )
            )
        return cls(
            order_number=order.order_number,
            order_date=order.order_date,
            description=order.description,
            category=order.category,
            status=order.status,
            currency=record.account.currency,
            existing_account_number=record.account.account_number,
            created_by=order.created_by,
            created_date=order.created_at,
            updated_by=order.created_by,
            updated_date=order.updated_at,
            custom_fields=order.custom_fields,
            subscriptions=subscriptions,
        )


class OrderResponse(CommonResponse):
    """``GET /v1/orders/{orderNumber}``."""

    order: OrderOut


class PreviewItemInfo(ZuoraOutput):
    quantity: Money
    unit_of_measure: str | None = Field(alias="unitOfMeasure")


class PreviewInvoiceItem(ZuoraOutput):
    """The SDK's ``InvoiceItemPreviewResult``."""

    charge_number: str = Field(alias="chargeNumber")
    charge_name: str = Field(alias="chargeName")
    charge_description: str = Field("", alias="chargeDescription")
    subscription_number: str = Field(alias="subscriptionNumber")
    product_name: str = Field(alias="productName")
    product_rate_plan_charge_id: str = Field(alias="productRatePlanChargeId")
    processing_type: str = Field("Charge", alias="processingType")
    service_start_date: date = Field(alias="serviceStartDate")
    service_end_date: date = Field(alias="serviceEndDate")
    unit_price: Money = Field(alias="unitPrice")
    amount_without_tax: Money = Field(alias="amountWithoutTax")
    tax_amount: Money = Field(alias="taxAmount")
    additional_info: PreviewItemInfo = Field(alias="additionalInfo")

    @classmethod
    def of(cls, item: InvoiceItem) -> PreviewInvoiceItem:
        return cls(
            charge_number=item.charge_number,
            charge_name=item.charge_name,
            subscription_number=item.subscription_number,
            product_name=item.product_name,
            product_rate_plan_charge_id=item.product_rate_plan_charge_id,
            service_start_date=item.service_start_date,
            service_end_date=item.service_end_date,
            unit_price=item.unit_price,
            amount_without_tax=item.amount,
            tax_amount=item.tax_amount,
            additional_info=PreviewItemInfo(quantity=item.quantity, unit_of_measure=item.uom),
        )


class PreviewInvoice(ZuoraOutput):
    """The SDK's ``PreviewOrderResultInvoices``."""

    target_date: date = Field(alias="targetDate")
    amount: Money
    amount_without_tax: Money = Field(alias="amountWithoutTax")
    tax_amount: Money = Field(alias="taxAmount")
    invoice_items: list[PreviewInvoiceItem] = Field(alias="invoiceItems")

    @classmethod
    def of(cls, invoice: Invoice) -> PreviewInvoice:
        """``invoice`` must have its items at hand."""
        return cls(
            target_date=invoice.target_date,
            amount=invoice.amount,
            amount_without_tax=invoice.amount_without_tax,
            tax_amount=invoice.tax_amount,
            invoice_items=[PreviewInvoiceItem.of(item) for item in invoice.items],
        )


class MetricAmount(ZuoraOutput):
    """One metric of a charge (the SDK's ``PreviewChargeMetricsCmrr`` and the rest): after
    the order, and the change the order makes. Discounts do not apply."""

    regular: Money | None
    regular_delta: Money | None = Field(alias="regularDelta")
    discount: Money = Decimal(0)
    discount_delta: Money = Field(Decimal(0), alias="discountDelta")

    @classmethod
    def of(cls, after: Decimal | None, before: Decimal | None) -> MetricAmount:
        """A metric after the order and its change: against ``before``, or against nothing
        for a new charge; no change where either side has no value (evergreen)."""
        if before is None and after is not None:
            delta: Decimal | None = after
        elif after is None or before is None:
            delta = None
        else:
            delta = after - before
        return cls(regular=after, regular_delta=delta)


class ChargeMetricsOut(ZuoraOutput):
    """The SDK's ``PreviewChargeMetrics``."""

    charge_number: str = Field(alias="chargeNumber")
    product_rate_plan_charge_id: str = Field(alias="productRatePlanChargeId")
    product_rate_plan_id: str = Field(alias="productRatePlanId")
    origin_rate_plan_id: str = Field(alias="originRatePlanId")
    cmrr: MetricAmount
    tcv: MetricAmount
    tcb: MetricAmount
    tax: MetricAmount

    @classmethod
    def of(cls, charge: PreviewedCharge) -> ChargeMetricsOut:
        after, before = charge.after, charge.before
        zero = Decimal(0)
        return cls(
            charge_number=charge.charge_number,
            product_rate_plan_charge_id=charge.product_rate_plan_charge_id,
            product_rate_plan_id=charge.product_rate_plan_id,
            origin_rate_plan_id=charge.original_rate_plan_id,
            cmrr=MetricAmount.of(after.mrr, before.mrr if before else None),
            tcv=MetricAmount.of(after.tcv, before.tcv if before else None),
            tcb=MetricAmount.of(after.tcb, before.tcb if before else None),
            tax=MetricAmount(regular=zero, regular_delta=zero),
        )


class SubscriptionMetricsOut(ZuoraOutput):
    subscription_number: str = Field(alias="subscriptionNumber")
    charges: list[ChargeMetricsOut]


class PreviewResult(ZuoraOutput):
    """What the preview types asked for: ``invoices`` (BillingDocs), ``chargeMetrics``."""

    invoices: list[PreviewInvoice] | None = Field(None, exclude_if=_omitted)
    charge_metrics: list[SubscriptionMetricsOut] | None = Field(
        None, alias="chargeMetrics", exclude_if=_omitted
    )

    @classmethod
    def of(cls, previewed: PreviewedOrder, preview_types: list[PreviewType]) -> PreviewResult:
        result = cls()
        if "BillingDocs" in preview_types:
            result.invoices = [previewed.invoice] if previewed.invoice else []
        if "ChargeMetrics" in preview_types:
            result.charge_metrics = [
                SubscriptionMetricsOut(
                    subscription_number=number,
                    charges=[ChargeMetricsOut.of(charge) for charge in charges],
                )
                for number, charges in previewed.charges
            ]
        return result


class PreviewOrderResponse(CommonResponse):
    """``POST /v1/orders/preview``."""

    preview_result: PreviewResult = Field(alias="previewResult")
