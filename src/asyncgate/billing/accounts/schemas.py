"""Account shapes with Zuora's JSON names.

Input field names (Python side) equal the column names of
:class:`~asyncgate.billing.accounts.models.Account`, so services copy values onto rows by name.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from asyncgate.billing.accounts.models import Account, CreatedAccount
from asyncgate.billing.contacts.schemas import ContactFields, ContactOut, ContactUpdate
from asyncgate.billing.schemas import (
    CommonResponse,
    Currency,
    Money,
    ZuoraInput,
    ZuoraOutput,
    stored_values,
)

MAX_BATCH = 50
BATCH_PATTERN = "^Batch([1-9]|[1-4][0-9]|50)$"  # Batch1 to Batch50, as written by Zuora


def _batch_name(value: str) -> str:
    if not re.fullmatch(BATCH_PATTERN, value):
        raise PydanticCustomError(
            "batch", "a batch is named Batch1 to Batch{last}", {"last": MAX_BATCH}
        )
    return value


BatchName = Annotated[
    str, AfterValidator(_batch_name), Field(json_schema_extra={"pattern": BATCH_PATTERN})
]
EmailAddress = Annotated[str, StringConstraints(min_length=1, max_length=80)]
MAX_EMAIL_ADDRESSES_LENGTH = 1200
"""Zuora's limit of ``AdditionalEmailAddresses``, written as one comma-separated string."""


def _email_addresses_length(addresses: list[str]) -> list[str]:
    if len(",".join(addresses)) > MAX_EMAIL_ADDRESSES_LENGTH:
        raise PydanticCustomError(
            "email_addresses",
            "the addresses, separated by commas, are at most {most} characters",
            {"most": MAX_EMAIL_ADDRESSES_LENGTH},
        )
    return addresses


EmailAddresses = Annotated[
    list[EmailAddress],
    AfterValidator(_email_addresses_length),
]
BillCycleDay = Annotated[int, Field(ge=1, le=31)]
PaymentTerm = Literal["Due Upon Receipt", "Net 30", "Net 60", "Net 90"]


class AccountFields(ZuoraInput):
    """The optional account fields that creation and update share."""

    not_nullable: ClassVar[frozenset[str]] = frozenset(
        {
            "name",
            "currency",
            "auto_pay",
            "batch",
            "bill_cycle_day",
            "payment_term",
            "invoice_delivery_prefs_email",
            "invoice_delivery_prefs_print",
            "additional_email_addresses",
            "bill_to_contact",
            "sold_to_contact",
            "bill_to_contact_id",
            "sold_to_contact_id",
        }
    )

    auto_pay: bool | None = Field(None, alias="autoPay")
    batch: BatchName | None = None
    bill_cycle_day: BillCycleDay | None = Field(None, alias="billCycleDay")
    payment_term: PaymentTerm | None = Field(None, alias="paymentTerm")
    invoice_delivery_prefs_email: bool | None = Field(None, alias="invoiceDeliveryPrefsEmail")
    invoice_delivery_prefs_print: bool | None = Field(None, alias="invoiceDeliveryPrefsPrint")
    additional_email_addresses: EmailAddresses | None = Field(
        None, alias="additionalEmailAddresses"
    )
    notes: str | None = Field(None, max_length=65535)
    crm_id: str | None = Field(None, max_length=100, alias="crmId")
    invoice_template_id: str | None = Field(None, max_length=32, alias="invoiceTemplateId")
    sales_rep: str | None = Field(None, max_length=50, alias="salesRep")
    customer_service_rep_name: str | None = Field(
        None, max_length=50, alias="customerServiceRepName"
    )
    purchase_order_number: str | None = Field(None, max_length=100, alias="purchaseOrderNumber")
    payment_gateway: str | None = Field(None, max_length=40, alias="paymentGateway")


class AccountCreate(AccountFields):
    """A new account. Without a bill-to contact it is created as a Draft (the CRUD flow);
    the sold-to contact defaults to the bill-to contact."""

    name: str = Field(min_length=1, max_length=255)
    currency: Currency
    account_number: str | None = Field(None, min_length=1, max_length=70, alias="accountNumber")
    bill_to_contact: ContactFields | None = Field(None, alias="billToContact")
    sold_to_contact: ContactFields | None = Field(None, alias="soldToContact")


class AccountCreateRequest(AccountCreate):
    """``POST /v1/accounts``: the bill-to contact is required."""

    bill_to_contact: ContactFields = Field(alias="billToContact")


class AccountUpdate(AccountFields):
    """``PUT /v1/accounts/{account-key}``: a partial update.

    ``billToContact`` / ``soldToContact`` change fields of the current contact in that role;
    ``billToContactId`` / ``soldToContactId`` give the role to another contact of the account,
    never both for one role (the service refuses it; the schema says so).
    """

    model_config = ConfigDict(
        json_schema_extra={
            "not": {
                "anyOf": [
                    {"required": ["billToContactId", "billToContact"]},
                    {"required": ["soldToContactId", "soldToContact"]},
                ]
            }
        }
    )

    name: str | None = Field(None, min_length=1, max_length=255)
    bill_to_contact_id: str | None = Field(None, alias="billToContactId")
    sold_to_contact_id: str | None = Field(None, alias="soldToContactId")
    bill_to_contact: ContactUpdate | None = Field(None, alias="billToContact")
    sold_to_contact: ContactUpdate | None = Field(None, alias="soldToContact")


class AccountCreateResponse(CommonResponse):
    account_id: str = Field(alias="accountId")
    account_number: str = Field(alias="accountNumber")
    bill_to_contact_id: str | None = Field(alias="billToContactId")
    sold_to_contact_id: str | None = Field(alias="soldToContactId")

    @classmethod
    def of(cls, account: CreatedAccount) -> AccountCreateResponse:
        return cls(
            account_id=account.id,
            account_number=account.account_number,
            bill_to_contact_id=account.bill_to_contact_id,
            sold_to_contact_id=account.sold_to_contact_id,
        )


class AccountBasicInfo(ZuoraOutput):
    """Zuora's ``basicInfo``; the account's custom fields ride along."""

    id: str
    account_number: str = Field(alias="accountNumber")
    name: str
    status: str
    batch: str
    crm_id: str | None = Field(alias="crmId")
    invoice_template_id: str | None = Field(alias="invoiceTemplateId")
    notes: str | None
    sales_rep: str | None = Field(alias="salesRep")
    customer_service_rep_name: str | None = Field(alias="customerServiceRepName")
    purchase_order_number: str | None = Field(alias="purchaseOrderNumber")


class AccountBillingAndPayment(ZuoraOutput):
    bill_cycle_day: int = Field(alias="billCycleDay")
    currency: str
    payment_term: str = Field(alias="paymentTerm")
    auto_pay: bool = Field(alias="autoPay")
    invoice_delivery_prefs_email: bool = Field(alias="invoiceDeliveryPrefsEmail")
    invoice_delivery_prefs_print: bool = Field(alias="invoiceDeliveryPrefsPrint")
    additional_email_addresses: list[str] = Field(alias="additionalEmailAddresses")
    payment_gateway: str | None = Field(alias="paymentGateway")


class AccountMetrics(ZuoraOutput):
    currency: str
    balance: Money
    total_invoice_balance: Money = Field(alias="totalInvoiceBalance")
    credit_balance: Money = Field(alias="creditBalance")


class AccountDetailResponse(CommonResponse):
    """``GET /v1/accounts/{account-key}`` (the SDK's ``AccountDetailResponse``)."""

    basic_info: AccountBasicInfo = Field(alias="basicInfo")
    billing_and_payment: AccountBillingAndPayment = Field(alias="billingAndPayment")
    metrics: AccountMetrics
    bill_to_contact: ContactOut | None = Field(alias="billToContact")
    sold_to_contact: ContactOut | None = Field(alias="soldToContact")

    @classmethod
    def of(cls, account: Account) -> AccountDetailResponse:
        """``account`` must have its contacts loaded."""

        def contact(role: Any) -> ContactOut | None:
            return None if role is None else ContactOut.of(role, account.account_number)

        return cls(
            basic_info=AccountBasicInfo(
                **stored_values(AccountBasicInfo, account), **account.custom_fields
            ),
            billing_and_payment=AccountBillingAndPayment(
                **stored_values(AccountBillingAndPayment, account)
            ),
            metrics=AccountMetrics(**stored_values(AccountMetrics, account)),
            bill_to_contact=contact(account.bill_to_contact),
            sold_to_contact=contact(account.sold_to_contact),
        )


class DeleteAccountResponse(CommonResponse):
    """Zuora deletes accounts in a background job; here the job is done when the answer leaves."""

    id: str
    job_id: str = Field(alias="jobId")
    job_status: Literal["Completed"] = Field("Completed", alias="jobStatus")
