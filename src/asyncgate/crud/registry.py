"""The objects CRUD and Actions reach, their PascalCase fields, and the services behind them.

Adding an object type is one :class:`ObjectType` entry in :data:`OBJECT_TYPES`: its model, its
Zuora field names with the model attribute each maps to (plus any fields a write takes but no
read returns), and how to create, update and delete one. Those go through the object's own
service (usually via :func:`through_schema`, which validates the values with the service's
input schema), so the rules live in one place. Reads need no service: they select the tenant's
rows of the model directly.

Zuora treats object and field names case-insensitively; so does every look-up here. Answers
spell names as Zuora does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Flag, StrEnum, auto
from functools import cached_property
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Boolean, Date, DateTime, Integer, Numeric, String, TypeDecorator
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from asyncgate.billing.accounts import service as accounts
from asyncgate.billing.accounts.models import Account, AccountStatus, CreatedAccount
from asyncgate.billing.accounts.schemas import AccountCreate, AccountUpdate
from asyncgate.billing.catalog import service as catalog
from asyncgate.billing.catalog.models import Product, ProductRatePlan, ProductRatePlanCharge
from asyncgate.billing.catalog.schemas import (
    ChargeCreate,
    ChargeUpdate,
    ProductCreate,
    ProductUpdate,
    RatePlanCreate,
    RatePlanUpdate,
)
from asyncgate.billing.contacts import service as contacts
from asyncgate.billing.contacts.models import Contact
from asyncgate.billing.contacts.schemas import ContactCreate, ContactUpdate
from asyncgate.billing.schemas import CUSTOM_FIELD_SUFFIX
from asyncgate.http.errors import InvalidValue, MissingField, NotFound, Resource, UnknownField


class Access(Flag):
    """When a field may be written; every field can be read."""

    READ = 0
    CREATE = auto()
    UPDATE = auto()
    WRITE = CREATE | UPDATE


class ValueKind(StrEnum):
    """What a field holds, as far as query filters care. ``OTHER`` fields cannot be filtered."""

    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Codec:
    """Converts a field between its stored form and its CRUD form, where the two differ."""

    to_api: Callable[[Any], Any]
    from_api: Callable[[Any], Any]


def _split_commas(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    return [part.strip() for part in value.split(",") if part.strip()]


COMMA_SEPARATED = Codec(to_api=",".join, from_api=_split_commas)
"""A stored list written as one comma-separated string (``AdditionalEmailAddresses``)."""


@dataclass(frozen=True, slots=True)
class ObjectField:
    name: str
    attribute: str
    access: Access = Access.WRITE
    codec: Codec | None = None


Values = dict[str, Any]
"""Field values keyed by model attribute (custom fields by their own names)."""
SchemaT = TypeVar("SchemaT", bound=BaseModel)
Creator = Callable[[AsyncSession, str, Values], Awaitable[Any]]
Updater = Callable[[AsyncSession, str, str, Values], Awaitable[Any]]
Deleter = Callable[[AsyncSession, str, str], Awaitable[Any]]


def validated(schema: type[SchemaT], values: Values) -> SchemaT:
    """``values`` as the service's input schema, read by Python name so that every error is
    located by attribute. A ``ValidationError`` escapes; the caller names fields Zuora's way."""
    return schema.model_validate(values, by_alias=False, by_name=True)


def through_schema(schema: type[BaseModel], service: Callable[..., Awaitable[Any]]) -> Any:
    """Adapts a service taking ``(session, tenant_id, [id,] data)`` to :data:`Values`."""

    async def call(session: AsyncSession, *arguments: Any) -> Any:
        *keys, values = arguments
        return await service(session, *keys, validated(schema, values))

    return call


@dataclass(frozen=True)
class ObjectType:
    name: str
    path: str
    model: type[Any]
    resource: Resource
    fields: tuple[ObjectField, ...]
    create: Creator
    update: Updater
    delete: Deleter
    write_only: tuple[ObjectField, ...] = ()
    """Fields a create or update takes but that are no column: reads neither return nor filter
    them (a charge's price tiers)."""

    @cached_property
    def _fields_by_name(self) -> dict[str, ObjectField]:
        return {field.name.lower(): field for field in self.fields}

    @cached_property
    def _writable_by_name(self) -> dict[str, ObjectField]:
        return {field.name.lower(): field for field in (*self.fields, *self.write_only)}

    @cached_property
    def _fields_by_attribute(self) -> dict[str, ObjectField]:
        return {field.attribute: field for field in (*self.fields, *self.write_only)}

    @property
    def id_column(self) -> InstrumentedAttribute:
        return self.model.id

    @property
    def tenant_column(self) -> InstrumentedAttribute:
        return self.model.tenant_id

    def field(self, name: str) -> ObjectField:
        """The field named ``name`` in any letter case, or an ``INVALID_FIELD`` error."""
        field = self._fields_by_name.get(name.lower())
        if field is None:
            raise UnknownField(f"{self.name} has no field named {name}", resource=Resource.CRUD)
        return field

    def field_of_attribute(self, attribute: str) -> ObjectField | None:
        return self._fields_by_attribute.get(attribute)

    def column(self, field: ObjectField) -> InstrumentedAttribute:
        return getattr(self.model, field.attribute)

    def kind(self, field: ObjectField) -> ValueKind:
        column_type = self.column(field).type
        if isinstance(column_type, TypeDecorator):
            column_type = column_type.impl_instance
        for sql_type, kind in _KINDS:
            if isinstance(column_type, sql_type):
                return kind
        return ValueKind.OTHER

    def writable_values(self, body: dict[str, Any], access: Access) -> Values:
        """Maps a PascalCase body onto the service schema's field names.

        Custom fields (``*__c``) pass through by name. A field the object does not have, or
        cannot take in this operation, is an ``INVALID_FIELD`` error.
        """
        values: Values = {}
        for name, value in body.items():
            if name.endswith(CUSTOM_FIELD_SUFFIX):
                values[name] = value
                continue
            field = self._writable_by_name.get(name.lower()) or self.field(name)
            if not field.access & access:
                verb = "created" if access is Access.CREATE else "updated"
                raise UnknownField(
                    f"{self.name} field {field.name} cannot be {verb}", resource=Resource.CRUD
                )
            if field.attribute in values:
                raise InvalidValue(f"{field.name} is given more than once", resource=Resource.CRUD)
            values[field.attribute] = field.codec.from_api(value) if field.codec else value
        return values

    def record(self, row: Any, fields: Iterable[ObjectField] | None = None) -> dict[str, Any]:
        """The row in Zuora's CRUD shape: PascalCase names, null fields left out.

        Without a field selection, every field and the row's custom fields are included.
        """
        selected = self.fields if fields is None else fields
        record: dict[str, Any] = {}
        for field in selected:
            value = getattr(row, field.attribute)
            if value is None:
                continue
            record[field.name] = _json_value(field.codec.to_api(value) if field.codec else value)
        if fields is None:
            record.update(getattr(row, "custom_fields", None) or {})
        return record


_KINDS: tuple[tuple[type, ValueKind], ...] = (
    (Boolean, ValueKind.BOOLEAN),
    (Integer, ValueKind.INTEGER),
    (Numeric, ValueKind.DECIMAL),
    (DateTime, ValueKind.DATETIME),
    (Date, ValueKind.DATE),
    (String, ValueKind.TEXT),
)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


_TIMESTAMPS = (
    ObjectField("CreatedDate", "created_at", Access.READ),
    ObjectField("UpdatedDate", "updated_at", Access.READ),
)


def _account_status(values: Values) -> AccountStatus | None:
    """Takes CRUD's ``Status`` out of ``values``: the account service sets it apart."""
    if "status" not in values:
        return None
    status = values.pop("status")
    try:
        return AccountStatus(status)
    except ValueError:
        allowed = ", ".join(AccountStatus)
        raise InvalidValue(
            f"Invalid value for field Status: {status!r}; use one of {allowed}",
            resource=Resource.ACCOUNT,
        ) from None


async def _create_account(
    session: AsyncSession, tenant_id: str, values: Values
) -> Account | CreatedAccount:
    """Zuora's CRUD create names a ``Status``; a new account without contacts is a Draft, so
    any other status is asked of the service as an update (which enforces its rules)."""
    status = _account_status(values)
    account = await accounts.create_account(session, tenant_id, validated(AccountCreate, values))
    if status is None or status == account.status:
        return account
    return await accounts.update_account(
        session, tenant_id, account.id, AccountUpdate(), status=status
    )


async def _update_account(
    session: AsyncSession, tenant_id: str, account_id: str, values: Values
) -> Account:
    status = _account_status(values)
    data = validated(AccountUpdate, values)
    return await accounts.update_account(session, tenant_id, account_id, data, status=status)


ACCOUNT = ObjectType(
    name="Account",
    path="account",
    model=Account,
    resource=Resource.ACCOUNT,
    fields=(
        ObjectField("Id", "id", Access.READ),
        ObjectField("AccountNumber", "account_number", Access.CREATE),
        ObjectField("Name", "name"),
        ObjectField("Currency", "currency", Access.CREATE),
        ObjectField("Status", "status"),
        ObjectField("BillCycleDay", "bill_cycle_day"),
        ObjectField("PaymentTerm", "payment_term"),
        ObjectField("AutoPay", "auto_pay"),
        ObjectField("Batch", "batch"),
        ObjectField("InvoiceDeliveryPrefsEmail", "invoice_delivery_prefs_email"),
        ObjectField("InvoiceDeliveryPrefsPrint", "invoice_delivery_prefs_print"),
        ObjectField(
            "AdditionalEmailAddresses", "additional_email_addresses", codec=COMMA_SEPARATED
        ),
        ObjectField("Notes", "notes"),
        ObjectField("CrmId", "crm_id"),
        ObjectField("InvoiceTemplateId", "invoice_template_id"),
        ObjectField("SalesRepName", "sales_rep"),
        ObjectField("CustomerServiceRepName", "customer_service_rep_name"),
        ObjectField("PurchaseOrderNumber", "purchase_order_number"),
        ObjectField("PaymentGateway", "payment_gateway"),
        ObjectField("BillToId", "bill_to_contact_id", Access.UPDATE),
        ObjectField("SoldToId", "sold_to_contact_id", Access.UPDATE),
        ObjectField("Balance", "balance", Access.READ),
        ObjectField("TotalInvoiceBalance", "total_invoice_balance", Access.READ),
        ObjectField("CreditBalance", "credit_balance", Access.READ),
        *_TIMESTAMPS,
    ),
    create=_create_account,
    update=_update_account,
    delete=accounts.delete_account,
)

CONTACT = ObjectType(
    name="Contact",
    path="contact",
    model=Contact,
    resource=Resource.CONTACT,
    fields=(
        ObjectField("Id", "id", Access.READ),
        ObjectField("AccountId", "account_id", Access.CREATE),
        ObjectField("FirstName", "first_name"),
        ObjectField("LastName", "last_name"),
        ObjectField("NickName", "nickname"),
        ObjectField("Description", "contact_description"),
        ObjectField("Address1", "address1"),
        ObjectField("Address2", "address2"),
        ObjectField("City", "city"),
        ObjectField("County", "county"),
        ObjectField("State", "state"),
        ObjectField("Country", "country"),
        ObjectField("PostalCode", "zip_code"),
        ObjectField("TaxRegion", "tax_region"),
        ObjectField("WorkEmail", "work_email"),
        ObjectField("PersonalEmail", "personal_email"),
        ObjectField("WorkPhone", "work_phone"),
        ObjectField("HomePhone", "home_phone"),
        ObjectField("MobilePhone", "mobile_phone"),
        ObjectField("OtherPhone", "other_phone"),
        ObjectField("OtherPhoneType", "other_phone_type"),
        ObjectField("Fax", "fax"),
        *_TIMESTAMPS,
    ),
    create=through_schema(ContactCreate, contacts.create_contact),
    update=through_schema(ContactUpdate, contacts.update_contact),
    delete=contacts.delete_contact,
)

PRODUCT = ObjectType(
    name="Product",
    path="product",
    model=Product,
    resource=Resource.PRODUCT,
    fields=(
        ObjectField("Id", "id", Access.READ),
        ObjectField("SKU", "sku"),
        ObjectField("ProductNumber", "product_number"),
        ObjectField("Name", "name"),
        ObjectField("Category", "category"),
        ObjectField("Description", "description"),
        ObjectField("EffectiveStartDate", "effective_start_date"),
        ObjectField("EffectiveEndDate", "effective_end_date"),
        *_TIMESTAMPS,
    ),
    create=through_schema(ProductCreate, catalog.create_product),
    update=through_schema(ProductUpdate, catalog.update_product),
    delete=catalog.delete_product,
)

PRODUCT_RATE_PLAN = ObjectType(
    name="ProductRatePlan",
    path="product-rate-plan",
    model=ProductRatePlan,
    resource=Resource.PRODUCT_RATE_PLAN,
    fields=(
        ObjectField("Id", "id", Access.READ),
        ObjectField("ProductId", "product_id", Access.CREATE),
        ObjectField("ProductRatePlanNumber", "product_rate_plan_number"),
        ObjectField("Name", "name"),
        ObjectField("Description", "description"),
        ObjectField("EffectiveStartDate", "effective_start_date"),
        ObjectField("EffectiveEndDate", "effective_end_date"),
        *_TIMESTAMPS,
    ),
    create=through_schema(RatePlanCreate, catalog.create_product_rate_plan),
    update=through_schema(RatePlanUpdate, catalog.update_product_rate_plan),
    delete=catalog.delete_product_rate_plan,
)

TIER_DATA = "ProductRatePlanChargeTierData"
TIER_LIST = "ProductRatePlanChargeTier"
_TIER_FIELDS = {
    "currency": "currency",
    "price": "price",
    "startingunit": "starting_unit",
    "priceformat": "price_format",
}


def _charge_tiers(values: Values) -> Values:
    """CRUD's ``{"ProductRatePlanChargeTier": [tier, ...]}`` as the list of tiers the charge
    service takes, each tier's fields by attribute (others are left for it to refuse)."""
    if values.get("tiers") is None:
        return values
    data = values["tiers"]
    if not isinstance(data, dict):
        raise InvalidValue(
            f"{TIER_DATA} must be an object holding the list {TIER_LIST}",
            resource=Resource.PRODUCT_RATE_PLAN_CHARGE,
        )
    for name in data:
        if name.lower() != TIER_LIST.lower():
            raise UnknownField(f"{TIER_DATA} has no field named {name}", resource=Resource.CRUD)
    if len(data) != 1:
        raise (InvalidValue if data else MissingField)(
            f"{TIER_DATA} takes {TIER_LIST} once", resource=Resource.PRODUCT_RATE_PLAN_CHARGE
        )
    [tiers] = data.values()
    if isinstance(tiers, list):
        tiers = [
            {_TIER_FIELDS.get(name.lower(), name): value for name, value in tier.items()}
            if isinstance(tier, dict)
            else tier
            for tier in tiers
        ]
    return {**values, "tiers": tiers}


async def _create_charge(
    session: AsyncSession, tenant_id: str, values: Values
) -> ProductRatePlanCharge:
    data = validated(ChargeCreate, _charge_tiers(values))
    return await catalog.create_product_rate_plan_charge(session, tenant_id, data)


async def _update_charge(
    session: AsyncSession, tenant_id: str, charge_id: str, values: Values
) -> ProductRatePlanCharge:
    data = validated(ChargeUpdate, _charge_tiers(values))
    return await catalog.update_product_rate_plan_charge(session, tenant_id, charge_id, data)


PRODUCT_RATE_PLAN_CHARGE = ObjectType(
    name="ProductRatePlanCharge",
    path="product-rate-plan-charge",
    model=ProductRatePlanCharge,
    resource=Resource.PRODUCT_RATE_PLAN_CHARGE,
    fields=(
        ObjectField("Id", "id", Access.READ),
        ObjectField("ProductRatePlanId", "product_rate_plan_id", Access.CREATE),
        ObjectField("ProductRatePlanChargeNumber", "product_rate_plan_charge_number"),
        ObjectField("Name", "name"),
        ObjectField("Description", "description"),
        ObjectField("ChargeType", "charge_type", Access.CREATE),
        ObjectField("ChargeModel", "charge_model"),
        ObjectField("BillingPeriod", "billing_period"),
        ObjectField("BillCycleType", "bill_cycle_type"),
        ObjectField("TriggerEvent", "trigger_event"),
        ObjectField("UOM", "uom"),
        ObjectField("DefaultQuantity", "default_quantity"),
        ObjectField("EndDateCondition", "end_date_condition"),
        ObjectField("UpToPeriodsType", "up_to_periods_type"),
        ObjectField("PriceChangeOption", "price_change_option"),
        ObjectField("UseDiscountSpecificAccountingCode", "use_discount_specific_accounting_code"),
        ObjectField(
            "ExcludeItemBillingFromRevenueAccounting",
            "exclude_item_billing_from_revenue_accounting",
        ),
        ObjectField(
            "ExcludeItemBookingFromRevenueAccounting",
            "exclude_item_booking_from_revenue_accounting",
        ),
        *_TIMESTAMPS,
    ),
    write_only=(ObjectField(TIER_DATA, "tiers"),),
    create=_create_charge,
    update=_update_charge,
    delete=catalog.delete_product_rate_plan_charge,
)

OBJECT_TYPES: tuple[ObjectType, ...] = (
    ACCOUNT,
    CONTACT,
    PRODUCT,
    PRODUCT_RATE_PLAN,
    PRODUCT_RATE_PLAN_CHARGE,
)

_BY_PATH = {object_type.path: object_type for object_type in OBJECT_TYPES}
_BY_NAME = {object_type.name.lower(): object_type for object_type in OBJECT_TYPES}


def by_path(path: str) -> ObjectType:
    """The type behind ``/v1/object/{path}``; an unknown one is a 404."""
    object_type = _BY_PATH.get(path.lower())
    if object_type is None:
        raise NotFound(
            f"Unknown object type '{path}'; supported types are: {', '.join(_BY_PATH)}",
            resource=Resource.CRUD,
            crud_code="INVALID_TYPE",
        )
    return object_type


def by_name(name: str) -> ObjectType:
    """The type named ``name`` (Actions ``type``, ZOQL ``from``), in any letter case."""
    object_type = _BY_NAME.get(name.lower())
    if object_type is None:
        raise InvalidValue(
            f"Unknown object type '{name}'; supported types are: "
            + ", ".join(object_type.name for object_type in OBJECT_TYPES),
            resource=Resource.CRUD,
            crud_code="INVALID_TYPE",
        )
    return object_type
